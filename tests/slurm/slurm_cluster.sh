#!/usr/bin/env bash
# A real single-node SLURM cluster for tests, started as root without systemd (Debian 12's
# slurm-wlm 22.05 and munge), with everything under one folder:
#
#   slurm_cluster.sh start  WORKDIR   install slurm-wlm + munge if missing, start munged, slurmctld
#                                     and slurmd, wait until `sinfo` shows the node idle
#   slurm_cluster.sh stop   WORKDIR   cancel the jobs, stop exactly the daemons that start started
#                                     (their pid files, checked against /proc) and what jobs left
#                                     if slurmd died (our slurmstepd, scripts from our spool),
#                                     wait for them
#   slurm_cluster.sh env    WORKDIR   print `export SLURM_CONF=...` for clients (sbatch, sinfo, ...)
#   slurm_cluster.sh status WORKDIR   say which of the daemons run
#
# Layout of WORKDIR: etc/slurm.conf (clients find it through SLURM_CONF, so /etc/slurm is not
# used), munge/ (key, socket, pid, log, seed: munged runs with --key-file/--socket so the system's
# /etc/munge and /run/munge are not used either), state/ (slurmctld), spool/ (slurmd), log/,
# run/ (pid files). The daemons talk over loopback only: NodeAddr and SlurmctldHost's address are
# the host name's address when that is a loopback one (127.0.0.1 in /etc/hosts here; Debian's
# default 127.0.1.1 too), with CommunicationParameters=NoInAddrAny so that slurmd listens there
# only (slurmctld 22.05 listens on all addresses regardless); otherwise 127.0.0.1, and the daemons
# listen on all addresses. Two free ports are chosen at start, so two clusters (or a system slurmd
# on 6817/6818) do not collide.
#
# A crashed run's leftovers are handled: start first stops the daemons named by stale pid files of
# the same WORKDIR (only if /proc says they are ours), clears old job state (slurmctld -c) and
# moves old logs aside. Root is required (slurmd runs jobs as their users; munged drops to the
# user munge). The parents of WORKDIR must be searchable by the user munge (o+x).
# Environment: SLURM_CLUSTER_WAIT_S (default 60), SLURM_CLUSTER_CTLD_PORT and
# SLURM_CLUSTER_SLURMD_PORT (default: free ports).
set -euo pipefail

die() {
  echo "slurm_cluster: ERROR: $*" >&2
  exit 1
}
say() { echo "slurm_cluster: $*"; }

[ $# -eq 2 ] || die "usage: $0 start|stop|env|status WORKDIR"
ACTION=$1
if [ "$ACTION" = start ]; then mkdir -p "$2" || die "cannot create WORKDIR '$2'"; fi
# stop also works on a folder removed meanwhile: leftovers are found by its path.
[ -d "$2" ] || [ "$ACTION" = stop ] || die "no folder '$2'"
WORKDIR=$(realpath -m -- "$2")
CONF=$WORKDIR/etc/slurm.conf
MUNGE_DIR=$WORKDIR/munge
MUNGE_SOCKET=$MUNGE_DIR/munge.socket
PID_MUNGED=$MUNGE_DIR/munged.pid
PID_CTLD=$WORKDIR/run/slurmctld.pid
PID_SLURMD=$WORKDIR/run/slurmd.pid
LOG_CTLD=$WORKDIR/log/slurmctld.log
LOG_SLURMD=$WORKDIR/log/slurmd.log
LOG_MUNGED=$MUNGE_DIR/munged.log
WAIT_S=${SLURM_CLUSTER_WAIT_S:-60}
export SLURM_CONF=$CONF

# The pid in FILE if that process is alive and is PROGRAM started for this WORKDIR (its command
# line names a file under WORKDIR), so that a stale pid file never makes us signal a stranger.
our_pid() {
  local file=$1 program=$2 pid cmdline
  [ -f "$file" ] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case "$(cat "/proc/$pid/comm" 2>/dev/null)" in "$program"*) ;; *) return 1 ;; esac
  case "$cmdline" in *"$WORKDIR/"*) ;; *) return 1 ;; esac
  echo "$pid"
}

