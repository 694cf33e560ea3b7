#!/usr/bin/env bash
# Slow test: scripts/slurm/embed.sbatch on a real single-node SLURM cluster (slurm_cluster.sh).
#
#   bash tests/slurm/test_embed_array.sh BIN_DIR DATA_DIR
#
# BIN_DIR holds samri-preprocess and samri-embed, DATA_DIR is tests/data. Needs root (the cluster
# runs slurmd and munged; slurm-wlm and munge are installed with apt-get when missing) and
# mricron-data (Colin27 + AAL). Exits 77 (skip) without root or without mricron-data.
#
#  1. starts the cluster in a temporary folder (stopped and removed on any exit);
#  2. preprocesses Colin27 + AAL to a handful of slices (axis 2, --peripheral-fraction 0.45);
#  3. runs embed.sbatch with the real samri-embed and the tiny model as a 2-task array
#     (sbatch --wait): both tasks succeed, `samri-embed verify` passes and `samri-embed info
#     --json` counts as many slices as the manifest has distinct images;
#  4. the same on more slices (--peripheral-fraction 0.3, a shard file per slice), with task 0
#     sent SIGUSR1 (scancel --signal=USR1 --batch) after its first shard: samri-embed exits 3,
#     the script requeues the task, the requeued task completes the store (verify, info);
#  5. with a stand-in samri-embed that records signals: SIGUSR1 reaches the tool both from
#     `scancel --signal=USR1 --batch` and from --signal=B:USR1@N before a time limit, the tool's
#     clean exit makes the script requeue its task, and the requeued task resumes and completes;
#     a missing setting fails the job with the script's message;
#  6. stops the cluster and checks that none of its daemons is left.
# Set SAMRI_KEEP_TEST_DIR=1 to keep the temporary folder (logs, store) after the test.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 BIN_DIR DATA_DIR" >&2; exit 2; }
BIN_DIR=$(cd "$1" && pwd)
DATA_DIR=$(cd "$2" && pwd)
# shellcheck source=cluster_test_lib.sh
source "$(dirname "$0")/cluster_test_lib.sh"
SBATCH_SCRIPT=$REPO/scripts/slurm/embed.sbatch
TEMPLATES=/usr/share/mricron/templates

if [ ! -f "$TEMPLATES/ch2.nii.gz" ] || [ ! -f "$TEMPLATES/aal.nii.gz" ]; then
  echo "SKIPPED: $TEMPLATES/{ch2,aal}.nii.gz missing (apt-get install mricron-data)"
  exit 77
fi
for tool in samri-preprocess samri-embed; do
  [ -x "$BIN_DIR/$tool" ] || fail "$BIN_DIR/$tool is missing (build it first)"
done
cluster_test_start

printf 'image,label,patient\n%s,%s,colin27\n' "$TEMPLATES/ch2.nii.gz" "$TEMPLATES/aal.nii.gz" \
  >"$WORK/colin.csv"
# preprocess OUT FRACTION: Colin27 + AAL along axis 2; prints "slices samples" of the manifest
# (distinct `image` entries, lines).
preprocess() {
  "$BIN_DIR/samri-preprocess" --list "$WORK/colin.csv" --label-names "$TEMPLATES/aal.nii.txt" \
    --output "$1" --axis 2 --peripheral-fraction "$2" --threads 1 >&2
  [ -s "$1/manifest.jsonl" ] || fail "no $1/manifest.jsonl"
  "$PY" - "$1/manifest.jsonl" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(len({r["image"] for r in rows}), len(rows))
EOF
}

