# shellcheck shell=bash
# The prologue the scripts of tools/bench share, sourced by each of them
# (not run on its own).  A script keeps its own `set` line, its defaults and
# its usage(), then:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init NAME                  # prefix of die/log; sets HERE and ROOT
#   handle_opt() { case $1 in x) X=$2 ;; esac; }
#   bench_getopts "x:" handle_opt "$@"   # -h, bad options, stray operands
#   bench_posint -x "$X"             # "-x wants a positive integer, got '...'"
#   bench_cd_root                    # paths are relative to the repo root
#   bench_need_root "why"
#   bench_tmpdir                     # TMP, removed on exit
#   bench_traps                      # EXIT: cleanup hook, sysctls, farm, TMP
#   bench_farm_start THREADS PROCS   # condwait processes, pids in FARM_PIDS
#
# Defines nothing else at top level; sets no shell options.

# bench_init NAME: NAME prefixes every message (die, log).  HERE is
# tools/bench, ROOT the repo root, both absolute.
bench_init() {
	BENCH_NAME=$1
	HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	ROOT=$(cd "$HERE/../.." && pwd)
	BENCH_RESTORE=()   # "sysctl=value" to put back on exit
	BENCH_NOTES=()     # limits raised for the run, for the report
	FARM_PIDS=()       # bench_farm_start's processes
}

die() { echo "$BENCH_NAME: error: $*" >&2; exit 1; }
log() { echo "$BENCH_NAME: $*" >&2; }
warn() { echo "$BENCH_NAME: warning: $*" >&2; }

