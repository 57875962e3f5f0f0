#!/usr/bin/env bash
# Runs nn against its peers on five networks (seminar 784-16-16-10 sigmoid, wide256 784-256-256-10
# relu, wide1024 784-1024-1024-10 relu, deep64 64-64-64-64-64-10 tanh, lenet: the LeNet-5 of
# examples/cnn.rs), one thread each, and prints one line a case, with the FLOP rate of the products and its share of the bare FMA rate that
# nn-peers measures at the start (`# fma_peak_gflops=`):
#
#   peer=dfdx net=seminar op=train batch=32 samples_per_s=254000 us_per_step=126.000 gflops=13.38 peak_pct=5.4
#
# then one ratio line per peer and case (nn's samples/s over the peer's, from the same run):
#
#   ratio net=seminar op=train batch=32 nn/dfdx=1.25
#
# Builds the peers harness (peers/, its own workspace, never part of the main build) in release
# mode and runs it (nn, dfdx, candle in one process; candle on the seminar network and lenet only,
# dfdx on every network but lenet: see peers/RESULTS.md) case by case, each case followed by
# scripts/bench_pytorch.py on the same case if `$PYTHON -c 'import torch'` works (PYTHON defaults
# to python3) and by scripts/bench_jax.py (dense networks only) if `$JAX_PYTHON -c 'import jax'`
# works (JAX_PYTHON defaults to $PYTHON). Every program runs pinned to the same core with
# taskset (the last one), so no peer gets a quieter core than another.
#
# Options: --seconds S (per repetition, default 1), --reps N (default 5), --warmup S (default 0.3),
# --nets seminar,wide256,wide1024,deep64,lenet, --ops infer,train, --batches 1,32,256; the median
# repetition is reported.
# The harness's target dir is $PEERS_TARGET_DIR (default /tmp/target-peers), kept apart from the
# main build's.
set -euo pipefail
cd "$(dirname "$0")/.."

# One thread for every framework: rayon (dfdx, candle; the harness also builds rayon's pool with
# one thread and candle reads RAYON_NUM_THREADS itself), OpenMP, MKL and OpenBLAS (PyTorch).
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export CARGO_TARGET_DIR="${PEERS_TARGET_DIR:-/tmp/target-peers}"
PYTHON="${PYTHON:-python3}"
JAX_PYTHON="${JAX_PYTHON:-$PYTHON}"

# The options, checked before the build.
nets="seminar,wide256,wide1024,deep64,lenet"
ops="infer,train"
batches="1,32,256"
pass=()
while [ $# -gt 0 ]; do
    case "$1" in
        --nets) nets="${2:?--nets expects a value}"; shift 2 ;;
        --ops) ops="${2:?--ops expects a value}"; shift 2 ;;
        --batches) batches="${2:?--batches expects a value}"; shift 2 ;;
        --seconds | --reps | --warmup) pass+=("$1" "${2:?$1 expects a value}"); shift 2 ;;
        *)
            echo "bench_peers.sh: unknown option '$1' (expected --seconds, --reps, --warmup, --nets, --ops, --batches)" >&2
            exit 2
            ;;
    esac
done

cargo build --release --manifest-path peers/Cargo.toml >&2

out="$(mktemp)"
trap 'rm -f "$out"' EXIT

# `nproc` obeys OMP_NUM_THREADS, so count the cores with --all.
model="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
family="$(lscpu | sed -n 's/^CPU family: *//p' | head -n 1)"
simd="$(grep -o -w -m 1 -E 'avx512f|avx2' /proc/cpuinfo | sort -u | paste -sd ' ' - || true)"
echo "# machine: ${model:-unknown CPU} (family ${family:-?}; ${simd:-no avx2}), $(nproc --all) cores, $(uptime | sed 's/.*load average/load average/'); $(rustc --version)"
# The commit that last changed nn's own sources (what is measured), and the checked-out one.
nn_commit="$(git log -1 --format=%h -- nn-core nn-macros src 2>/dev/null || true)"
dirty="$(git diff --quiet HEAD -- nn-core nn-macros src 2>/dev/null || echo ' (with uncommitted changes)')"
echo "# nn sources at commit ${nn_commit:-unknown}${dirty}; checked out $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

torch=0
if "$PYTHON" -c 'import torch' 2>/dev/null; then
    torch=1
else
    echo "# pytorch: not run ($PYTHON cannot import torch)"
fi
jax=0
if "$JAX_PYTHON" -c 'import jax' 2>/dev/null; then
    jax=1
