#!/usr/bin/env bash
# make test-slurm: runs `elmbench reproduce fig2 --tier smoke --emit slurm` on a real Slurm.
#
# It starts a private single-node cluster (munged, slurmctld, slurmd) in a fresh temporary
# folder, with a slurm.conf for this host (node name from `hostname -s`, CPUs from `nproc`,
# memory from `free`) and its own ports, munge socket and key; submits the emitted jobs the way a
# user does (submit.sh, from another folder, with elmbench not on PATH); waits for them by
# polling squeue; requires every array task and the final assembly job COMPLETED in Slurm's job
# completion log; checks runs.csv, summary.md, the figures and the golden check. On the way out,
# also on failure, it cancels its jobs and stops exactly the daemons it started, by PID.
#
# Needs Debian's (or Ubuntu's) packages: apt-get install slurmctld slurmd slurm-client munge
# (installed only when asked: SLURM_INSTALL=1, as root). Without them it says SKIPPED and succeeds, unless
# ELMBENCH_REQUIRE_SLURM=1 (CI), where it fails. Run as root or as a user who may start the
# daemons; the cluster's files stay in the temporary folder (kept on failure, for its logs).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
elmbench="${ELMBENCH:-$repo/target/release/elmbench}"
timeout_s="${SLURM_TEST_TIMEOUT:-600}"
export PATH="$PATH:/usr/sbin:/sbin"

