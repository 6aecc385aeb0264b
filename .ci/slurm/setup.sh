#!/usr/bin/env bash
# Install (if needed) and start a single-node SLURM 22.05 cluster on this Debian 12 machine.
#
# Verified recipe: ../shared/reference/slurm_local.md. Runs as root, no systemd, no cgroups: every
# daemon (munged, [mariadbd, slurmdbd,] slurmctld, slurmd) is started by hand and its PID recorded in
# $BASE/pids/<daemon>.pid; .ci/slurm/teardown.sh stops exactly those PIDs.
#
#   bash .ci/slurm/setup.sh            # no accounting DB (default): use slurm-status-command: squeue
#   ACCT=dbd bash .ci/slurm/setup.sh   # + MariaDB + slurmdbd, so that sacct works
#
# Environment: BASE (default <repo>/.slurm; state, spool, logs and PID files live there),
# ACCT (none|dbd), SKIP_APT=1 (never call apt; fail if the packages are missing).
# Idempotent and fast: when the cluster recorded in $BASE is already up it prints its state and exits
# (about 0.1 s); apt is called only when a binary is missing. Exit code 0 = `srun hostname` worked.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BASE=${BASE:-$REPO/.slurm}
ACCT=${ACCT:-none}
export DEBIAN_FRONTEND=noninteractive
t0=$(date +%s.%N)
log() { echo "[slurm-setup] $*"; }
alive() { [ -s "$BASE/pids/$1.pid" ] && kill -0 "$(cat "$BASE/pids/$1.pid")" 2>/dev/null; }

if [ "$(id -u)" != 0 ]; then
  echo "[slurm-setup] must run as root (starts slurmctld/slurmd/munged)" >&2; exit 2
fi
mkdir -p "$BASE"/{state,spool,log,run,pids}

# ---------------------------------------------------------------- 0. already up?
if alive slurmctld && alive slurmd && scontrol ping 2>/dev/null | grep -q UP \
   && sinfo -h -o %t 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then
  log "cluster already running (slurmctld $(cat "$BASE/pids/slurmctld.pid"), slurmd $(cat "$BASE/pids/slurmd.pid")); nothing to do"
  sinfo
  exit 0
fi

# ---------------------------------------------------------------- 1. packages (only if missing)
need=()
for b in /usr/sbin/slurmctld:slurmctld /usr/sbin/slurmd:slurmd /usr/bin/sbatch:slurm-client /usr/sbin/munged:munge; do
  [ -x "${b%%:*}" ] || need+=("${b##*:}")
done
if [ "$ACCT" = dbd ]; then
  [ -x /usr/sbin/slurmdbd ] || need+=(slurmdbd)
  [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "${SKIP_APT:-0}" = 1 ]; then echo "[slurm-setup] missing packages: ${need[*]} (SKIP_APT=1)" >&2; exit 3; fi
  log "apt-get install ${need[*]}"
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
t_apt=$(date +%s.%N)

# ---------------------------------------------------------------- 2. munge
if [ ! -s /etc/munge/munge.key ]; then          # the Debian postinst normally creates it
  mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
if ! munge -n 2>/dev/null | unmunge 2>/dev/null | grep -q 'STATUS: *Success'; then
  install -d -o munge -g munge -m 755 /run/munge
  runuser -u munge -- /usr/sbin/munged --force  # forks; PID goes to /run/munge/munged.pid
  for i in $(seq 1 40); do [ -S /run/munge/munge.socket.2 ] && [ -s /run/munge/munged.pid ] && break; sleep 0.25; done
  cp /run/munge/munged.pid "$BASE/pids/munged.pid"
  munge -n | unmunge | grep -q 'STATUS: *Success'
  log "munged started (pid $(cat "$BASE/pids/munged.pid"))"
else
  log "munge already works (not started by this script unless recorded in $BASE/pids)"
fi

# ---------------------------------------------------------------- 3. stop half-started leftovers of ours
for d in slurmd slurmctld; do
  if alive $d; then kill -TERM "$(cat "$BASE/pids/$d.pid")"; sleep 1; fi
  rm -f "$BASE/pids/$d.pid"
done

# ---------------------------------------------------------------- 4. slurm.conf
H=$(hostname -s)
MEM=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
CPUS=$(nproc)
if [ "$ACCT" = dbd ]; then
  ACCT_LINES="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux"
else
  ACCT_LINES="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi
mkdir -p /etc/slurm
cat > /etc/slurm/slurm.conf <<CONF
# Minimal single-node Slurm 22.05 for CI, written by sgsweep .ci/slurm/setup.sh:
# no cgroups, no systemd, daemons run as root.
ClusterName=ci
SlurmctldHost=${H}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
StateSaveLocation=${BASE}/state
SlurmdSpoolDir=${BASE}/spool
SlurmctldPidFile=${BASE}/run/slurmctld.pid
SlurmdPidFile=${BASE}/run/slurmd.pid
SlurmctldLogFile=${BASE}/log/slurmctld.log
SlurmdLogFile=${BASE}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
${ACCT_LINES}
JobCompType=jobcomp/none
# keep finished jobs visible to squeue for 5 min: the snakemake plugin trusts 'squeue' only when
# MinJobAge >= 3 x slurm-init-seconds-before-status-checks
MinJobAge=300
InactiveLimit=0
KillWait=30
Waittime=0
NodeName=${H} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

# ---------------------------------------------------------------- 4b. optional accounting DB
if [ "$ACCT" = dbd ]; then
  install -d -o mysql -g mysql /run/mysqld
  if ! alive mariadbd; then
    [ -d "$BASE/mysql/mysql" ] || mariadb-install-db --user=root --datadir="$BASE/mysql" \
        --auth-root-authentication-method=socket --skip-test-db > "$BASE/log/mariadb-install.log" 2>&1
    nohup /usr/sbin/mariadbd --user=root --datadir="$BASE/mysql" --socket=/run/mysqld/mysqld.sock \
        --pid-file="$BASE/run/mariadbd.pid" --bind-address=127.0.0.1 \
        --innodb-buffer-pool-size=256M --innodb-lock-wait-timeout=900 \
        --log-error="$BASE/log/mariadb.err" > "$BASE/log/mariadb.stdout" 2>&1 &
    echo $! > "$BASE/pids/mariadbd.pid"
  fi
  for i in $(seq 1 60); do mariadb-admin --socket=/run/mysqld/mysqld.sock ping >/dev/null 2>&1 && break; sleep 1; done
  mariadb --socket=/run/mysqld/mysqld.sock -u root <<'SQL'
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmci';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL
  cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
DebugLevel=info
LogFile=${BASE}/log/slurmdbd.log
PidFile=${BASE}/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurmci
StorageLoc=slurm_acct_db
CONF
  chmod 600 /etc/slurm/slurmdbd.conf
  if ! alive slurmdbd; then
    nohup /usr/sbin/slurmdbd -D > "$BASE/log/slurmdbd.stdout" 2>&1 &
    echo $! > "$BASE/pids/slurmdbd.pid"
  fi
  for i in $(seq 1 60); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 1; done
  sacctmgr -i add cluster ci >/dev/null 2>&1 || true
  sacctmgr -i add account ci Description=ci Organization=ci >/dev/null 2>&1 || true
  sacctmgr -i add user root Account=ci DefaultAccount=ci >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------- 5. slurmctld + slurmd
# -c: start from a clean job state (no jobs left over from an earlier cluster in $BASE)
nohup /usr/sbin/slurmctld -D -c -i > "$BASE/log/slurmctld.stdout" 2>&1 &
echo $! > "$BASE/pids/slurmctld.pid"
for i in $(seq 1 120); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.25; done
nohup /usr/sbin/slurmd -D > "$BASE/log/slurmd.stdout" 2>&1 &
echo $! > "$BASE/pids/slurmd.pid"
for i in $(seq 1 240); do sinfo -h -o %t 2>/dev/null | grep -q '^idle' && break; sleep 0.25; done
if ! sinfo -h -o %t | grep -q '^idle'; then
  echo "[slurm-setup] node did not become idle; see $BASE/log" >&2
  tail -n 20 "$BASE/log/slurmctld.log" "$BASE/log/slurmd.log" >&2 || true
  exit 4
fi
sinfo
srun -t 1 hostname >/dev/null
t_up=$(date +%s.%N)
log "up: slurmctld $(cat "$BASE/pids/slurmctld.pid"), slurmd $(cat "$BASE/pids/slurmd.pid"), ACCT=$ACCT, BASE=$BASE"
python3 -c "import snakemake_executor_plugin_slurm" 2>/dev/null \
  || log "WARNING: snakemake-executor-plugin-slurm not importable by python3 (pip install -e . installs it)"
awk -v a="$t0" -v b="$t_apt" -v c="$t_up" \
  'BEGIN { printf "[slurm-setup] TIMING apt=%.1fs daemons+smoke=%.1fs total=%.1fs\n", b-a, c-b, c-a }'