# Sends TERM to the process, waits up to 15 s, then KILL, and waits until it is gone.
stop_pid() {
  local name=$1 pid=$2 i
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || { say "$name (pid $pid) stopped"; return 0; }
    sleep 0.1
  done
  say "$name (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "slurm_cluster: WARNING: $name (pid $pid) still there after SIGKILL" >&2
}

# Job-step daemons started by our slurmd (slurmstepd outlives a killed slurmd): recognised by the
# SLURM_CONF of this WORKDIR in their environment, which they inherit from slurmd.
our_stepds() {
  local p
  for p in $(pgrep -x slurmstepd 2>/dev/null || true); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$CONF"; then
      echo "$p"
    fi
  done
}

descendants() {
  local kid
  for kid in $(ps -e -o pid=,ppid= | awk -v p="$1" '$2 == p {print $1}'); do
    echo "$kid"
    descendants "$kid"
  done
}

# What jobs left when the daemons died under them: our slurmstepd processes, batch scripts run
# from our spool folder (orphans whose slurmstepd is gone), and all their descendants. Job
# processes get SIGTERM and 5 s, then everything left gets SIGKILL (slurmstepd ignores SIGTERM).
stop_job_leftovers() {
  local roots=() all=() kids=() p i alive
  read -r -a roots <<<"$({
    our_stepds
    pgrep -f -- "$WORKDIR/spool/job" || true
  } | tr '\n' ' ')"
  [ ${#roots[@]} -gt 0 ] || return 0
  for p in "${roots[@]}"; do
    all+=("$p")
    read -r -a kids <<<"$(descendants "$p" | tr '\n' ' ')"
    all+=("${kids[@]}")
  done
  read -r -a all <<<"$(printf '%s\n' "${all[@]}" | sort -un | tr '\n' ' ')"
  say "stopping what jobs left behind: pids ${all[*]}"
  for p in "${all[@]}"; do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = slurmstepd ] || kill -TERM "$p" 2>/dev/null || true
  done
  for i in $(seq 50); do
    alive=0
    for p in "${all[@]}"; do
      if [ "$(cat "/proc/$p/comm" 2>/dev/null)" != slurmstepd ] && kill -0 "$p" 2>/dev/null; then
        alive=1
      fi
    done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  kill -KILL "${all[@]}" 2>/dev/null || true
  for i in $(seq 50); do
    alive=0
    for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && return 0
    sleep 0.1
  done
  echo "slurm_cluster: WARNING: still there after SIGKILL: ${all[*]}" >&2
}

do_stop() {
  local pid
  if pid=$(our_pid "$PID_CTLD" slurmctld); then
    local jobs=()
    read -r -a jobs <<<"$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')"
    if [ ${#jobs[@]} -gt 0 ]; then
      say "cancelling the jobs still in the queue: ${jobs[*]}"
      scancel --full --quiet "${jobs[@]}" 2>/dev/null || true
      for _ in $(seq 50); do
        [ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ] && break
        sleep 0.2
      done
    fi
  fi
  if pid=$(our_pid "$PID_SLURMD" slurmd); then stop_pid slurmd "$pid"; fi
  stop_job_leftovers
  if pid=$(our_pid "$PID_CTLD" slurmctld); then stop_pid slurmctld "$pid"; fi
  if pid=$(our_pid "$PID_MUNGED" munged); then stop_pid munged "$pid"; fi
  rm -f "$PID_SLURMD" "$PID_CTLD" "$PID_MUNGED"
}

install_packages() {
  local missing=() cmd
  for cmd in munged slurmctld slurmd sinfo sbatch; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "missing ${missing[*]}: apt-get install slurm-wlm munge"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q slurm-wlm munge; then
    say "install failed; apt-get update, then install again"
    apt-get update -q
    apt-get install -y -q slurm-wlm munge
  fi
  # The packages' maintainer scripts may start the system's munged (not under systemd): that one
  # uses /run/munge, ours does not, so both may run.
}

# A port that nothing listens on (/proc/net/tcp*), below Linux's ephemeral range.
free_port() {
  local used=" " local_addr state port
  while read -r _ local_addr _ state _; do
    [ "$state" = 0A ] && used+="$((16#${local_addr##*:})) "
  done < <(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -v local_address)
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12000))
    case "$used" in *" $port "*) continue ;; esac
    echo "$port"
    return 0
  done
  die "no free TCP port found"
}

