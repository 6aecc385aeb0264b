#!/usr/bin/env bash
# Stop the daemons started by .ci/slurm/setup.sh, by the PIDs it recorded in $BASE/pids
# (reverse start order; TERM, then KILL after 20 s). Jobs still in the queue are cancelled first.
# Idempotent: without PID files it does nothing. Packages stay installed; /etc/slurm/slurm.conf is
# removed when setup.sh wrote it: with a config naming a controller that is down, every `scontrol`
# call waits ~9 s, and snakemake-executor-plugin-slurm 2.8.0 calls scontrol when it is imported, so
# EVERY snakemake command on the machine (even local ones) would start 9 s slower.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BASE=${BASE:-$REPO/.slurm}
if [ -s "$BASE/pids/slurmctld.pid" ] && kill -0 "$(cat "$BASE/pids/slurmctld.pid")" 2>/dev/null; then
  scancel --user="$(id -un)" 2>/dev/null || true
fi
for d in slurmd slurmctld slurmdbd mariadbd munged; do
  f="$BASE/pids/$d.pid"
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for i in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "[slurm-teardown] stopped $d ($pid)"
  fi
  rm -f "$f"
done
if grep -qs 'written by sgsweep .ci/slurm/setup.sh' /etc/slurm/slurm.conf \
   && ! { [ -s "$BASE/pids/slurmctld.pid" ] && kill -0 "$(cat "$BASE/pids/slurmctld.pid")" 2>/dev/null; }; then
  rm -f /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf
  echo "[slurm-teardown] removed /etc/slurm/slurm.conf (setup.sh writes it again)"
fi
