#!/usr/bin/env bash
# A local single-node Slurm cluster for tests and development: munge + slurmctld + slurmd.
#
#   scripts/slurm_cluster.sh start    install slurm-wlm and munge if missing (apt, needs root),
#                                     write a munge key and a one-node slurm.conf (this host's
#                                     short name, CPUs=2, partition "debug"), start the three
#                                     daemons and wait until `sinfo` shows the node idle and
#                                     `srun hostname` runs
#   scripts/slurm_cluster.sh stop     stop the daemons this script started, by the PIDs it recorded
#   scripts/slurm_cluster.sh status   print whether it runs (exit 0) or not (exit 1)
#
# Only daemons this script started are stopped: their PIDs are recorded in $STATE_DIR, and a
# cluster that was already running when `start` was called is left alone (and not recorded).
# Root is needed (package install, daemons); without it `start` exits 1 with the reason.
set -euo pipefail

STATE_DIR=${SLURM_CLUSTER_STATE_DIR:-/run/selfimproving-slurm}
CPUS=${SLURM_CLUSTER_CPUS:-2}
CONF=/etc/slurm/slurm.conf
HOST=$(hostname -s)

say() { echo "slurm_cluster: $*" >&2; }
fail() { say "$*"; exit 1; }

running() {  # the controller answers and our node is up
    command -v sinfo >/dev/null 2>&1 && timeout 10 sinfo -h -n "$HOST" -o %T 2>/dev/null \
        | grep -qE '^(idle|mixed|allocated|completing)'
}

install_packages() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null \
        && return
    command -v apt-get >/dev/null || fail "slurm-wlm and munge are not installed and apt-get is missing"
    say "installing slurm-wlm and munge (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q slurm-wlm munge >/dev/null; } \
        || fail "apt-get install slurm-wlm munge failed"
}

write_config() {
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge /var/spool/slurmctld \
        /var/spool/slurmd /var/log/slurm /etc/slurm
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
    chmod 400 /etc/munge/munge.key
    local memory_mb
    memory_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
    cat > "$CONF" <<CONF
# Written by scripts/slurm_cluster.sh: a one-node cluster for tests and development.
ClusterName=local
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=600
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$HOST CPUs=$CPUS RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
}

wait_for() {  # wait_for SECONDS COMMAND...: true once COMMAND succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

start_daemon() {  # start_daemon NAME PIDFILE COMMAND...: start unless its recorded PID is alive
    local name=$1 pidfile=$2; shift 2
    if [ -s "$pidfile" ] && pid_alive "$(cat "$pidfile")"; then
        return
    fi
    "$@" || fail "$name did not start (see /var/log/slurm or /var/log/munge)"
    wait_for 20 test -s "$pidfile" || fail "$name wrote no PID file $pidfile"
    cat "$pidfile" > "$STATE_DIR/$name.pid"
}

start() {
    if running; then
        say "a Slurm cluster is already running on $HOST; left as it is"
        return 0
    fi
    [ "$(id -u)" = 0 ] || fail "root is needed to install and start Slurm (running as $(id -un))"
    install_packages
    mkdir -p "$STATE_DIR"
    write_config
    start_daemon munged /run/munge/munged.pid su -s /bin/sh munge -c /usr/sbin/munged
    start_daemon slurmctld /run/slurmctld.pid /usr/sbin/slurmctld
    start_daemon slurmd /run/slurmd.pid /usr/sbin/slurmd
    wait_for 60 running || fail "the node did not come up (sinfo: $(sinfo 2>&1 | tr '\n' ' '))"
    scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
    timeout 60 srun -N1 -t 1 hostname >/dev/null || fail "srun hostname failed"
    say "running: node $HOST, $CPUS CPUs, partition debug"
}

stop() {
    local name pid
    for name in slurmd slurmctld munged; do
        [ -s "$STATE_DIR/$name.pid" ] || continue
        pid=$(cat "$STATE_DIR/$name.pid")
        if pid_alive "$pid"; then
            kill "$pid"
            wait_for 15 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$STATE_DIR/$name.pid"
    done
    say "stopped the daemons this script started"
}

status() {
    if running; then
        sinfo
        return 0
    fi
    say "not running"
    return 1
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
