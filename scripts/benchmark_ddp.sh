#!/usr/bin/env bash
# Data-parallel scaling of samri-train on this machine (CPU, Gloo): the ViT-B decoder trained on
# stored embeddings of real Colin27 slices as 1 rank x T threads and as 2 ranks x T/2 threads (the
# same cores), the same global batch; and 1 rank x T/2 threads for reference. Prints samples/s, the gradient bytes all-reduced per step and
# the time per step in the all-reduce, from each run's metrics.jsonl and rank 0's log.
# Usage: scripts/benchmark_ddp.sh [threads] [steps] [batch]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-$(nproc)}
STEPS=${2:-8}
BATCH=${3:-8}
BUILD=${SAMRI_BUILD_DIR:-build}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
PY=/usr/bin/python3
[ $((THREADS % 2)) -eq 0 ] || { echo "threads must be even (2 ranks share them)" >&2; exit 2; }

# shellcheck source=colin_vit_b_store.sh
source scripts/colin_vit_b_store.sh
make_colin_vit_b_store "$BUILD" "$WORK" "$THREADS"

TRAIN=(--checkpoint "$WORK/vit_b.pth" --train "$WORK/store" --batch-size "$BATCH"
  --max-steps $((STEPS + 2)) --samples-per-dataset 0 --log-every-steps 1 --lr 1e-4 -q)

# Mean samples/s and all-reduce seconds per step of the logged steps after the first two.
report() {
  $PY - "$1" "$2" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
steps = [r for r in rows if r["kind"] == "step"][2:]
rate = sum(r["samples_per_s"] for r in steps) / len(steps)
reduce = sum(r["all_reduce_s"] for r in steps) / len(steps)
step_s = sum(r["data_wait_s"] + r["forward_backward_s"] + r["optimizer_s"] + r["all_reduce_s"]
             for r in steps) / len(steps)
print(f"samri_train_ddp {sys.argv[2]} samples_per_s={rate:.2f} all_reduce_s_per_step={reduce:.4f} "
      f"({100 * reduce / step_s:.1f}% of the step)")
PYEOF
}

"$BUILD/apps/samri-train" "${TRAIN[@]}" --threads "$THREADS" --output "$WORK/one"
report "$WORK/one" "ranks=1 threads=$THREADS batch=$BATCH"
# One rank on half the threads: what each of the two ranks below would do alone.
"$BUILD/apps/samri-train" "${TRAIN[@]}" --threads $((THREADS / 2)) --output "$WORK/half"
report "$WORK/half" "ranks=1 threads=$((THREADS / 2)) batch=$BATCH"

PORT=$((21000 + RANDOM % 9000))
for r in 0 1; do
  "$BUILD/apps/samri-train" "${TRAIN[@]}" --threads $((THREADS / 2)) --output "$WORK/two" \
    --rank $r --world-size 2 --master-port $PORT 2>/dev/null &
done
wait
report "$WORK/two" "ranks=2 threads=$((THREADS / 2))x2 batch=$BATCH"
grep -o "all-reduce (gloo): [0-9.]* MB of gradients per step" "$WORK/two/logs/rank-0.log" |
  sed 's/^/samri_train_ddp /'