# bench_getopts OPTSTRING HANDLER "$@": getopts over the script's arguments.
# -h prints usage() to stdout and exits 0; an unknown option, a missing
# argument or an operand prints usage() to stderr and exits 2.  Every other
# option is passed on as `HANDLER LETTER OPTARG`.
bench_getopts() {
	local optstring=$1 handler=$2 opt OPTIND=1 OPTARG
	shift 2
	while getopts "${optstring}h" opt; do
		case $opt in
		h) usage; exit 0 ;;
		\?) usage >&2; exit 2 ;;
		*) "$handler" "$opt" "${OPTARG-}" ;;
		esac
	done
	shift $((OPTIND - 1))
	(($# == 0)) || { usage >&2; exit 2; }
}

# bench_posint OPTION VALUE [0]: VALUE must be a positive integer (or 0 too,
# with a third argument).
bench_posint() {
	if [[ ${3-} == 0 ]]; then
		[[ $2 =~ ^(0|[1-9][0-9]*)$ ]] || die "$1 wants 0 or a positive integer, got '$2'"
	else
		[[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 wants a positive integer, got '$2'"
	fi
}

bench_cd_root() { cd "$ROOT" || exit; }

bench_need_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root ($1)"
}

bench_tmpdir() {
	TMP=$(mktemp -d /tmp/parkwatch-bench.XXXXXX)
}

# On every exit path (normal end, die, Ctrl-C, SIGTERM, SIGHUP): the
# script's cleanup() if it has one, then CHILD_PID stopped (TERM first:
# timeout(1) passes it on), the farm and TARGET_PID killed when set, then the sysctls
# back, then TMP gone, and the exit status kept.  All of it runs with
# errexit off, so one failed kill or wait does not skip the rest.
_bench_on_exit() {
	local rc=$? kv
	trap - EXIT INT TERM HUP
	set +e
	if declare -F cleanup >/dev/null; then
		cleanup
	fi
	bench_stop "${CHILD_PID-}"
	bench_farm_stop
	if [[ -n ${TARGET_PID-} ]]; then
		kill -KILL "$TARGET_PID" 2>/dev/null
		wait "$TARGET_PID" 2>/dev/null
	fi
	for kv in "${BENCH_RESTORE[@]}"; do
		sysctl -q -w "$kv" >/dev/null || warn "could not restore $kv"
	done
	[[ -n ${TMP-} ]] && rm -rf "$TMP"
	exit "$rc"
}

bench_traps() {
	trap _bench_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# bench_stop PID [TRIES]: TERM, up to TRIES/10 s (default 2 s) for it to go,
# then KILL; reaps it.  Never fails (safe under errexit).
bench_stop() {
	local pid=$1 tries=${2:-20} i
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < tries; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# ---- targets with many threads ---------------------------------------------

# bench_raise_limits N: raise kernel.threads-max, kernel.pid_max,
# vm.max_map_count and `ulimit -u` only as far as a process with N threads
# needs, each with a line in BENCH_NOTES; the sysctls are restored on exit.
# (ulimit -u holds for this shell and its children.)
bench_raise_limits() {
	local need=$(($1 + 1)) total_tasks nproc_soft nproc_hard want
	total_tasks=$(awk '{split($4, a, "/"); print a[2]}' /proc/loadavg)
	_bench_raise_sysctl kernel.threads-max $((total_tasks + need + 1024))
	_bench_raise_sysctl kernel.pid_max $((total_tasks + need + 1024))
	# every thread stack is two mappings (stack + guard page)
	_bench_raise_sysctl vm.max_map_count $((2 * need + 4096))
	nproc_soft=$(ulimit -S -u)
	if [[ $nproc_soft != unlimited ]] && ((nproc_soft < total_tasks + need)); then
		want=$((total_tasks + need + 1024))
		nproc_hard=$(ulimit -H -u)
		if [[ $nproc_hard != unlimited ]] && ((nproc_hard < want)); then
			ulimit -H -u "$want" || die "cannot raise the hard ulimit -u from $nproc_hard to $want"
		fi
		ulimit -S -u "$want" || die "cannot raise ulimit -u from $nproc_soft to $want"
		BENCH_NOTES+=("raised ulimit -u (this shell and its children) from $nproc_soft to $want")
	fi
}

_bench_raise_sysctl() { # name wanted
	local name=$1 want=$2 cur
	cur=$(sysctl -n "$name")
	if ((cur < want)); then
		sysctl -q -w "$name=$want" >/dev/null || die "cannot raise $name from $cur to $want"
		# only the value from before the run goes back, when raised twice
		[[ " ${BENCH_RESTORE[*]} " == *" $name="* ]] || BENCH_RESTORE+=("$name=$cur")
		BENCH_NOTES+=("raised $name from $cur to $want for this run (restored on exit)")
	fi
}

# bench_condwait_bin: build/targets/condwait, compiled here if missing.
# Run from ROOT.
bench_condwait_bin() {
	local bin=build/targets/condwait src=tests/targets/condwait.c
	if [[ ! -x $bin ]]; then
		[[ -f $src ]] || die "$bin not built and $src does not exist"
		log "$bin missing: compiling $src"
		mkdir -p build/targets
		cc -g -O2 -pthread -o "$bin" "$src" || die "cannot compile $src"
	elif [[ -f $src && $src -nt $bin ]]; then
		log "warning: $src is newer than $bin (run make?); using the binary as is"
	fi
}

# bench_wait_ready PIDVAR OUT ERR TIMEOUT WHAT: wait until the target whose
# pid is in the variable PIDVAR printed a line starting with READY to OUT.
# Dies (with the end of ERR) if it exits first, after clearing PIDVAR (it is
# reaped: the pid may be reused), or if it takes more than TIMEOUT seconds.
bench_wait_ready() {
	local -n _pid=$1
	local out=$2 err=$3 timeout=$4 what=$5 deadline rc
	deadline=$((SECONDS + timeout))
	until grep -q '^READY' "$out" 2>/dev/null; do
		if ! kill -0 "$_pid" 2>/dev/null; then
			wait "$_pid" 2>/dev/null && rc=0 || rc=$?
			_pid=
			tail -n 20 "$err" >&2
			die "$what exited (status $rc) before READY"
		fi
		((SECONDS < deadline)) || die "$what not READY after ${timeout}s"
		sleep 0.1
	done
}

# bench_wait_goroutines URL N WHAT: poll the Go target's debug=2 dump at URL
# (with HELPER, dumpstat.py) until N goroutines are parked in
# main.parkedForever, for PARK_TIMEOUT seconds at most; the target's total
# goes to GOROUTINES_TOTAL.
bench_wait_goroutines() {
	local url=$1 n=$2 what=$3 parked deadline
	deadline=$((SECONDS + PARK_TIMEOUT))
	while :; do
		# shellcheck disable=SC2034 # GOROUTINES_TOTAL is the caller's
		read -r parked GOROUTINES_TOTAL < <("${HELPER[@]}" goparked "$url" main.parkedForever) ||
			die "cannot read the goroutines of $what"
		((parked == n)) && break
		((SECONDS < deadline)) || die "$what: only $parked of $n goroutines parked after ${PARK_TIMEOUT}s"
		sleep 1 # poll interval of a deadline loop
	done
}

# ---- farms: parked threads spread over many processes ---------------------

# bench_farm_start THREADS PROCS: PROCS processes of build/targets/condwait
# with THREADS/PROCS parked threads each (THREADS a multiple of PROCS),
# started BENCH_FARM_BATCH at a time (default 10) so that each one's own
# 5 s deadline for its threads to fall asleep holds on a busy machine.  The
# limits are raised for all of them (bench_raise_limits).  Their pids go to
# FARM_PIDS; they are killed by bench_farm_stop, which the exit handler
# calls.  Run from ROOT, after bench_tmpdir.
bench_farm_start() {
	local threads=$1 procs=$2 batch=${BENCH_FARM_BATCH:-10} each i j
	((threads % procs == 0)) || die "$threads threads do not split evenly over $procs processes"
	each=$((threads / procs))
	bench_condwait_bin
	# the condwait threads, the main thread of each process
	bench_raise_limits $((threads + procs))
	mkdir -p "$TMP/farm"
	FARM_PIDS=()
	for ((i = 0; i < procs; i += batch)); do
		for ((j = i; j < procs && j < i + batch; j++)); do
			build/targets/condwait "$each" >"$TMP/farm/$j.out" 2>"$TMP/farm/$j.err" &
			FARM_PIDS+=("$!")
		done
		for ((j = i; j < procs && j < i + batch; j++)); do
			bench_wait_ready "FARM_PIDS[$j]" "$TMP/farm/$j.out" "$TMP/farm/$j.err" "${READY_TIMEOUT:-300}" \
				"condwait $each (process $((j + 1)) of $procs)"
		done
	done
}

# bench_farm_stop: kills and reaps the processes of bench_farm_start.  Never
# fails (safe under errexit).
bench_farm_stop() {
	local pid
	for pid in "${FARM_PIDS[@]}"; do
		[[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in "${FARM_PIDS[@]}"; do
		[[ -z $pid ]] || wait "$pid" 2>/dev/null || true
	done
	FARM_PIDS=()
}

# ---- figures ---------------------------------------------------------------

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# median of the arguments, printed with FORMAT (default %.3f)
median() {
	local fmt=${MEDIAN_FMT:-%.3f}
	printf '%s\n' "$@" | sort -g |
		awk -v f="$fmt" '{ v[NR] = $1 } END { if (NR % 2) printf f, v[(NR + 1) / 2]; else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
