#!/usr/bin/env bash
# Slow test: scripts/slurm/train.sbatch on a real single-node SLURM cluster (slurm_cluster.sh).
#
#   bash tests/slurm/test_train_job.sh BIN_DIR DATA_DIR
#
# BIN_DIR holds samri-preprocess, samri-embed and samri-train, DATA_DIR is tests/data (the tiny
# model and the Colin27 AAL crop). Needs root (else exit 77: skipped).
#
#  1. a single-process run of samri-train, outside SLURM, is the reference;
#  2. `sbatch --wait --ntasks-per-node=2 train.sbatch ...`: srun starts 2 ranks that find each
#     other from SLURM's variables alone (port from the job id); the checkpoint equals the
#     single-process run's, each rank wrote logs/rank-K.log;
#  3. the same job sent SIGUSR1 (scancel --signal=USR1) mid-run: both ranks stop at one step with
#     status 3, the script requeues the job, the requeued job continues and its losses repeat the
#     uninterrupted job's bit for bit;
#  4. samri-train run straight from a batch script with --ntasks=2 (no srun) trains alone;
#  5. 2 ranks for a global batch of 7: the job fails with samri-train's message.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 BIN_DIR DATA_DIR" >&2; exit 2; }
BIN_DIR=$(cd "$1" && pwd)
DATA_DIR=$(cd "$2" && pwd)
# shellcheck source=cluster_test_lib.sh
source "$(dirname "$0")/cluster_test_lib.sh"
# shellcheck source=../apps/colin_store.sh
source "$REPO/tests/apps/colin_store.sh"
SBATCH_SCRIPT=$REPO/scripts/slurm/train.sbatch
for tool in samri-preprocess samri-embed samri-train; do
  [ -x "$BIN_DIR/$tool" ] || fail "$BIN_DIR/$tool is missing (build it first)"
done
cluster_test_start

step "a store of Colin27 slices (tiny model) and the single-process reference run"
make_colin_store "$BIN_DIR" "$DATA_DIR" "$WORK"
STEPS=150
COMMON=(--checkpoint "$DATA_DIR/sam_tiny/sam_tiny.pth" --train "$WORK/store"
  --samples-per-dataset 40 --epochs 30 --lr 1e-4 --deterministic --threads 1
  --state-every-steps 5 --log-every-steps 1 --val-every-steps 50 --dist-timeout 60)
TRAIN=("${COMMON[@]}" --batch-size 8)
"$BIN_DIR/samri-train" "${TRAIN[@]}" -q --output "$WORK/one"
ok "1 rank: $STEPS steps"

# compare RUN REF: RUN (2 ranks) trained as REF; "bitwise" also asks for equal losses.
compare() {
  "$PY" - "$WORK/$1" "$WORK/$2" "$STEPS" "${3:-}" <<'EOF'
import json, sys
import torch
run, ref, steps, bitwise = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "bitwise"
def losses(d):
    rows = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
    return [(r["step"], r["loss"]) for r in rows if r["kind"] == "step"]
a, b = losses(run), losses(ref)
assert [s for s, _ in a] == list(range(1, steps + 1)), f"steps {[s for s, _ in a][:12]}"
if bitwise:
    assert a == b, f"losses differ at {[(x, y) for x, y in zip(a, b) if x != y][:3]}"
worst = max(abs(x - y) / max(abs(x), 1e-12) for (_, x), (_, y) in zip(a, b))
assert worst < 1e-4, f"losses: relative difference {worst}"
def decoder(d):
    sd = torch.load(f"{d}/last.pth", map_location="cpu")
    return {k: v for k, v in sd.items() if k.startswith("mask_decoder.")}
p, q = decoder(run), decoder(ref)
assert p.keys() == q.keys() and p
# Attention key biases have a zero gradient in exact arithmetic: AdamW moves them by rounding noise.
moved = max((p[k] - q[k]).abs().max().item() for k in p if not k.endswith("k_proj.bias"))
assert moved < 1e-5, f"decoder weights differ by {moved}"
print(f"losses: max relative difference {worst:.1e}; decoder weights: max difference {moved:.1e}")
EOF
}

submit() {
  sbatch --parsable --export="ALL,SAMRI_BIN=$BIN_DIR" --cpus-per-task=1 --mem=2G --time=15 "$@"
}

step "train.sbatch with 2 tasks (sbatch --wait)"
set +e
JOB=$(submit --wait --nodes=1 --ntasks-per-node=2 --output="$WORK/logs/train_%j.log" \
  "$SBATCH_SCRIPT" "${TRAIN[@]}" --output "$WORK/two")