# check_store STORE SLICES SAMPLES: verify exits 0, info --json counts them all.
check_store() {
  "$BIN_DIR/samri-embed" verify "$1" || fail "samri-embed verify $1 exited $?"
  ok "samri-embed verify $1 exited 0"
  "$BIN_DIR/samri-embed" info --json "$1" >"$1.info.json" ||
    fail "samri-embed info --json $1 exited $?"
  "$PY" - "$1.info.json" "$2" "$3" <<'EOF' || fail "the store's counts are wrong"
import json, sys
info = json.load(open(sys.argv[1]))
slices, samples = int(sys.argv[2]), int(sys.argv[3])
print(f"info: slices={info['slices']} planned_slices={info['planned_slices']} "
      f"samples={info['samples']}; manifest: {slices} slices, {samples} samples")
assert info["slices"] == slices, "committed slices != distinct manifest images"
assert info["planned_slices"] == slices, "planned slices != distinct manifest images"
assert info["samples"] == samples, "samples != manifest lines"
EOF
  ok "the store holds all $2 slices ($3 samples)"
}

step "preprocessing Colin27 + AAL (axis 2, --peripheral-fraction 0.45)"
read -r N_SLICES N_SAMPLES < <(preprocess "$WORK/slices/colin" 0.45)
[ "${N_SLICES:-0}" -ge 2 ] || fail "only ${N_SLICES:-no} slices: too few for two shards"
ok "manifest: $N_SAMPLES samples on $N_SLICES slices"

# Submits embed.sbatch with --wait; prints the job id; the exit status is sbatch's (the highest
# of the array's tasks).
submit_wait() {
  local out status
  set +e
  out=$(timeout 600 sbatch --wait --parsable "$@" "$SBATCH_SCRIPT" 2>&1)
  status=$?
  set -e
  printf '  sbatch: %s\n' "$out" >&2
  echo "$out" | grep -E '^[0-9]+' | head -n 1 | cut -d';' -f1
  return $status
}

step "embed.sbatch as a 2-task array with the real samri-embed (tiny model)"
STORE=$WORK/store
# What users pass: --export=ALL,CKPT=...,DATA=...,STORE=... (sbatch splits it at commas).
EXPORTS="ALL,CKPT=$DATA_DIR/sam_tiny/sam_tiny.pth,MODEL=$DATA_DIR/sam_tiny/sam_tiny.json"
EXPORTS+=",DATA=$WORK/slices/colin,STORE=$STORE,SAMRI_BIN=$BIN_DIR"
JOB=$(submit_wait --array=0-1 --cpus-per-task=1 --mem=2G --time=15 \
  --output="$WORK/logs/embed_%A_%a.log" --export="$EXPORTS") ||
  fail "sbatch --wait: the array failed (status $?)"
[ -n "$JOB" ] || fail "no job id from sbatch"
ok "sbatch --wait exited 0 (array job $JOB)"
for t in 0 1; do
  log=$WORK/logs/embed_${JOB}_$t.log
  [ -f "$log" ] || fail "no log $log"
  grep -q -- "--shard $t/2" "$log" || fail "task $t did not run shard $t/2 (see $log)"
  grep -q "samri-embed exited with status 0" "$log" || fail "task $t: samri-embed failed (see $log)"
  state=$(task_state "${JOB}_$t")
  [ "${state% *}" = "COMPLETED 0:0" ] || fail "task $t: '$state', not COMPLETED 0:0"
  ok "task $t ran --shard $t/2 and completed ($state)"
done

step "samri-embed verify / info --json"
check_store "$STORE" "$N_SLICES" "$N_SAMPLES"

step "the real samri-embed stopped by SIGUSR1 (task 0), requeued, resumed"
read -r M_SLICES M_SAMPLES < <(preprocess "$WORK/slices/colin30" 0.3)
[ "${M_SLICES:-0}" -ge 20 ] || fail "only ${M_SLICES:-no} slices"
ok "manifest: $M_SAMPLES samples on $M_SLICES slices"
STORE2=$WORK/store2
EXPORTS2="ALL,CKPT=$DATA_DIR/sam_tiny/sam_tiny.pth,MODEL=$DATA_DIR/sam_tiny/sam_tiny.json"
EXPORTS2+=",DATA=$WORK/slices/colin30,STORE=$STORE2,SAMRI_BIN=$BIN_DIR,EXTRA=--shard-size 1"
JOB2=$(sbatch --parsable --array=0-1 --cpus-per-task=1 --mem=2G --time=15 \
  --output="$WORK/logs/embed2_%A_%a.log" --export="$EXPORTS2" "$SBATCH_SCRIPT")
