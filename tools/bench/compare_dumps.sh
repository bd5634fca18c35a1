#!/usr/bin/env bash
# Two parkwatch binaries side by side in one run: how long `--dump` (and
# `--dump --debug 1`) of the same target takes with each, and its peak RSS,
# for a process with 10,000 parked threads and a Go process with 100,000
# parked goroutines.  The binaries alternate dump by dump (A B A B ...) over
# R rounds; reported are the medians and the ratios after/before.  Every dump
# must exit 0 and hold the expected threads/goroutines.
# See tools/bench/README.md.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 -a BEFORE_BIN -b AFTER_BIN [-r ROUNDS] [-n THREADS] [-g GOROUTINES]
  -a BEFORE_BIN   the parkwatch to compare against (A)
  -b AFTER_BIN    the parkwatch under test (B)
  -r ROUNDS       timed rounds; each round dumps every target with A, then B
                  (default 5)
  -n THREADS      parked threads in the C target (build/targets/condwait N;
                  default 10000; 0 leaves it out)
  -g GOROUTINES   parked goroutines in the Go target
                  (build/targets/go/1.19/leaky -n N; default 100000; 0 leaves
                  it out)
Needs root.  Run from anywhere; the targets are those of the repo this
script is in.  Report on stdout, progress on stderr.
EOF
}

BIN_A=
BIN_B=
ROUNDS=5
NTHREADS=10000
NGOROUTINES=100000
READY_TIMEOUT=${READY_TIMEOUT:-300}
PARK_TIMEOUT=${PARK_TIMEOUT:-120}
TIME_BIN=${TIME_BIN-/usr/bin/time}   # empty: peak RSS from the python helper

# shellcheck source=tools/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init compare_dumps

handle_opt() {
	case $1 in
	a) BIN_A=$2 ;;
	b) BIN_B=$2 ;;
	r) ROUNDS=$2 ;;
	n) NTHREADS=$2 ;;
	g) NGOROUTINES=$2 ;;
	esac
}
bench_getopts "a:b:r:n:g:" handle_opt "$@"
[[ -n $BIN_A && -n $BIN_B ]] || { usage >&2; exit 2; }
bench_posint -r "$ROUNDS"
bench_posint -n "$NTHREADS" 0
bench_posint -g "$NGOROUTINES" 0
((NTHREADS > 0 || NGOROUTINES > 0)) || die "-n 0 and -g 0 leave nothing to dump"

# the binaries as given, relative to where we were started
for v in BIN_A BIN_B; do
	[[ -f ${!v} && -x ${!v} ]] || die "${!v} not found or not executable"
	printf -v "$v" '%s' "$(realpath "${!v}")"
done

bench_cd_root
bench_need_root "parkwatch loads BPF"
command -v python3 >/dev/null || die "python3 not found"
HELPER=(python3 "$HERE/dumpstat.py")
GO_BIN=build/targets/go/1.19/leaky
if ((NTHREADS > 0)); then
	bench_condwait_bin
fi
if ((NGOROUTINES > 0)); then
	[[ -x $GO_BIN ]] || die "$GO_BIN missing (make targets), or leave the Go target out with -g 0"
fi
RSS_FROM="wait4 rusage (python helper)"
if [[ -n $TIME_BIN ]]; then
	if [[ -x $TIME_BIN ]] && "$TIME_BIN" -v -o /dev/null true 2>/dev/null; then
		RSS_FROM="$TIME_BIN -v"
	else
		log "$TIME_BIN missing or not GNU time: peak RSS from wait4 instead"
		TIME_BIN=
	fi
fi

bench_tmpdir
TARGET_PID=
CHILD_PID=
bench_traps

RESULTS=$TMP/results.tsv
: >"$RESULTS"
: >"$TMP/stderr.log"
TARGET_LINES=()