else
    echo "# jax: not run ($JAX_PYTHON cannot import jax)"
fi
# Every peer runs on one core, the same for all: the last one (XLA's flags also ask JAX for one
# thread).
core="$(( $(nproc --all) - 1 ))"

# The FLOP rate and share of the FMA peak of the Python peers' lines (nn-peers prints its own), from
# the peak that the first nn-peers run measured and the FLOP a sample of each network (as
# Net::flop in peers/src/main.rs: 2·Σ i·o forward; a training step twice that plus 2·i·o for every
# layer's input gradient but the first's; lenet's two convolutions counted the same way: 833,040 a
# forward pass, 2,263,920 a training step).
rate() {
    awk -v peak="$peak" '
        BEGIN {
            w["seminar"] = "784 16 16 10"; w["wide256"] = "784 256 256 10"
            w["wide1024"] = "784 1024 1024 10"; w["deep64"] = "64 64 64 64 64 10"
            fixed["lenet infer"] = 833040; fixed["lenet train"] = 2263920
        }
        /^peer=/ && / samples_per_s=/ && !/ gflops=/ {
            for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
            m = split(w[f["net"]], d, " "); fwd = 0; up = 0
            for (l = 1; l < m; l++) { fwd += 2 * d[l] * d[l + 1]; if (l > 1) up += 2 * d[l] * d[l + 1] }
            flop = (f["op"] == "train") ? 2 * fwd + up : fwd
            if ((f["net"] " " f["op"]) in fixed) flop = fixed[f["net"] " " f["op"]]
            g = f["samples_per_s"] * flop / 1e9
            printf "%s gflops=%.2f peak_pct=%.1f\n", $0, g, 100 * g / peak
            next
        }
        { print }
    '
}

# Case by case: nn, dfdx and candle (repetitions interleaved in one process), then PyTorch and JAX
# on the same case, so all the numbers of a case come from the same minute of machine state.
status=0
first=1
peak=""
for net in ${nets//,/ }; do
    for op in ${ops//,/ }; do
        for batch in ${batches//,/ }; do
            # The programs' comment lines (settings, versions) are printed once, for the first case.
            if [ "$first" = 1 ]; then keep='p'; else keep='/^#/!p'; fi
            taskset -c "$core" "$CARGO_TARGET_DIR/release/nn-peers" "${pass[@]}" --nets "$net" --ops "$op" \
                --batches "$batch" | sed -n "$keep" | tee -a "$out" || status=1
            if [ -z "$peak" ]; then
                peak="$(sed -n 's/^# fma_peak_gflops=\([0-9.]*\).*/\1/p' "$out" | head -n 1)"
                peak="${peak:-1}"
            fi
            if [ "$torch" = 1 ]; then
                taskset -c "$core" "$PYTHON" scripts/bench_pytorch.py "${pass[@]}" --nets "$net" --ops "$op" \
                    --batches "$batch" | sed -n "$keep" | rate | tee -a "$out" || status=1
            fi
            if [ "$jax" = 1 ] && [ "$net" != lenet ]; then
                taskset -c "$core" "$JAX_PYTHON" scripts/bench_jax.py "${pass[@]}" --nets "$net" \
                    --ops "$op" --batches "$batch" | sed -n "$keep" | rate | tee -a "$out" \
                    || status=1
            fi
            first=0
        done
    done
done

# nn's samples/s over each peer's, case by case.
awk '
    /^peer=/ && / samples_per_s=/ {
        peer = ""; net = ""; op = ""; batch = ""; sps = ""
        for (i = 1; i <= NF; i++) {
            split($i, kv, "=")
            if (kv[1] == "peer") peer = kv[2]
            else if (kv[1] == "net") net = kv[2]
            else if (kv[1] == "op") op = kv[2]
            else if (kv[1] == "batch") batch = kv[2]
            else if (kv[1] == "samples_per_s") sps = kv[2]
        }
        key = net " " op " " batch
        if (peer == "nn") nn[key] = sps
        else { n++; peers[n] = peer; keys[n] = key; rate[n] = sps }
    }
    END {
        for (i = 1; i <= n; i++) {
            split(keys[i], k, " ")
            if ((keys[i] in nn) && rate[i] > 0)
                printf "ratio net=%s op=%s batch=%s nn/%s=%.2f\n", k[1], k[2], k[3], peers[i], nn[keys[i]] / rate[i]
        }
    }
' "$out"
exit "$status"