show_logs() {
  local f
  for f in "$LOG_MUNGED" "$LOG_CTLD" "$LOG_SLURMD"; do
    echo "----- last 30 lines of $f -----" >&2
    tail -n 30 "$f" >&2 2>/dev/null || echo "(none)" >&2
  done
}

fail_start() {
  echo "slurm_cluster: ERROR: $*" >&2
  show_logs
  do_stop >&2 || true
  exit 1
}

do_start() {
  [ "$(id -u)" -eq 0 ] || die "start needs root (slurmd runs jobs as their users, munged as munge)"
  install_packages
  id munge >/dev/null 2>&1 || die "no user 'munge' (the munge package creates it)"

  # A previous run that crashed in this WORKDIR: stop what it left, keep nothing of its state.
  if our_pid "$PID_CTLD" slurmctld >/dev/null || our_pid "$PID_SLURMD" slurmd >/dev/null ||
    our_pid "$PID_MUNGED" munged >/dev/null || [ -n "$(our_stepds)" ] ||
    pgrep -f -- "$WORKDIR/spool/job" >/dev/null; then
    say "daemons of an earlier run in $WORKDIR are still running: stopping them first"
    do_stop
  fi
  rm -f "$PID_SLURMD" "$PID_CTLD" "$PID_MUNGED" "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  rm -rf "$WORKDIR/spool" "$WORKDIR/state"
  mkdir -p "$WORKDIR/etc" "$WORKDIR/state" "$WORKDIR/spool" "$WORKDIR/log" "$WORKDIR/run" \
    "$MUNGE_DIR"
  local f
  for f in "$LOG_CTLD" "$LOG_SLURMD" "$LOG_MUNGED"; do
    if [ -f "$f" ]; then mv -f "$f" "$f.old"; fi
  done

  # munged (as user munge) must reach its files: WORKDIR and its parents need o+x (mktemp -d
  # makes 0700 folders). Its own folder belongs to munge, 0755 (munged refuses a folder that
  # others may write to); the key is 1024 random bytes, munge-owned, mode 0400.
  chmod o+x "$WORKDIR"
  runuser -u munge -- test -x "$WORKDIR" ||
    die "user munge cannot enter $WORKDIR: make its parent folders world-searchable (o+x)"
  chown munge:munge "$MUNGE_DIR"
  chmod 0755 "$MUNGE_DIR"
  if [ ! -s "$MUNGE_DIR/munge.key" ]; then
    rm -f "$MUNGE_DIR/munge.key"
    dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none
  fi
  chown munge:munge "$MUNGE_DIR/munge.key"
  chmod 0400 "$MUNGE_DIR/munge.key"
  say "starting munged (key and socket in $MUNGE_DIR)"
  runuser -u munge -- munged --force --key-file="$MUNGE_DIR/munge.key" \
    --socket="$MUNGE_SOCKET" --pid-file="$PID_MUNGED" --log-file="$LOG_MUNGED" \
    --seed-file="$MUNGE_DIR/munged.seed" </dev/null >>"$LOG_MUNGED.out" 2>&1 ||
    fail_start "munged did not start"
  for _ in $(seq 50); do
    [ -S "$MUNGE_SOCKET" ] && our_pid "$PID_MUNGED" munged >/dev/null && break
    sleep 0.1
  done
  our_pid "$PID_MUNGED" munged >/dev/null || fail_start "munged exited"
  munge -s ok --socket="$MUNGE_SOCKET" | unmunge --socket="$MUNGE_SOCKET" >/dev/null ||
    fail_start "munge/unmunge round trip through $MUNGE_SOCKET failed"

  local node cpus mem_mb real_mb ctld_port slurmd_port addr
  node=$(hostname -s)
  [ -n "$node" ] || die "empty host name"
  cpus=$(nproc)
  mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
  # Below what slurmd finds, or it drains the node ("Low RealMemory").
  real_mb=$((mem_mb * 8 / 10))
  [ "$real_mb" -ge 1 ] || real_mb=1
  local comm="CommunicationParameters=NoInAddrAny"
  addr=$(getent ahostsv4 "$node" | awk 'NR == 1 {print $1}' || true)
  case "$addr" in
  127.*) ;;
  *)
    say "host name '$node' resolves to '${addr:-nothing}', not to a loopback address: the" \
      "daemons talk over 127.0.0.1 but listen on all addresses ('127.0.0.1 $node' in" \
      "/etc/hosts avoids that)"
    addr=127.0.0.1
    comm="#$comm"
    ;;
  esac
  ctld_port=${SLURM_CLUSTER_CTLD_PORT:-$(free_port)}
  slurmd_port=${SLURM_CLUSTER_SLURMD_PORT:-$(free_port)}
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done

  cat >"$CONF" <<EOF