packages="slurmctld slurmd slurm-client munge"
missing_tools() {
    missing=()
    for tool in munged mungekey slurmctld slurmd sbatch squeue scancel; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
}
missing_tools
if ((${#missing[@]})) && [[ "${SLURM_INSTALL:-0}" == 1 ]]; then
    # Only when asked (make test-slurm SLURM_INSTALL=1): Debian's packages, as root.
    echo "test-slurm: installing $packages" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages >/dev/null; }
    missing_tools
fi
if ((${#missing[@]})); then
    message="make test-slurm needs ${missing[*]} (Debian: apt-get install $packages, or make test-slurm SLURM_INSTALL=1)"
    if [[ "${ELMBENCH_REQUIRE_SLURM:-0}" == 1 ]]; then
        echo "FAILED: $message" >&2
        exit 1
    fi
    echo "SKIPPED: $message" >&2
    exit 0
fi
[[ -x "$elmbench" ]] || { echo "FAILED: no binary at $elmbench (run make build)" >&2; exit 1; }

work="$(mktemp -d /tmp/elmbench-slurm.XXXXXX)"
pids=()
jobs_submitted=()
finish() {
    local status=$?
    if ((${#jobs_submitted[@]})); then
        scancel "${jobs_submitted[@]}" >/dev/null 2>&1 || true
    fi
    # Only the daemons this script started, by the PIDs it recorded; TERM, then KILL after 10 s.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if ((status == 0)); then
        rm -rf "$work"
        echo "test-slurm: passed"
    else
        echo "test-slurm: FAILED; the cluster's logs and results are in $work" >&2
        tail -n 20 "$work"/*.log "$work"/results/fig2/smoke/slurm/logs/*.log 2>/dev/null >&2 || true
    fi
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ctld_port="$(free_port)"
slurmd_port="$(free_port)"
while [[ "$slurmd_port" == "$ctld_port" ]]; do slurmd_port="$(free_port)"; done

node="$(hostname -s)"
cpus="$(nproc)"
memory_mb="$(free -m | awk '/^Mem:/ { print int($2 * 0.9) }')"
mkdir -p "$work/munge" "$work/state" "$work/spool"
chmod 755 "$work" "$work/munge"
mungekey --create --keyfile="$work/munge/munge.key" --bits=1024
chmod 600 "$work/munge/munge.key"

cat >"$work/slurm.conf" <<EOF
ClusterName=elmbench-test
SlurmctldHost=$node
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobCompType=jobcomp/filetxt
JobCompLoc=$work/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$node CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"

munged --foreground --force --socket="$work/munge/munge.socket" --key-file="$work/munge/munge.key" \
    --log-file="$work/munged.log" --pid-file="$work/munged.pid" --seed-file="$work/munge/seed" \
    >"$work/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S "$work/munge/munge.socket" ]] && break; sleep 0.1; done
[[ -S "$work/munge/munge.socket" ]] || { echo "munged did not start" >&2; exit 1; }
slurmctld -D -i -f "$work/slurm.conf" >"$work/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$work/slurm.conf" >"$work/slurmd.out" 2>&1 &
pids+=($!)
started=$SECONDS
until sinfo -h -o '%t' 2>/dev/null | grep -qx 'idle'; do
    ((SECONDS - started < 30)) || { echo "the node did not become idle in 30 s" >&2; sinfo >&2 || true; exit 1; }
    sleep 0.2
done
echo "test-slurm: cluster up on $node ($cpus CPUs, $memory_mb MB) in $((SECONDS - started)) s"

# Emit and submit as a user does: from another folder, with a PATH that has no elmbench on it.
results="$work/results"
data="$work/data"
"$elmbench" reproduce fig2 --tier smoke --emit slurm --root "$repo" --results "$results" --data-dir "$data" \
    --cpus-per-task 1 --time 0:20:00
slurm_dir="$results/fig2/smoke/slurm"
[[ -d "$slurm_dir/logs" ]] || { echo "the log folder was not made before submission" >&2; exit 1; }
submitted="$(cd / && env PATH=/usr/bin:/bin:/usr/sbin:/sbin bash "$slurm_dir/submit.sh")"
echo "$submitted"
array_job="$(sed -n 's/^submitted array job \([0-9]*\) .*/\1/p' <<<"$submitted")"
final_job="$(sed -n 's/.* assembly job \([0-9]*\)$/\1/p' <<<"$submitted")"
[[ -n "$array_job" && -n "$final_job" ]] || { echo "could not read the job ids" >&2; exit 1; }
jobs_submitted=("$array_job" "$final_job")
tasks="$(sed -n 's/^#SBATCH --array=0-\([0-9]*\)$/\1/p' "$slurm_dir/array.sbatch")"
tasks=$((tasks + 1))

started=$SECONDS
while [[ -n "$(squeue -h -j "$array_job,$final_job" -o '%i' 2>/dev/null)" ]]; do
    ((SECONDS - started < timeout_s)) || { echo "jobs still queued after $timeout_s s" >&2; squeue >&2; exit 1; }
    sleep 1
done
echo "test-slurm: $tasks array tasks and the assembly job ended in $((SECONDS - started)) s"
jobs_submitted=()

# Every array task and the final job COMPLETED, as Slurm itself recorded them.
sleep 1 # the completion log is written as the job ends; give the last line a moment
completed="$(grep -c "ArrayJobId=$array_job .*" "$work/jobcomp.txt" || true)"
ok_tasks="$(grep "ArrayJobId=$array_job " "$work/jobcomp.txt" | grep -c 'JobState=COMPLETED' || true)"
if [[ "$ok_tasks" != "$tasks" || "$completed" != "$tasks" ]]; then
    echo "expected $tasks COMPLETED array tasks, Slurm recorded $ok_tasks of $completed:" >&2
    grep "ArrayJobId=$array_job " "$work/jobcomp.txt" | sed 's/ ReservationName.*//' >&2 || true
    exit 1
fi
grep -q "^JobId=$final_job .*JobState=COMPLETED" "$work/jobcomp.txt" || {
    echo "the assembly job did not complete:" >&2
    grep "^JobId=$final_job " "$work/jobcomp.txt" >&2 || true
    exit 1
}

# The results: a row per run, the summary, the figures, and the golden check's verdict.
runs_csv="$results/fig2/smoke/runs.csv"
rows=$(($(wc -l <"$runs_csv") - 1))
[[ "$rows" == "$tasks" ]] || { echo "runs.csv has $rows rows, expected $tasks" >&2; exit 1; }
if grep -q ',failed,' "$runs_csv"; then echo "a run failed: $runs_csv" >&2; exit 1; fi
[[ -s "$results/fig2/smoke/summary.md" ]] || { echo "no summary.md" >&2; exit 1; }
ls "$results"/fig2/smoke/*.svg >/dev/null 2>&1 || { echo "no figures were drawn" >&2; exit 1; }
assembly_log="$(ls "$slurm_dir"/logs/assemble_*.log)"
grep -Eq '^([0-9]+) of \1 checks passed\.$' "$assembly_log" || {
    echo "the assembly job did not run the golden check:" >&2
    cat "$assembly_log" >&2
    exit 1
}
echo "test-slurm: $rows rows, summary, figures and golden check (log: $(basename "$assembly_log"))"