# dump SIDE CASE ROUND EXP_KIND EXP_UNITS EXP_MARKED MARKER [ARG...]: one
# `parkwatch -p TARGET_PID --dump ARG...` with binary A or B, timed, checked,
# recorded (ROUND 0: the warm-up).  EXP_UNITS ending in + means at least.
dump() {
	local side=$1 case=$2 round=$3 exp_kind=$4 exp_units=$5 exp_marked=$6 marker=$7
	shift 7
	local bin=$BIN_A name=before rc=0 t0 wall rss counts kind units marked
	[[ $side == B ]] && bin=$BIN_B name=after
	local cmd=("$bin" -p "$TARGET_PID" --dump --min-park 0 "$@")
	if [[ -n $TIME_BIN ]]; then
		t0=$(now)
		"$TIME_BIN" -v -o "$TMP/time.out" "${cmd[@]}" >"$TMP/dump.out" 2>"$TMP/dump.err" &
		CHILD_PID=$!
		wait "$CHILD_PID" || rc=$?
		wall=$(elapsed "$t0" "$(now)")
		rss=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$TMP/time.out")
	else
		"${HELPER[@]}" run "$TMP/stats" "${cmd[@]}" >"$TMP/dump.out" 2>"$TMP/dump.err" &
		CHILD_PID=$!
		wait "$CHILD_PID" || rc=$?
		((rc == 0)) && read -r rc wall rss <"$TMP/stats"
	fi
	CHILD_PID=
	local what="$name ($bin) $case, round $round"
	((round > 0)) || what="$name ($bin) $case, warm-up"
	if ((rc != 0)); then
		tail -n 20 "$TMP/dump.err" >&2
		die "$what: exit status $rc after ${wall-?}s"
	fi
	[[ $rss =~ ^[0-9]+$ ]] || die "$what: no peak RSS ($RSS_FROM)"
	counts=$("${HELPER[@]}" count "$TMP/dump.out" "$marker") ||
		{ head -n 5 "$TMP/dump.out" >&2; die "$what: not a dump"; }
	read -r kind units marked <<<"$counts"
	local ok=1
	[[ $kind == "$exp_kind" ]] || ok=0
	if [[ $exp_units == *+ ]]; then
		((units >= ${exp_units%+})) || ok=0
	else
		((units == exp_units)) || ok=0
	fi
	((marked == exp_marked)) || ok=0
	if ((!ok)); then
		head -n 5 "$TMP/dump.err" >&2
		die "$what: printed $units ${kind}s, $marked in $marker; expected $exp_units ${exp_kind}s, $exp_marked in $marker"
	fi
	if [[ -s $TMP/dump.err ]]; then
		printf '%s\t%s\t%s\t%s\n' "$name" "$case" "$round" "$(head -n 1 "$TMP/dump.err")" >>"$TMP/stderr.log"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$round" "$side" "$wall" "$rss" \
		"$kind" "$units" "$marker" "$marked" >>"$RESULTS"
	((round > 0)) && log "$case round $round: $name ${wall}s, ${rss} KiB, $units ${kind}s"
	return 0
}

# rounds KIND EXP_UNITS EXP_MARKED MARKER LABEL: a warm-up dump with each
# binary (not timed: the first dump pays for cold caches, whichever binary
# it is), then ROUNDS rounds of: --dump with A, B, then --dump --debug 1
# with A, B.
rounds() {
	local kind=$1 units=$2 marked=$3 marker=$4 label=$5 r side
	log "$label: warm-up dumps (not timed)"
	for side in A B; do
		dump "$side" "$label: --dump" 0 "$kind" "$units" "$marked" "$marker"
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for side in A B; do
			dump "$side" "$label: --dump" "$r" "$kind" "$units" "$marked" "$marker"
		done
		for side in A B; do
			dump "$side" "$label: --dump --debug 1" "$r" "$kind" "$units" "$marked" "$marker" --debug 1
		done
	done
}