# Written by tests/slurm/slurm_cluster.sh: a single-node test cluster in $WORKDIR.
ClusterName=samritest
SlurmctldHost=$node($addr)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
$comm
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a job requeued from inside itself (scontrol requeue) may start again after this.
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$WORKDIR/state
SlurmdSpoolDir=$WORKDIR/spool
SlurmctldPidFile=$PID_CTLD
SlurmdPidFile=$PID_SLURMD
SlurmctldLogFile=$LOG_CTLD
SlurmdLogFile=$LOG_SLURMD
SlurmctldDebug=info
SlurmdDebug=info
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
PlugStackConfig=$WORKDIR/etc/plugstack.conf
# Short test jobs: quick scheduling and cleanup.
SchedulerParameters=batch_sched_delay=0
MinJobAge=300
KillWait=10
NodeName=$node NodeAddr=$addr NodeHostname=$node CPUs=$cpus RealMemory=$real_mb State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$WORKDIR/etc/plugstack.conf"
  say "wrote $CONF (node $node: CPUs=$cpus RealMemory=$real_mb;" \
    "ports $ctld_port/$slurmd_port on $addr)"

  say "starting slurmctld"
  slurmctld -c -f "$CONF" </dev/null >>"$LOG_CTLD.out" 2>&1 || fail_start "slurmctld did not start"
  for _ in $(seq 100); do
    our_pid "$PID_CTLD" slurmctld >/dev/null && scontrol ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  our_pid "$PID_CTLD" slurmctld >/dev/null || fail_start "slurmctld exited"
  say "starting slurmd (node $node)"
  slurmd -f "$CONF" -N "$node" </dev/null >>"$LOG_SLURMD.out" 2>&1 ||
    fail_start "slurmd did not start"

  say "waiting up to ${WAIT_S}s for sinfo to show $node idle"
  local state="" i
  for i in $(seq $((WAIT_S * 5))); do
    state=$(sinfo -h -N -n "$node" -o %T 2>/dev/null | head -n 1 || true)
    [ "$state" = "idle" ] && break
    if ! our_pid "$PID_CTLD" slurmctld >/dev/null; then fail_start "slurmctld exited"; fi
    if [ "$i" -gt 10 ] && ! our_pid "$PID_SLURMD" slurmd >/dev/null; then
      fail_start "slurmd exited"
    fi
    sleep 0.2
  done
  [ "$state" = "idle" ] || fail_start "node $node is '${state:-unknown}' after ${WAIT_S}s, not idle"
  say "cluster up: munged $(our_pid "$PID_MUNGED" munged)," \
    "slurmctld $(our_pid "$PID_CTLD" slurmctld), slurmd $(our_pid "$PID_SLURMD" slurmd)"
  sinfo
  say "clients: export SLURM_CONF=$CONF"
}

do_status() {
  local rc=0 d
  for d in munged:"$PID_MUNGED" slurmctld:"$PID_CTLD" slurmd:"$PID_SLURMD"; do
    if pid=$(our_pid "${d#*:}" "${d%%:*}"); then
      say "${d%%:*} running (pid $pid)"
    else
      say "${d%%:*} not running"
      rc=1
    fi
  done
  return $rc
}

case "$ACTION" in
start) do_start ;;
stop)
  say "stopping the cluster in $WORKDIR"
  do_stop
  say "stopped"
  ;;
env) echo "export SLURM_CONF=$CONF" ;;
status) do_status ;;
*) die "unknown action '$ACTION' (start|stop|env|status)" ;;
esac