status=$?
set -e
JOB=${JOB%%;*}
[ "$status" -eq 0 ] || fail "sbatch --wait: job '$JOB' exited $status"
log=$WORK/logs/train_$JOB.log
port=$((20000 + JOB % 20000))
grep -q "rank 0 of 2 (from slurm), gloo over .*:$port" "$log" ||
  fail "rank 0 did not join 2 ranks from SLURM's variables on port $port (see $log)"
for r in 0 1; do
  grep -q "\[rank $r\] data-parallel: rank $r of 2" "$WORK/two/logs/rank-$r.log" ||
    fail "no logs/rank-$r.log with its start"
done
ok "job $JOB: 2 ranks from SLURM's variables, rendezvous on port $port; logs/rank-{0,1}.log"
compare two one
ok "2 ranks x 4 under SLURM = 1 rank x 8"

step "SIGUSR1 mid-run: both ranks stop, the job requeues itself and continues"
JOB2=$(submit --nodes=1 --ntasks-per-node=2 --output="$WORK/logs/requeue_%j.log" \
  "$SBATCH_SCRIPT" "${TRAIN[@]}" --output "$WORK/requeued")
JOB2=${JOB2%%;*}
for _ in $(seq 1200); do
  n=$(grep -c '"kind":"step"' "$WORK/requeued/metrics.jsonl" 2>/dev/null || true)
  [ "${n:-0}" -ge 20 ] && break
  sleep 0.1
done
[ "${n:-0}" -ge 20 ] || fail "job $JOB2 made no 20 steps within 120 s"
[ "${n:-0}" -lt $STEPS ] || fail "job $JOB2 ended before the signal"
scancel --signal=USR1 "$JOB2"
echo "sent: scancel --signal=USR1 $JOB2 after step $n"
wait_job "$JOB2" 300
log=$WORK/logs/requeue_$JOB2.log
grep -q "samri-train exited with status 3" "$log" || fail "no stop with status 3 (see $log)"
grep -q "requeueing job $JOB2" "$log" || fail "not requeued (see $log)"
state=$(task_state "$JOB2")
[ "$state" = "COMPLETED 0:0 1" ] || fail "job $JOB2: '$state', not 'COMPLETED 0:0 1'"
for r in 0 1; do
  grep -q "\[rank $r\].*stop requested" "$WORK/requeued/logs/rank-$r.log" ||
    fail "rank $r logged no stop (logs/rank-$r.log)"
done
compare requeued two bitwise
ok "SIGUSR1 -> exit 3 on both ranks -> requeued -> continued; losses equal the uninterrupted job's"

step "samri-train straight from a batch script with --ntasks=2 (no srun): one process"
set +e
JOB3=$(submit --wait --ntasks=2 --output="$WORK/logs/batch_%j.log" \
  --wrap "env | grep '^SLURM_STEP' || echo 'no SLURM_STEP_* in the batch script';
          $BIN_DIR/samri-train ${TRAIN[*]} --max-steps 3 --output $WORK/batch")
status=$?
set -e
JOB3=${JOB3%%;*}
log=$WORK/logs/batch_$JOB3.log
[ "$status" -eq 0 ] || fail "the batch-script run exited $status (see $log)"
if grep -q "data-parallel" "$log"; then fail "the batch script's process went data-parallel"; fi
[ ! -d "$WORK/batch/logs" ] || fail "a single process wrote rank logs"
ok "trained alone ($(grep '^SLURM_STEP\|no SLURM_STEP' "$log" | tr '\n' ' '))"

step "2 ranks for a global batch of 7: refused"
set +e
JOB4=$(submit --wait --nodes=1 --ntasks-per-node=2 --output="$WORK/logs/odd_%j.log" \
  "$SBATCH_SCRIPT" "${COMMON[@]}" --batch-size 7 --output "$WORK/odd" 2>&1)
status=$?
set -e
echo "  sbatch: $JOB4 (status $status)"
[ "$status" -ne 0 ] || fail "a job of 2 ranks for a batch of 7 succeeded"
log=$WORK/logs/odd_${JOB4%%;*}.log
grep -q "batch-size 7 does not divide over 2 ranks" "$log" || fail "no message about the batch"
[ ! -e "$WORK/odd/last.pth" ] || fail "the refused run wrote a checkpoint"
ok "refused: $(grep -m1 -o 'batch-size 7 does not divide[^:]*' "$log")"

cluster_test_stop
echo "PASS: slurm.train_job ($((SECONDS - START))s)"
