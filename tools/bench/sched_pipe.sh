#!/usr/bin/env bash
# Overhead of parkwatch on a context-switch-heavy workload, side by side with
# no tracer and with libbpf-tools' offcputime, in one run.
#
# `perf bench sched pipe -l L` is run in each configuration, interleaved
# (the order rotates every round) and repeated R times.  Reported: median
# ops/s and the ratio to the no-tracer runs, and for the tracers the BPF
# run time per sched_switch (kernel.bpf_stats_enabled=1 for the run).
# See tools/bench/README.md.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [-l LOOPS] [-r REPS] [-c CONFIGS] [-t ATTACH_TIMEOUT] [-C CPUS]
  -l LOOPS           perf bench sched pipe loops per run (default 200000)
  -r REPS            rounds; each round runs every config once (default 5)
  -c CONFIGS         comma-separated subset of none,parkwatch,offcputime
                     (default: all three; 'none' is the baseline for ratios)
  -t ATTACH_TIMEOUT  seconds to wait for a tracer's BPF programs (default 60)
  -C CPUS            run perf under 'taskset -c CPUS' (e.g. -C 0: both ends of
                     the pipe on one CPU, 2 switches per op, far less noise);
                     default: not pinned
Needs root.  Run from anywhere; parkwatch is ./parkwatch in the repo root.
EOF
}

LOOPS=200000
REPS=5
CONFIGS=none,parkwatch,offcputime
ATTACH_TIMEOUT=60
PIN=
OFFCPUTIME=${OFFCPUTIME:-/usr/sbin/offcputime}
PERF=${PERF:-perf}
BPFTOOL=${BPFTOOL:-bpftool}
PARKWATCH=${PARKWATCH:-./parkwatch}
export BPFTOOL

# shellcheck source=tools/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init sched_pipe

handle_opt() {
	case $1 in
	l) LOOPS=$2 ;;
	r) REPS=$2 ;;
	c) CONFIGS=$2 ;;
	t) ATTACH_TIMEOUT=$2 ;;
	C) PIN=$2 ;;
	esac
}
bench_getopts "l:r:c:t:C:" handle_opt "$@"
bench_posint -l "$LOOPS"
bench_posint -r "$REPS"
bench_posint -t "$ATTACH_TIMEOUT"

bench_cd_root
HELPER=("python3" "$HERE/bpfstats.py")

