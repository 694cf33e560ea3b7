#!/usr/bin/env bash
# Data-parallel samri-train as users launch it, with the tiny reference model on Colin27 slices:
#  - 2 ranks started with --rank/--world-size flags and 2 ranks started with torchrun's variables
#    end with bit-identical checkpoints, and both equal 1 rank of the same global batch (losses and
#    decoder weights close; Python's torch reads the checkpoints);
#  - every rank logs to RUN_DIR/logs/rank-K.log, rank 0 alone writes metrics and checkpoints;
#  - SIGKILL of rank 1: rank 0 stops within --dist-timeout with a message naming rank 1, and
#    the run directory still resumes;
#  - SIGTERM to both ranks: exit 3 on both, at the same step; --resume auto continues to the end
#    and repeats the uninterrupted 2-rank run's losses bit for bit;
#  - samri-eval's model mode as 2 ranks writes the report of 1 process.
set -euo pipefail
BIN=$1
DATA=$2
OUT=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$OUT"' EXIT
PY=/usr/bin/python3
# A port per launch (a port just released may linger in TIME_WAIT).
PORT=$((21000 + RANDOM % 9000))
next_port() { PORT=$((PORT + 1)); }

# shellcheck source=colin_store.sh
source "$(dirname "$0")/colin_store.sh"
make_colin_store "$BIN" "$DATA" "$OUT"

TRAIN=(--checkpoint "$DATA/sam_tiny/sam_tiny.pth" --train "$OUT/store" --batch-size 8
  --samples-per-dataset 40 --epochs 8 --lr 1e-4 --deterministic --threads 1
  --state-every-steps 5 --log-every-steps 1 --val-every-steps 20 --dist-timeout 30 -q)
STEPS=40

steps() {
  local n
  n=$(grep -c '"kind":"step"' "$1/metrics.jsonl" 2>/dev/null || true)
  echo "${n:-0}"
}

# wait_steps RUN N: until RUN's metrics count N steps or rank 0 (R0) has ended.
wait_steps() {
  for _ in $(seq 3000); do
    [ "$(steps "$OUT/$1")" -ge "$2" ] && break
    kill -0 $R0 2>/dev/null || break
    sleep 0.01
  done
}

# two_ranks RUN [EXTRA...]: ranks 0 and 1 in the background with --rank flags; pids in R0, R1.
two_ranks() {
  local run=$1
  shift
  next_port
  "$BIN/samri-train" "${TRAIN[@]}" "$@" --output "$OUT/$run" --rank 0 --world-size 2 \
    --master-addr 127.0.0.1 --master-port $PORT >"$OUT/$run.r0.out" 2>&1 &
  R0=$!
  "$BIN/samri-train" "${TRAIN[@]}" "$@" --output "$OUT/$run" --rank 1 --world-size 2 \
    --master-addr 127.0.0.1 --master-port $PORT >"$OUT/$run.r1.out" 2>&1 &
  R1=$!
}

# wait_both: the exit statuses of R0 and R1 in S0, S1.
wait_both() {
  S0=0
  S1=0
  wait $R0 || S0=$?
  wait $R1 || S1=$?
}

# wait_all NAME: waits for every background job; on a failure shows NAME.r*.out and fails.
wait_all() {
  local pid status=0
  for pid in $(jobs -p); do wait "$pid" || status=$?; done
  [ "$status" -eq 0 ] || {
    cat "$OUT/$1".r*.out
    exit 1
  }
}

echo "--- 1 rank, global batch 8"
"$BIN/samri-train" "${TRAIN[@]}" --output "$OUT/one"

echo "--- 2 ranks x 4, launched with --rank/--world-size"
two_ranks flags
wait_both
[ "$S0" -eq 0 ] && [ "$S1" -eq 0 ] || {
  cat "$OUT"/flags.r*.out
  echo "flags launch: exit $S0/$S1"
  exit 1
}
[ -s "$OUT/flags/logs/rank-0.log" ] && [ -s "$OUT/flags/logs/rank-1.log" ]
grep -q "rank 1" "$OUT/flags/logs/rank-1.log"
[ ! -s "$OUT/flags.r1.out" ] || {
  echo "rank 1 wrote to the console:"
  cat "$OUT/flags.r1.out"
  exit 1
}
[ ! -e "$OUT/flags/logs/rank-2.log" ]

echo "--- 2 ranks x 4, launched with torchrun's variables"
next_port
for r in 0 1; do
  env RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT \
    "$BIN/samri-train" "${TRAIN[@]}" --output "$OUT/torchrun" >"$OUT/torchrun.r$r.out" 2>&1 &
done
wait_all torchrun

