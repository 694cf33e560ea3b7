#!/usr/bin/env bash
# The image encoder's roofline on this machine: its FLOPs, the measured fp32 and bf16 GEMM rate,
# how close the encoder runs to it, and where its time goes (GEMMs, softmax, relative positions,
# layer norms, GELU, layout copies), from LibTorch's profiler.
# Usage: scripts/encoder_roofline.sh [threads]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-$(nproc)}
BUILD=${SAMRI_BUILD_DIR:-build}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/tests/benchmarks/samri_bench_encoder_roofline" "$THREADS" "$WORK/profile"
for precision in fp32 bf16; do
  /usr/bin/python3 scripts/profile_categories.py "$WORK/profile_$precision.json" |
    sed "s|$WORK/profile_||"
done