JOB2=${JOB2%%;*}
for _ in $(seq 600); do
  compgen -G "$STORE2/shards/p0000of0002-*.json" >/dev/null && break
  sleep 0.1
done
compgen -G "$STORE2/shards/p0000of0002-*.json" >/dev/null ||
  fail "task 0 committed no shard within 60 s"
scancel --signal=USR1 --batch "${JOB2}_0"
echo "sent: scancel --signal=USR1 --batch ${JOB2}_0 (after its first shard)"
wait_job "$JOB2" 300
log=$WORK/logs/embed2_${JOB2}_0.log
grep -q "samri-embed exited with status 3" "$log" ||
  fail "task 0: samri-embed did not stop with status 3 on SIGUSR1 (see $log)"
grep -q "requeueing ${JOB2}_0" "$log" || fail "task 0: not requeued (see $log)"
state=$(task_state "${JOB2}_0")
[ "$state" = "COMPLETED 0:0 1" ] || fail "task 0: '$state', not 'COMPLETED 0:0 1'"
ok "task 0: SIGUSR1 -> samri-embed exit 3 -> requeued -> resumed and completed ($state)"
state=$(task_state "${JOB2}_1")
[ "${state% *}" = "COMPLETED 0:0" ] || fail "task 1: '$state', not COMPLETED 0:0"
ok "task 1 completed ($state)"
check_store "$STORE2" "$M_SLICES" "$M_SAMPLES"

step "signals and requeue, with a stand-in samri-embed"
FAKE=$WORK/fakebin
mkdir -p "$FAKE"
cat >"$FAKE/samri-embed" <<'EOF'
#!/usr/bin/env bash
# Stand-in: works on its shard until SIGUSR1/SIGTERM, then commits the "slices in hand" and exits
# 3 as samri-embed does (stopped early), leaving a partial marker; run again (--resume) after
# that, it completes the shard and exits 0.
set -u
store="" shard=""
while [ $# -gt 0 ]; do
  case "$1" in
  --output) store=$2; shift ;;
  --shard) shard=$2; shift ;;
  esac
  shift
