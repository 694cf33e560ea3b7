#!/usr/bin/env bash
# samri-train as a user runs it, with the tiny reference model on Colin27 slices (preprocessed and
# embedded by the project's own tools): a run killed with SIGKILL and resumed repeats the losses
# of an uninterrupted run bit for bit; SIGTERM saves and exits 3, --resume auto continues; the
# checkpoint loads in Python's torch; bad input is refused.
set -euo pipefail
BIN=$1
DATA=$2
OUT=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
PY=/usr/bin/python3

help=$("$BIN/samri-train" --help)
grep -q -- "--zeroshot-val" <<< "$help"
grep -q -- "--box-jitter" <<< "$help"
"$BIN/samri-train" --version | grep -q "samri"

# shellcheck source=colin_store.sh
source "$(dirname "$0")/colin_store.sh"
make_colin_store "$BIN" "$DATA" "$OUT"

TRAIN=(--checkpoint "$DATA/sam_tiny/sam_tiny.pth" --train "$OUT/store" --batch-size 4
       --samples-per-dataset 40 --epochs 20 --lr 1e-3 --deterministic --threads 1
       --state-every-steps 5 --log-every-steps 1 --val-every-steps 50 -q)

"$BIN/samri-train" "${TRAIN[@]}" --output "$OUT/whole"

steps() {
  local n
  n=$(grep -c '"kind":"step"' "$1/metrics.jsonl" 2>/dev/null || true)
  echo "${n:-0}"
}

# SIGKILL once a resume point exists and some steps later, then --resume.
"$BIN/samri-train" "${TRAIN[@]}" --output "$OUT/killed" &
pid=$!
for _ in $(seq 1 3000); do
  [ -f "$OUT/killed/train_state.pt" ] && [ "$(steps "$OUT/killed")" -ge 12 ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.01
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
echo "killed after $(steps "$OUT/killed") steps"
"$BIN/samri-train" "${TRAIN[@]}" --output "$OUT/killed" --resume

# SIGTERM: the step in hand is saved, exit 3; --resume auto continues.
"$BIN/samri-train" "${TRAIN[@]}" --output "$OUT/termed" &
pid=$!
for _ in $(seq 1 3000); do
  [ "$(steps "$OUT/termed")" -ge 3 ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.01
done
kill -TERM $pid 2>/dev/null || true
status=0
wait $pid || status=$?
echo "SIGTERM exit status $status after $(steps "$OUT/termed") steps"
[ "$status" -eq 3 ] || [ "$status" -eq 0 ]
"$BIN/samri-train" "${TRAIN[@]}" --output "$OUT/termed" --resume auto

$PY - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
def losses(run):
    rows = [json.loads(l) for l in open(f"{out}/{run}/metrics.jsonl")]
    return [(r["step"], r["loss"]) for r in rows if r["kind"] == "step"]
whole = losses("whole")
assert len(whole) == 200, len(whole)
for run in ("killed", "termed"):
    other = losses(run)
    assert [s for s, _ in other] == list(range(1, 201)), f"{run}: steps {[s for s, _ in other][:20]}"
    bad = [(s, a, b) for (s, a), (_, b) in zip(whole, other) if a != b]
    assert not bad, f"{run}: losses differ from the uninterrupted run at {bad[:3]}"
print("resumed runs repeat all 200 losses bit for bit")
try:
    import torch
except ImportError:
    sys.exit(0)
sd = torch.load(f"{out}/whole/last.pth", map_location="cpu")
assert any(k.startswith("image_encoder.") for k in sd), "no encoder tensors"
assert any(k.startswith("mask_decoder.") for k in sd), "no decoder tensors"
print(f"torch.load reads last.pth: {len(sd)} tensors")
PYEOF

# Bad input: a folder holding a run, an unknown config key, a missing store.
if "$BIN/samri-train" "${TRAIN[@]}" --output "$OUT/whole" 2> "$OUT/err"; then exit 1; fi
grep -q "holds a run already" "$OUT/err"
echo '{"learning_rate": 1}' > "$OUT/bad.json"
if "$BIN/samri-train" "${TRAIN[@]}" --config "$OUT/bad.json" --output "$OUT/bad" 2> "$OUT/err"; then exit 1; fi
grep -q "unknown training config key 'learning_rate'" "$OUT/err"
if "$BIN/samri-train" --checkpoint "$DATA/sam_tiny/sam_tiny.pth" --train "$OUT/nostore" \
     --output "$OUT/bad2" 2> "$OUT/err"; then exit 1; fi
grep -q "nostore" "$OUT/err"
echo "smoke_train: ok"
