#!/usr/bin/env bash
# samri-embed's whole process against the encoder alone, side by side in rounds: per round the
# encoder benchmark (median of 3 after a warm-up, fp32 and bf16), then samri-embed on a new store
# of 3 axial Colin27 slices in each precision (wall time from outside: start-up, checkpoint, reading,
# resizing, writing and exit included), then `samri-embed --version`, the process floor (loading
# LibTorch and its shared libraries). ViT-B with random weights of the official shapes.
# Usage: scripts/benchmark_embed_e2e.sh [threads] [rounds]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-$(nproc)}
ROUNDS=${2:-2}
BUILD=${SAMRI_BUILD_DIR:-build}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TEMPLATES=/usr/share/mricron/templates

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/apps/samri-checkpoint" init --model vit_b --seed 0 --output "$WORK/vit_b.pth" -q
printf 'image,label,patient\n%s,%s,colin27\n' "$TEMPLATES/ch2.nii.gz" "$TEMPLATES/aal.nii.gz" \
  >"$WORK/colin.csv"
"$BUILD/apps/samri-preprocess" --list "$WORK/colin.csv" --axis 2 --peripheral-fraction 0.495 \
  --single-patient-split train --output "$WORK/slices" -q
slices=$(find "$WORK/slices/images" -type f | wc -l)

wall_seconds() {  # wall time of a command, in seconds
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }'
}

echo "| round | precision | encoder alone, s/slice | samri-embed, $slices slices, s | vs $slices x encoder | \`--version\`, s |"
echo "|---|---|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
  encoder=$("$BUILD/tests/benchmarks/samri_bench_encoder" vit_b 3 "$THREADS")
  for precision in fp32 bf16; do
    alone=$(echo "$encoder" | grep "$precision" | sed 's/.*median \([0-9.]*\) s.*/\1/')
    rm -rf "$WORK/store"
    whole=$(wall_seconds "$BUILD/apps/samri-embed" --checkpoint "$WORK/vit_b.pth" \
      --data "$WORK/slices" --output "$WORK/store" --precision "$precision" \
      --threads "$THREADS" -q)
    floor=$(wall_seconds "$BUILD/apps/samri-embed" --version)
    awk -v r="$round" -v p="$precision" -v a="$alone" -v w="$whole" -v n="$slices" -v f="$floor" \
      'BEGIN { printf "| %s | %s | %.3f | %.2f | %+.1f%% | %.2f |\n", r, p, a, w, 100 * (w / (n * a) - 1), f }'
  done
done
