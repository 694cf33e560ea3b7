#!/usr/bin/env bash
# Decoder training speed: samri-train (ViT-B decoder on stored embeddings of real Colin27 slices,
# data loading included) beside the reference training step in Debian's python3-torch
# (scripts/reference_train_step.py: same decoder, loss and AdamW, fp32, data excluded), in one run.
# Also the peak RSS of samri-train at batch 64.
# Usage: scripts/benchmark_train.sh [threads] [steps]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-$(nproc)}
STEPS=${2:-8}
BUILD=${SAMRI_BUILD_DIR:-build}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PY=/usr/bin/python3

# shellcheck source=colin_vit_b_store.sh
source scripts/colin_vit_b_store.sh
make_colin_vit_b_store "$BUILD" "$WORK" "$THREADS"
"$BUILD/apps/samri-embed" info "$WORK/store" | head -3

# Mean samples/s of the logged steps after the first two (warm-up).
rate() {
  $PY - "$1" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
steps = [r["samples_per_s"] for r in rows if r["kind"] == "step"][2:]
print(f"{sum(steps) / len(steps):.2f}")
PYEOF
}

for precision in fp32 bf16; do
  "$BUILD/apps/samri-train" --checkpoint "$WORK/vit_b.pth" --train "$WORK/store" \
    --batch-size 8 --max-steps $((STEPS + 2)) --samples-per-dataset 0 --log-every-steps 1 \
    --lr 1e-4 --threads "$THREADS" --precision "$precision" --output "$WORK/run_$precision" -q
  echo "samri_train $precision batch=8 samples_per_s=$(rate "$WORK/run_$precision") (data loading included)"
done

/usr/bin/time -f "%M" -o "$WORK/rss" "$BUILD/apps/samri-train" --checkpoint "$WORK/vit_b.pth" \
  --train "$WORK/store" --batch-size 64 --max-steps 2 --samples-per-dataset 0 --threads "$THREADS" \
  --precision bf16 --output "$WORK/run_rss" -q
echo "samri_train bf16 batch=64 peak_rss_mb=$(($(cat "$WORK/rss") / 1024))"
/usr/bin/time -f "%M" -o "$WORK/rss" "$BUILD/apps/samri-train" --checkpoint "$WORK/vit_b.pth" \
  --train "$WORK/store" --batch-size 64 --max-steps 2 --samples-per-dataset 0 --threads "$THREADS" \
  --precision fp32 --output "$WORK/run_rss32" -q
echo "samri_train fp32 batch=64 peak_rss_mb=$(($(cat "$WORK/rss") / 1024))"

if $PY -c "import torch" 2>/dev/null; then
  reference() {
    $PY scripts/reference_train_step.py --bench --model configs/sam_vit_b.json \
      --checkpoint "$WORK/vit_b.pth" --batch 8 --steps "$STEPS" --warmup 2 --threads "$THREADS"
  }
  reference
  # samri-train keeps freed memory for reuse (samri::keep_freed_memory_for_reuse); the same
  # malloc settings given to the reference, for comparison:
  echo "reference with glibc.malloc.mmap_max=0, trim_threshold=2^31-1 (as samri-train):"
  GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647 reference
fi
