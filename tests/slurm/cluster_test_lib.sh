# Sourced by the SLURM tests (tests/slurm/test_*.sh): a real single-node cluster (slurm_cluster.sh)
# in a temporary folder for the length of one test.
#
#   cluster_test_start   checks root (else exit 77: skipped), clears SLURM_* variables of any
#                        surrounding job, removes what crashed runs left, creates WORK (with
#                        WORK/logs), installs the cleanup trap and starts the cluster (SLURM_CONF
#                        exported for sbatch, squeue, scontrol)
#   cluster_test_stop    stops it and checks that none of its daemons is left
#   task_state JOB       "JobState ExitCode Restarts" of a job or array task
#   wait_job JOB SECONDS until the job has left the queue
# and step/ok/fail for the test's output. On a failure the cleanup prints the tail of every
# WORK/logs/*.log. SAMRI_KEEP_TEST_DIR=1 keeps WORK.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CLUSTER=$HERE/slurm_cluster.sh
PY=/usr/bin/python3
START=$SECONDS

step() { echo "=== [$((SECONDS - START))s] $*"; }
ok() { echo "ok: $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Folders of earlier runs whose test process died without cleaning up (SIGKILL, a timeout): stop
# their daemons and remove them.
remove_leftovers() {
  local old owner
  for old in "$1"/samri-slurm-test.*; do
    [ -d "$old" ] || continue
    owner=$(cat "$old/owner.pid" 2>/dev/null || echo "")
    if [ -n "$owner" ] && grep -qs "tests/slurm/test_" "/proc/$owner/cmdline"; then continue; fi
    echo "removing the leftovers of an earlier run: $old"
    bash "$CLUSTER" stop "$old/cluster" || true
    rm -rf "$old"
  done
}

cluster_cleanup() {
  local status=$?
  set +e
  if [ "$STOPPED" -eq 0 ]; then
    echo "--- cleanup: stopping the cluster"
    bash "$CLUSTER" stop "$CLUSTER_DIR"
  fi
  if [ "$status" -ne 0 ]; then
    for f in "$WORK"/logs/*.log; do
      [ -f "$f" ] || continue
      echo "----- $f -----"
      tail -n 40 "$f"
    done
    echo "FAILED after $((SECONDS - START))s (status $status)"
  fi
  if [ "${SAMRI_KEEP_TEST_DIR:-0}" = 1 ]; then
    echo "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}

cluster_test_start() {
  [ "$(id -u)" -eq 0 ] || { echo "SKIPPED: needs root (slurmd, munged)"; exit 77; }
  [ -x "$PY" ] || fail "$PY is missing"
  # Nothing from a surrounding SLURM job or the user's defaults may steer our sbatch/srun.
  local var
  while read -r var; do
    unset "$var"
  done < <(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN)_' || true)
  local tmp_root=${TMPDIR:-/tmp}
  remove_leftovers "$tmp_root"
  WORK=$(mktemp -d "$tmp_root/samri-slurm-test.XXXXXX")
  echo $$ >"$WORK/owner.pid"
  chmod 0711 "$WORK" # munged runs as user munge and must reach $WORK/cluster/munge
  CLUSTER_DIR=$WORK/cluster
  STOPPED=0
  trap cluster_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mkdir -p "$WORK/logs"
  cd "$WORK"

  step "starting a single-node SLURM cluster in $CLUSTER_DIR"
  bash "$CLUSTER" start "$CLUSTER_DIR"
  export SLURM_CONF=$CLUSTER_DIR/etc/slurm.conf
  DAEMON_PIDS=$(cat "$CLUSTER_DIR/munge/munged.pid" "$CLUSTER_DIR/run/slurmctld.pid" \
    "$CLUSTER_DIR/run/slurmd.pid" | tr '\n' ' ')
  echo "daemons: $DAEMON_PIDS"
  echo "slurm: $(sinfo --version)"
  [ "$(sinfo -h -o %T)" = idle ] || fail "the node is not idle"
  ok "sinfo shows the node idle"
}

cluster_test_stop() {
  step "stopping the cluster"
  bash "$CLUSTER" stop "$CLUSTER_DIR"
  STOPPED=1
  local pid d left others
  for pid in $DAEMON_PIDS; do
    if kill -0 "$pid" 2>/dev/null; then fail "daemon pid $pid is still running"; fi
  done
  left=$(pgrep -a -f -- "$CLUSTER_DIR/" || true)
  [ -z "$left" ] || fail "processes of the cluster left: $left"
  for d in slurmctld slurmd slurmstepd munged; do
    others=$(pgrep -x "$d" | tr '\n' ' ' || true)
    [ -z "$others" ] || echo "note: other $d processes (not this test's) run: $others"
  done
  ok "no slurmctld, slurmd, slurmstepd or munged of this cluster is left (pgrep)"
}

# "JobState ExitCode Restarts" (scontrol keeps finished jobs for MinJobAge=300 s; sacct needs
# accounting, which this cluster has not).
task_state() {
  scontrol show job "$1" 2>/dev/null | tr ' ' '\n' |
    awk -F= '$1 == "JobState" {s = $2} $1 == "ExitCode" {e = $2} $1 == "Restarts" {r = $2}
             END {print s, e, r}'
}

wait_job() {
  local deadline=$((SECONDS + $2))
  while [ -n "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      squeue -j "$1"
      fail "job $1 not done within $2 s"
    fi
    sleep 2
  done
}