done
i=${shard%/*}
mkdir -p "$store"
if [ -f "$store/partial_$i" ]; then
  echo "stand-in: shard $shard resumed, completing it"
  echo "restart ${SLURM_RESTART_COUNT:-0}" >"$store/done_$i"
  exit 0
fi
stop=""
trap 'stop=USR1; echo "USR1 $(date +%s)" >>"$store/signals_$i"' USR1
trap 'stop=TERM; echo "TERM $(date +%s)" >>"$store/signals_$i"' TERM
echo "$$" >"$store/started_$i"
echo "stand-in: shard $shard started (pid $$)"
for _ in $(seq 1200); do
  [ -n "$stop" ] && break
  sleep 0.1
done
[ -n "$stop" ] || { echo "stand-in: no signal within 120 s"; exit 4; }
sleep 1 # the slice in hand
echo "SIG$stop" >"$store/partial_$i"
echo "stand-in: stopped on SIG$stop after committing"
exit 3
EOF
chmod +x "$FAKE/samri-embed"
: >"$WORK/fake.pth"

# Task 0 is signalled by hand, task 1 by SLURM before its 2-minute limit (B:USR1@100: 100 s
# before the limit or up to 60 s earlier, SLURM's resolution: within ~20 s of the start; seen
# after 10-12 s here).
SIG_STORE=$WORK/sigstore
set +e
FAKE_EXPORTS="CKPT=$WORK/fake.pth,STORE=$SIG_STORE,SAMRI_BIN=$FAKE"
SIGJOB=$(sbatch --parsable --array=0-1 --cpus-per-task=1 --mem=100M --time=2 \
  --signal=B:USR1@100 --output="$WORK/logs/sig_%A_%a.log" \
  --export="ALL,$FAKE_EXPORTS,DATA=$WORK/slices/colin" "$SBATCH_SCRIPT")
status=$?
set -e
if [ "$status" -ne 0 ] || [ -z "$SIGJOB" ]; then fail "sbatch of the signal job failed"; fi
SIGJOB=${SIGJOB%%;*}
echo "signal job: $SIGJOB"
for _ in $(seq 150); do
  [ -f "$SIG_STORE/started_0" ] && [ -f "$SIG_STORE/started_1" ] && break
  sleep 0.2
done
if [ ! -f "$SIG_STORE/started_0" ] || [ ! -f "$SIG_STORE/started_1" ]; then
  fail "the stand-in did not start in both tasks within 30 s"
fi
running=$(squeue -h -j "$SIGJOB" -o '%i:%T' | tr '\n' ' ')
ok "both tasks of array $SIGJOB run at once (squeue: $running)"
scancel --signal=USR1 --batch "${SIGJOB}_0"
echo "sent: scancel --signal=USR1 --batch ${SIGJOB}_0"

# Both tasks: signalled, requeued, resumed, completed; bounded wait.
wait_job "$SIGJOB" 240
for t in 0 1; do
  log=$WORK/logs/sig_${SIGJOB}_$t.log
  [ -f "$log" ] || fail "no log $log"
  head -n 1 "$SIG_STORE/signals_$t" 2>/dev/null | grep -q '^USR1' ||
    fail "task $t: the tool did not get SIGUSR1 first ($(cat "$SIG_STORE/signals_$t" 2>/dev/null))"
  grep -q "passing it to samri-embed" "$log" || fail "task $t: no forwarding in $log"
  grep -q "samri-embed exited with status 3" "$log" || fail "task $t: no exit 3 (see $log)"
  grep -q "requeueing ${SIGJOB}_$t" "$log" || fail "task $t: not requeued (see $log)"
  grep -q "restart 1" "$log" || fail "task $t: no second run (see $log)"
  [ -f "$SIG_STORE/done_$t" ] || fail "task $t: the requeued run did not complete the shard"
  state=$(task_state "${SIGJOB}_$t")
  [ "$state" = "COMPLETED 0:0 1" ] ||
    fail "task $t: '$state', not 'COMPLETED 0:0 1' (restarted once)"
  ok "task $t: SIGUSR1 reached the tool, the task was requeued, resumed and completed ($state)"
done

step "a missing setting fails the job with the script's message"
set +e
BADJOB=$(env -u DATA sbatch --wait --parsable --cpus-per-task=1 --mem=100M --time=2 \
  --array=0-0 --output="$WORK/logs/bad_%A_%a.log" \
  --export="ALL,$FAKE_EXPORTS" "$SBATCH_SCRIPT" 2>/dev/null)
status=$?
set -e
[ "$status" -eq 2 ] || fail "sbatch --wait of a job without DATA exited $status, not 2"
grep -q "DATA is not set" "$WORK/logs/bad_${BADJOB%%;*}_0.log" || fail "no message about DATA"
ok "without DATA the job exits 2: $(grep -h 'DATA is not set' "$WORK"/logs/bad_*.log | cut -c1-40)"

cluster_test_stop

echo "PASS: slurm.embed_array ($((SECONDS - START))s): 2-task arrays embedded $N_SLICES and" \
  "$M_SLICES slices (verify ok; SIGUSR1 -> exit 3 -> requeue -> resumed); stand-in: scancel and" \
  "--signal=B:USR1@N forwarded; cluster stopped"