echo "--- SIGKILL of rank 1: rank 0 stops naming it"
two_ranks killed
wait_steps killed 12
kill -9 $R1
start=$SECONDS
wait_both
echo "rank 0 exited with status $S0 after $((SECONDS - start)) s"
[ "$S0" -ne 0 ] && [ "$S0" -ne 3 ]
[ $((SECONDS - start)) -le 35 ]
grep -q "rank 1 .*went silent" "$OUT/killed.r0.out" || {
  cat "$OUT/killed.r0.out"
  exit 1
}
two_ranks killed --resume
wait_both
[ "$S0" -eq 0 ] && [ "$S1" -eq 0 ]

echo "--- SIGTERM to both ranks: both exit 3 at one step; --resume auto continues"
two_ranks termed
wait_steps termed 6
kill -TERM $R0 $R1
wait_both
echo "SIGTERM: exit $S0/$S1 after $(steps "$OUT/termed") steps"
if [ "$S0" -eq 3 ]; then
  [ "$S1" -eq 3 ]
  [ "$(steps "$OUT/termed")" -lt $STEPS ]
else
  [ "$S0" -eq 0 ] && [ "$S1" -eq 0 ] # the run ended before the signal
fi
two_ranks termed --resume auto
wait_both
[ "$S0" -eq 0 ] && [ "$S1" -eq 0 ]

echo "--- samri-eval's model mode: 2 ranks write the report of 1 process"
EVAL=(--model "trained=$OUT/one/last.pth" --test "$OUT/store" --prompt both --batch-size 8 -q)
"$BIN/samri-eval" "${EVAL[@]}" --output "$OUT/eval_one"
next_port
for r in 0 1; do
  "$BIN/samri-eval" "${EVAL[@]}" --output "$OUT/eval_two" --rank $r --world-size 2 \
    --master-port $PORT >"$OUT/eval.r$r.out" 2>&1 &
done
wait_all eval
cmp "$OUT/eval_one/cases.csv" "$OUT/eval_two/cases.csv"
cmp "$OUT/eval_one/tables/tables.md" "$OUT/eval_two/tables/tables.md"
# summary.json records the command line, which differs by the rank flags: compare the rest.
$PY - "$OUT" <<'EOF'
import json, sys
a, b = (json.load(open(f"{sys.argv[1]}/{d}/summary.json")) for d in ("eval_one", "eval_two"))
a["provenance"].pop("command"); b["provenance"].pop("command")
assert a == b, "summary.json differs beyond the command line"
EOF
[ -s "$OUT/eval_two/logs/rank-1.log" ]
echo "eval: cases.csv, summary.json and the tables equal"

$PY - "$OUT" "$STEPS" <<'PYEOF'
import json, sys
out, steps = sys.argv[1], int(sys.argv[2])
def losses(run):
    rows = [json.loads(l) for l in open(f"{out}/{run}/metrics.jsonl")]
    return [(r["step"], r["loss"]) for r in rows if r["kind"] == "step"]
one, flags = losses("one"), losses("flags")
assert [s for s, _ in flags] == list(range(1, steps + 1)), [s for s, _ in flags][:10]
for run in ("torchrun", "killed", "termed"):
    other = losses(run)
    assert other == flags, f"{run}: losses differ from the 2-rank run's at " \
        f"{[(a, b) for a, b in zip(flags, other) if a != b][:3]}"
worst = max(abs(a - b) / max(abs(a), 1e-12) for (_, a), (_, b) in zip(one, flags))
print(f"2 ranks: losses equal over all launches; vs 1 rank: max relative difference {worst:.2e}")
assert worst < 1e-4, worst
try:
    import torch
except ImportError:
    sys.exit(0)
def decoder(run):
    sd = torch.load(f"{out}/{run}/last.pth", map_location="cpu")
    return {k: v for k, v in sd.items() if k.startswith("mask_decoder.")}
a, b, c = decoder("flags"), decoder("torchrun"), decoder("one")
assert a.keys() == b.keys() == c.keys() and a
for k in a:
    assert torch.equal(a[k], b[k]), f"{k}: --rank and torchrun launches differ"
# Attention key biases get a zero gradient in exact arithmetic (softmax ignores a shift), so AdamW
# turns the rounding noise of the two summation orders into steps of up to lr: bounded, not tested.
free = [k for k in a if k.endswith("k_proj.bias")]
moved = max((a[k] - c[k]).abs().max().item() for k in a if k not in free)
noise = max((a[k] - c[k]).abs().max().item() for k in free)
print(f"torch.load: {len(a)} decoder tensors; flags == torchrun bit for bit; "
      f"max |2 ranks - 1 rank| = {moved:.2e} (key biases {noise:.2e})")
assert moved < 1e-5, moved
assert noise <= 1e-4 * steps, noise
PYEOF
echo "smoke_train_ddp: ok"
