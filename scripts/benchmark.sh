#!/usr/bin/env bash
# Speed of the whole samri-infer process and of the encoder alone, for one slice at 1024x1024
# (ViT-B, random weights of the official shapes), in fp32 and bf16, plus checkpoint loading.
# Usage: scripts/benchmark.sh [threads]   (after scripts/build.sh). Results go to stdout; record
# them in docs/benchmarks.md with the machine they came from. SAMRI_BENCH_REFERENCE=1 adds the
# reference encoder's operations in Debian's python3-torch, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-$(nproc)}
BUILD=${SAMRI_BUILD_DIR:-build}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TEMPLATES=/usr/share/mricron/templates

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== BLAS: $(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')"
"$BUILD/apps/samri-checkpoint" init --model vit_b --seed 0 --output "$WORK/vit_b.pth" -q

echo "== checkpoint read (375 MB ViT-B file)"
"$BUILD/tests/benchmarks/samri_bench_checkpoint" 3 "$WORK/bench_ckpt.pth" | tail -3

echo "== encoder alone, 1024x1024"
"$BUILD/tests/benchmarks/samri_bench_encoder" vit_b 3 "$THREADS"

for precision in fp32 bf16; do
  echo "== whole samri-infer process, one slice (Colin27 axial slice 90, one box), $precision"
  echo '{"axis": 2, "prompts": [{"slice": 90, "label": 1, "box": [60, 70, 120, 140]}]}' >"$WORK/p.json"
  start=$(date +%s%N)
  "$BUILD/apps/samri-infer" --checkpoint "$WORK/vit_b.pth" --input "$TEMPLATES/ch2.nii.gz" \
    --prompts "$WORK/p.json" --precision "$precision" --threads "$THREADS" \
    --output "$WORK/seg.nii.gz" -q
  end=$(date +%s%N)
  awk -v ns=$((end - start)) -v p="$precision" 'BEGIN { printf "samri-infer %s: %.2f s wall\n", p, ns / 1e9 }'
done

if [[ ${SAMRI_BENCH_REFERENCE:-0} == 1 ]]; then
  echo "== reference encoder operations (python3-torch), OpenBLAS kernels as the system picks them"
  /usr/bin/python3 tests/benchmarks/reference_encoder_ops.py 3 "$THREADS"
  # The tools keep freed memory for reuse (samri::keep_freed_memory_for_reuse); the same malloc
  # settings given to the reference, for comparison:
  echo "== the same, with glibc.malloc.mmap_max=0, trim_threshold=2^31-1 (as the tools)"
  GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647 \
    /usr/bin/python3 tests/benchmarks/reference_encoder_ops.py 3 "$THREADS"
fi

echo "== samri-embed end to end vs the encoder alone (3 axial Colin27 slices, ViT-B)"
bash scripts/benchmark_embed_e2e.sh "$THREADS" 1

echo "== embedding store reads (warm page cache, 512 ViT-B slices, batch 32, 1 thread)"
for dtype in fp16 int8; do
  "$BUILD/tests/benchmarks/samri_bench_store" "$WORK" 512 "$dtype" 32
done