stop_target() {
	kill -KILL "$TARGET_PID" 2>/dev/null || true
	wait "$TARGET_PID" 2>/dev/null || true
	TARGET_PID=
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "A = $BIN_A, B = $BIN_B, $ROUNDS round(s); $(nproc) CPUs, load average $LOAD_START"

# ---- 1. threads --------------------------------------------------------------
if ((NTHREADS > 0)); then
	bench_raise_limits "$NTHREADS"
	log "starting build/targets/condwait $NTHREADS"
	t0=$(now)
	build/targets/condwait "$NTHREADS" >"$TMP/target.out" 2>"$TMP/target.err" &
	TARGET_PID=$!
	bench_wait_ready TARGET_PID "$TMP/target.out" "$TMP/target.err" "$READY_TIMEOUT" build/targets/condwait
	t_ready=$(elapsed "$t0" "$(now)")
	threads=$(awk '/^Threads:/ { print $2 }' "/proc/$TARGET_PID/status")
	sleeping=$(cat /proc/"$TARGET_PID"/task/*/stat 2>/dev/null | awk '{ sub(/.*\) /, ""); if ($1 == "S" || $1 == "D") n++ } END { print n + 0 }')
	((threads == NTHREADS + 1)) || die "build/targets/condwait $NTHREADS has $threads threads, not $((NTHREADS + 1))"
	TARGET_LINES+=("build/targets/condwait $NTHREADS: pid $TARGET_PID, $threads threads ($sleeping asleep), READY after ${t_ready}s")
	rounds thread "$threads" "$NTHREADS" level_three threads
	stop_target
fi

# ---- 2. goroutines -------------------------------------------------------
if ((NGOROUTINES > 0)); then
	log "starting $GO_BIN -port 0 -n $NGOROUTINES"
	t0=$(now)
	"$GO_BIN" -port 0 -n "$NGOROUTINES" >"$TMP/target.out" 2>"$TMP/target.err" &
	TARGET_PID=$!
	bench_wait_ready TARGET_PID "$TMP/target.out" "$TMP/target.err" "$READY_TIMEOUT" "$GO_BIN"
	t_ready=$(elapsed "$t0" "$(now)")
	port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$TMP/target.out")
	[[ -n $port ]] || die "$GO_BIN did not say its port"
	# READY comes 50 ms after the last `go parkedForever`: some of them may
	# not have run yet.  Ask the runtime until every one waits in its
	# channel receive.
	deadline=$((SECONDS + PARK_TIMEOUT))
	while :; do
		read -r parked gtotal < <("${HELPER[@]}" goparked \
			"http://127.0.0.1:$port/debug/pprof/goroutine?debug=2" main.parkedForever) ||
			die "cannot read the goroutines of $GO_BIN"
		((parked == NGOROUTINES)) && break
		((SECONDS < deadline)) || die "$GO_BIN: only $parked of $NGOROUTINES goroutines parked after ${PARK_TIMEOUT}s"
		sleep 1
	done
	t_parked=$(elapsed "$t0" "$(now)")
	TARGET_LINES+=("$GO_BIN -n $NGOROUTINES: pid $TARGET_PID, $parked main.parkedForever goroutines in chan receive ($gtotal in all, says the runtime), READY after ${t_ready}s, all parked after ${t_parked}s")
	# the other goroutines (HTTP server, start-up leaks, a worker pool that
	# restarts) vary a little: at least N, and exactly N in parkedForever
	rounds goroutine "$NGOROUTINES+" "$NGOROUTINES" main.parkedForever goroutines
	stop_target
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report --------------------------------------------------------------
echo
echo "before (A): $BIN_A"
echo "after  (B): $BIN_B"
echo "$ROUNDS round(s), interleaved A B; wall time by the script, peak RSS from $RSS_FROM"
echo "$(nproc) CPUs; load average $LOAD_START at the start, $LOAD_END at the end"
for l in "${TARGET_LINES[@]}"; do echo "target: $l"; done
for n in "${BENCH_NOTES[@]}"; do echo "note: $n"; done
echo
"${HELPER[@]}" report "$RESULTS"
if [[ -s $TMP/stderr.log ]]; then
	echo
	echo "stderr (the dumps still count; first line of each):"
	sort "$TMP/stderr.log" | awk -F'\t' '{ k = $1 "\t" $2 "\t" $4; if (!(k in n)) order[++m] = k; n[k]++ }
		END { for (i = 1; i <= m; i++) { split(order[i], f, "\t"); printf "  %-6s %-30s %dx: %s\n", f[1], f[2], n[order[i]], f[3] } }'
else
	echo
	echo "stderr: empty for every dump"
fi
