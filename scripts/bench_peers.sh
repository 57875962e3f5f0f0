#!/usr/bin/env bash
# Runs nn against its peers on the seminar network, one thread each, and prints one line a case:
#
#   peer=dfdx op=train batch=32 samples_per_s=254000 us_per_step=126.000
#
# then one ratio line per peer and case (nn's samples/s over the peer's, from the same run):
#
#   ratio op=train batch=32 nn/dfdx=1.25
#
# Builds the peers harness (peers/, its own workspace, never part of the main build) in release
# mode and runs it (nn, dfdx, candle in one process) case by case, each case followed by
# scripts/bench_pytorch.py on the same case if `$PYTHON -c 'import torch'` works (PYTHON defaults
# to python3).
#
# Options: --seconds S (per repetition, default 1), --reps N (default 5), --warmup S (default 0.3),
# --ops infer,train, --batches 1,32,256; the median repetition is reported.
# The harness's target dir is $PEERS_TARGET_DIR (default /tmp/target-peers), kept apart from the
# main build's.
set -euo pipefail
cd "$(dirname "$0")/.."

# One thread for every framework: rayon (dfdx, candle; the harness also builds rayon's pool with
# one thread and candle reads RAYON_NUM_THREADS itself), OpenMP, MKL and OpenBLAS (PyTorch).
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export CARGO_TARGET_DIR="${PEERS_TARGET_DIR:-/tmp/target-peers}"
PYTHON="${PYTHON:-python3}"

# The options, checked before the build.
ops="infer,train"
batches="1,32,256"
pass=()
while [ $# -gt 0 ]; do
    case "$1" in
        --ops) ops="${2:?--ops expects a value}"; shift 2 ;;
        --batches) batches="${2:?--batches expects a value}"; shift 2 ;;
        --seconds | --reps | --warmup) pass+=("$1" "${2:?$1 expects a value}"); shift 2 ;;
        *)
            echo "bench_peers.sh: unknown option '$1' (expected --seconds, --reps, --warmup, --ops, --batches)" >&2
            exit 2
            ;;
    esac
done

cargo build --release --locked --manifest-path peers/Cargo.toml >&2

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

# Case by case: nn, dfdx and candle (repetitions interleaved in one process), then PyTorch on the
# same case, so all four numbers of a case come from the same minute of machine state.
status=0
first=1
for op in ${ops//,/ }; do
    for batch in ${batches//,/ }; do
        # The programs' comment lines (settings, versions) are printed once, for the first case.
        if [ "$first" = 1 ]; then keep='p'; else keep='/^#/!p'; fi
        "$CARGO_TARGET_DIR/release/nn-peers" "${pass[@]}" --ops "$op" --batches "$batch" \
            | sed -n "$keep" | tee -a "$out" || status=1
        if [ "$torch" = 1 ]; then
            "$PYTHON" scripts/bench_pytorch.py "${pass[@]}" --ops "$op" --batches "$batch" \
                | sed -n "$keep" | tee -a "$out" || status=1
        fi
        first=0
    done
done

# nn's samples/s over each peer's, case by case.
awk '
    /^peer=/ && / samples_per_s=/ {
        peer = ""; op = ""; batch = ""; sps = ""
        for (i = 1; i <= NF; i++) {
            split($i, kv, "=")
            if (kv[1] == "peer") peer = kv[2]
            else if (kv[1] == "op") op = kv[2]
            else if (kv[1] == "batch") batch = kv[2]
            else if (kv[1] == "samples_per_s") sps = kv[2]
        }
        key = op " " batch
        if (peer == "nn") nn[key] = sps
        else { n++; peers[n] = peer; keys[n] = key; rate[n] = sps }
    }
    END {
        for (i = 1; i <= n; i++) {
            split(keys[i], k, " ")
            if ((keys[i] in nn) && rate[i] > 0)
                printf "ratio op=%s batch=%s nn/%s=%.2f\n", k[1], k[2], peers[i], nn[keys[i]] / rate[i]
        }
    }
' "$out"
exit "$status"