IFS=, read -r -a CFGS <<<"$CONFIGS"
((${#CFGS[@]} > 0)) || die "no configs given"
for c in "${CFGS[@]}"; do
	case $c in
	none | parkwatch | offcputime) ;;
	*) die "unknown config '$c' (want none, parkwatch, offcputime)" ;;
	esac
done
has_cfg() { [[ ",$CONFIGS," == *",$1,"* ]]; }

bench_need_root "BPF, kernel.bpf_stats_enabled"
command -v "$PERF" >/dev/null || die "perf not found (apt-get install linux-perf)"
command -v "$BPFTOOL" >/dev/null || die "bpftool not found (apt-get install bpftool)"
command -v python3 >/dev/null || die "python3 not found"
PERF_CMD=("$PERF" bench sched pipe -l "$LOOPS")
if [[ -n $PIN ]]; then
	command -v taskset >/dev/null || die "taskset not found (util-linux)"
	taskset -c "$PIN" true 2>/dev/null || die "-C '$PIN': not a usable CPU list"
	PERF_CMD=(taskset -c "$PIN" "${PERF_CMD[@]}")
fi
if has_cfg parkwatch && [[ ! -x $PARKWATCH ]]; then
	die "$PARKWATCH (from $ROOT) not found or not executable: build it first (make), or leave it out with -c none,offcputime"
fi
if has_cfg offcputime && [[ ! -x $OFFCPUTIME ]]; then
	die "$OFFCPUTIME not found (apt-get install libbpf-tools), or leave it out with -c none,parkwatch"
fi

bench_tmpdir
TRACER_PID=
PERF_PID=
OLD_STATS=

stop_tracer() {
	local pid=$TRACER_PID
	TRACER_PID=
	# TERM, not INT: background jobs of a non-interactive shell start
	# with SIGINT ignored
	bench_stop "$pid" 50
}

cleanup() {
	if [[ -n $PERF_PID ]]; then
		# perf forks the other end of the pipe, which would block forever
		# once perf is gone: kill that child too
		local kids=()
		mapfile -t kids < <(pgrep -P "$PERF_PID")
		kill -TERM "$PERF_PID" "${kids[@]}" 2>/dev/null
		wait "$PERF_PID" 2>/dev/null
	fi
	stop_tracer
}
bench_traps

OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null || die "cannot set kernel.bpf_stats_enabled=1"
BENCH_RESTORE+=("kernel.bpf_stats_enabled=$OLD_STATS")

# Anything already hooked on sched_switch distorts every config: say so.
others=$("$BPFTOOL" link show 2>/dev/null | grep -c 'tp_name sched_switch' || true)
if ((others > 0)); then
	log "warning: $others BPF link(s) already on sched_switch before the run (another tracer running?); figures are skewed:"
	"$BPFTOOL" link show 2>/dev/null | grep -B1 -A1 'tp_name sched_switch' | sed 's/^/    /' >&2 || true
fi

# start_tracer CONFIG: background the tracer, wait until its programs are
# attached; the program set goes to $TMP/tracer.json
start_tracer() {
	local cfg=$1 prefix
	rm -f "$TMP/tracer.json"
	case $cfg in
	parkwatch)
		"$PARKWATCH" --format json --interval 1s --duration 600s >/dev/null 2>"$TMP/tracer.err" &
		prefix=park_
		;;
	offcputime)
		"$OFFCPUTIME" 600 >/dev/null 2>"$TMP/tracer.err" &
		prefix=-
		;;
	esac
	TRACER_PID=$!
	local deadline=$((SECONDS + ATTACH_TIMEOUT))
	while :; do
		if ! kill -0 "$TRACER_PID" 2>/dev/null; then
			wait "$TRACER_PID" 2>/dev/null && rc=0 || rc=$?
			TRACER_PID=
			echo "--- $cfg stderr:" >&2
			tail -n 20 "$TMP/tracer.err" >&2
			die "$cfg exited (status $rc) before its BPF programs were attached"
		fi
		if "${HELPER[@]}" attached "$TRACER_PID" "$prefix" "$TMP/tracer.json"; then
			break
		fi
		if ((SECONDS >= deadline)); then
			echo "--- $cfg stderr:" >&2
			tail -n 20 "$TMP/tracer.err" >&2
			echo "--- bpftool prog show:" >&2
			"$BPFTOOL" prog show >&2 || true
			die "$cfg: BPF programs not attached after ${ATTACH_TIMEOUT}s"
		fi
		sleep 0.1
	done
}

run_one() {
	local cfg=$1 rep=$2 tracer=-
	if [[ $cfg != none ]]; then
		start_tracer "$cfg"
		tracer=$TMP/tracer.json
	fi
	"${HELPER[@]}" snap "$TMP/before.json" ${TRACER_PID:+"$TRACER_PID"}
	# in the background so that a signal reaches the trap at once
	"${PERF_CMD[@]}" >"$TMP/perf.out" 2>&1 &
	PERF_PID=$!
	local rc=0
	wait "$PERF_PID" || rc=$?
	PERF_PID=
	if ((rc != 0)); then
		cat "$TMP/perf.out" >&2
		die "perf bench sched pipe failed with status $rc ($cfg, round $rep)"
	fi
	"${HELPER[@]}" snap "$TMP/after.json" ${TRACER_PID:+"$TRACER_PID"}
	if [[ -n $TRACER_PID ]] && ! kill -0 "$TRACER_PID" 2>/dev/null; then
		local st=0
		wait "$TRACER_PID" 2>/dev/null || st=$?
		TRACER_PID=
		tail -n 20 "$TMP/tracer.err" >&2
		if ((st > 128)); then
			die "$cfg died during the run (round $rep): killed by signal $(kill -l $((st - 128)) 2>/dev/null || echo $((st - 128)))"
		fi
		die "$cfg exited during the run (round $rep) with status $st"
	fi
	stop_tracer
	"${HELPER[@]}" record "$TMP/results.jsonl" "$cfg" "$rep" "$TMP/perf.out" \
		"$TMP/before.json" "$TMP/after.json" "$tracer"
}

log "${PERF_CMD[*]}: configs ${CFGS[*]}, $REPS round(s); kernel $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
n=${#CFGS[@]}
for ((r = 1; r <= REPS; r++)); do
	for ((k = 0; k < n; k++)); do
		run_one "${CFGS[$(((k + r - 1) % n))]}" "$r"
	done
done

echo
"${HELPER[@]}" report "$TMP/results.jsonl" "${PERF_CMD[*]}"
