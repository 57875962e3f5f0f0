#!/usr/bin/env bash
# The extra `cargo build --release` time of one `network!` declaration of the seminar network.
#
#     bash scripts/network_compile_time.sh [ROUNDS]      # default 5 rounds
#
# Builds a throwaway binary crate that depends on this repository's `nn`, in three variants,
# and times the rebuild of that crate alone (its dependencies are built once, first):
#
#   empty     fn main that only touches nn (the baseline)
#   declared  + `network! { struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax; }`
#   used      + a training step, a batch forward and a single forward called from main, so
#             every generated method a program would use is compiled and optimised
#
# and prints each variant's median over ROUNDS rebuilds and its difference to `empty`.
# The crate lives in a temporary folder (removed at exit) and uses CARGO_TARGET_DIR if set.
set -euo pipefail

rounds="${1:-5}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src"
cat >"$work/Cargo.toml" <<EOF
[package]
name = "nn-compile-time"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
nn = { path = "$repo" }

[workspace]
EOF
cp "$repo/Cargo.lock" "$work/Cargo.lock"

write_variant() {
    case "$1" in
    empty)
        cat <<'EOF'
fn main() {
    println!("{}", nn::argmax(&[0.0, 1.0]));
}
EOF
        ;;
    declared)
        cat <<'EOF'
nn::network! {
    /// The seminar's digit classifier.
    pub struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

fn main() {
    println!("{}", nn::argmax(&[0.0, 1.0]));
}
EOF
        ;;
    used)
        cat <<'EOF'
use nn::{CrossEntropy, Momentum, Optimizer};

nn::network! {
    /// The seminar's digit classifier.
    pub struct Digits: 784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax;
}

fn main() {
    let mut net = Digits::new(1);
    let mut grads = Digits::zeros();
    let mut opt = Momentum::new(0.1, 0.9);
    let mut ws = nn::Workspace::new();
    let xs = vec![[0.5f32; 784]; 4];
    let ys = vec![[0.1f32; 10]; 4];
    let loss = net
        .gradient_batch(CrossEntropy, &xs, &ys, &mut grads, &mut ws)
        .unwrap_or(f32::NAN);
    opt.step(&mut net, &grads);
    let mut out = vec![[0.0f32; 10]; 4];
    let _ = net.forward_batch(&xs, &mut out, &mut ws);
    println!("{loss} {}", nn::argmax(&net.forward(&xs[0])));
}
EOF
        ;;
    esac
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cd "$work"
write_variant empty >src/main.rs
cargo build --release --quiet # the dependencies, once

declare -A result
for variant in empty declared used; do
    write_variant "$variant" >src/main.rs
    cargo build --release --quiet # warm: only this crate is rebuilt below
    times=()
    for _ in $(seq "$rounds"); do
        touch src/main.rs
        start=$(date +%s.%N)
        cargo build --release --quiet
        end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc -l)")
    done
    result[$variant]=$(printf '%s\n' "${times[@]}" | median)
    printf '%-9s median %.2f s over %s rebuilds: %s\n' "$variant" "${result[$variant]}" "$rounds" \
        "$(printf '%.2f ' "${times[@]}")"
done
printf 'declared - empty: %+.2f s\n' "$(echo "${result[declared]} - ${result[empty]}" | bc -l)"
printf 'used - empty:     %+.2f s\n' "$(echo "${result[used]} - ${result[empty]}" | bc -l)"
