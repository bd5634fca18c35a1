#!/usr/bin/env bash
# How the cost of one snapshot grows: `parkwatch --dump` wall time (best of
# REPS) and peak RSS for N parked threads spread over P processes, and for
# N parked goroutines in one Go process, beside gdb's `thread apply all bt`
# (threads) and the Go runtime's own debug=1 and debug=2 dumps (goroutines)
# of the same processes, in the same run.  Prints one markdown table.
# See tools/bench/README.md.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [-q] [-t "THREADS..."] [-P "PROCS..."] [-g "GOROUTINES..."] [-r REPS]
          [-l GDB_LIMIT] [-G] [-R RELEASE]
  -t THREADS      parked thread counts (default "1000 10000 50000"; "" for none)
  -P PROCS        process counts each thread count is spread over
                  (default "1 10 200"): build/targets/condwait THREADS/PROCS
                  in each
  -g GOROUTINES   parked goroutine counts, leaky -n (default
                  "10000 100000 300000"; "" for none)
  -r REPS         timed runs of each side per case; the best counts (default 3)
  -l GDB_LIMIT    seconds gdb may take for all processes of a case together
                  (default 120); past it the table says "> GDB_LIMIT"
  -G              skip gdb
  -R RELEASE      the Go release of build/targets/go/RELEASE/leaky (default 1.19)
  -q              quick: 10000 threads in 1 and 200 processes and 100000
                  goroutines, without gdb (-t, -P, -g given too win)
Needs root.  Run from anywhere; the targets are those of the repo this
script is in.  Report on stdout, progress on stderr.
EOF
}

THREAD_COUNTS="1000 10000 50000"
PROC_COUNTS="1 10 200"
GOROUTINE_COUNTS="10000 100000 300000"
REPS=3
GDB_LIMIT=120
RUN_GDB=1
RELEASE=1.19
QUICK=0
READY_TIMEOUT=${READY_TIMEOUT:-300}
PARK_TIMEOUT=${PARK_TIMEOUT:-120}
PARKWATCH=${PARKWATCH:-./parkwatch}
GDB=${GDB:-gdb}
TIME_BIN=${TIME_BIN:-/usr/bin/time}

# shellcheck source=tools/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init scaling

given=""
handle_opt() {
	given+=$1
	case $1 in
	t) THREAD_COUNTS=$2 ;;
	P) PROC_COUNTS=$2 ;;
	g) GOROUTINE_COUNTS=$2 ;;
	r) REPS=$2 ;;
	l) GDB_LIMIT=$2 ;;
	G) RUN_GDB=0 ;;
	R) RELEASE=$2 ;;
	q) QUICK=1 ;;
	esac
}
bench_getopts "t:P:g:r:l:GR:q" handle_opt "$@"
if ((QUICK)); then
	[[ $given == *t* ]] || THREAD_COUNTS=10000
	[[ $given == *P* ]] || PROC_COUNTS="1 200"
	[[ $given == *g* ]] || GOROUTINE_COUNTS=100000
	[[ $given == *l* ]] || RUN_GDB=0
fi
for n in $THREAD_COUNTS; do bench_posint -t "$n"; done
for n in $PROC_COUNTS; do bench_posint -P "$n"; done
for n in $GOROUTINE_COUNTS; do bench_posint -g "$n"; done
bench_posint -r "$REPS"
bench_posint -l "$GDB_LIMIT"
[[ $RELEASE =~ ^1\.[0-9]+$ ]] || die "-R: '$RELEASE' is not a release like 1.19"

bench_cd_root
bench_need_root "parkwatch loads BPF; gdb attaches"
[[ -x $PARKWATCH ]] || die "$PARKWATCH (from $ROOT) not found or not executable: build it first (make)"
[[ -x $TIME_BIN ]] || die "$TIME_BIN (GNU time, for the peak RSS) not found (apt-get install time)"
if ((RUN_GDB)) && [[ -n $THREAD_COUNTS ]]; then
	command -v "$GDB" >/dev/null || die "gdb not found (apt-get install gdb), or skip it with -G"
fi
HELPER=(python3 "$HERE/dumpstat.py")
GO_BIN=build/targets/go/$RELEASE/leaky

bench_tmpdir
TARGET_PID=
CHILD_PID=
bench_traps

if [[ -n $GOROUTINE_COUNTS ]]; then
	log "make $GO_BIN"
	make -s --no-print-directory "$GO_BIN" >&2 || die "make $GO_BIN failed"
fi

# timed_dump OUT ARGS...: one `parkwatch ARGS --dump --min-park 0 > OUT`;
# sets DUMP_S (wall, by the script) and DUMP_KIB (peak RSS, GNU time's %M),
# or dies with the dump's status and the first line of its stderr
timed_dump() {
	local out=$1 t0 rc=0
	shift
	t0=$(now)
	"$TIME_BIN" -f %M -o "$TMP/time.out" "$PARKWATCH" "$@" --dump --min-park 0 \
		>"$out" 2>"$TMP/dump.err" &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=
	DUMP_S=$(elapsed "$t0" "$(now)")
	((rc == 0)) || die "parkwatch --dump exited with status $rc: $(head -n 1 "$TMP/dump.err")"
	DUMP_KIB=$(tail -n 1 "$TMP/time.out")
}

# check_dump OUT KIND MARKER WANT: the dump in OUT holds KIND units, exactly
# WANT of them with MARKER in their stack; sets UNITS
check_dump() {
	local kind units marked
	if ! read -r kind units marked < <("${HELPER[@]}" count "$1" "$3"); then
		kind=none units=0 marked=0
	fi
	if [[ $kind != "$2" || $marked != "$4" ]]; then
		log "the dump began with:"
		head -n 3 "$1" >&2
		die "the dump holds $units ${kind}s, $marked in $3 (expected $4 ${2}s in $3); its stderr: $(head -n 1 "$TMP/dump.err")"
	fi
	UNITS=$units
}

best() { printf '%s\n' "$@" | sort -g | head -n 1; }
worst() { printf '%s\n' "$@" | sort -g | tail -n 1; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# RESULT fields, tab-separated: workload procs pw_s pw_mib gdb_s debug1_s
# debug2_s check; an empty field is a side not measured, ">N" a time limit
RESULTS=$TMP/results
: >"$RESULTS"

# gdb_all PIDS...: `thread apply all bt` of each process in turn, all of them
# within GDB_LIMIT seconds; sets GDB_S (">GDB_LIMIT" if they did not finish)
# and GDB_FRAMES, the backtraces that went through level_three
gdb_all() {
	local deadline=$((SECONDS + GDB_LIMIT)) t0 pid left rc
	t0=$(now)
	GDB_S=''
	GDB_FRAMES=0
	: >"$TMP/gdb.out"
	for pid in "$@"; do
		left=$((deadline - SECONDS))
		if ((left <= 0)); then
			GDB_S=">$GDB_LIMIT"
			break
		fi
		rc=0
		# debuginfod off: no network here, and a lookup per library would
		# otherwise be timed too
		timeout -k 10 "$left" "$GDB" -nx -batch -iex 'set debuginfod enabled off' \
			-p "$pid" -ex 'thread apply all bt' >>"$TMP/gdb.out" 2>"$TMP/gdb.err" </dev/null &
		CHILD_PID=$!
		wait "$CHILD_PID" || rc=$?
		CHILD_PID=
		if ((rc == 124 || rc == 137)); then
			GDB_S=">$GDB_LIMIT"
			break
		fi
		((rc == 0)) || die "gdb -p $pid failed with status $rc: $(tail -n 1 "$TMP/gdb.err")"
	done
	GDB_FRAMES=$(grep -c 'level_three' "$TMP/gdb.out" || true)
	[[ -n $GDB_S ]] || GDB_S=$(elapsed "$t0" "$(now)")
}

thread_case() {
	local threads=$1 procs=$2 t0 pid r pws=() rss=() args=() check
	log "$threads threads in $procs process(es): starting the targets"
	t0=$(now)
	bench_farm_start "$threads" "$procs"
	for pid in "${FARM_PIDS[@]}"; do args+=(-p "$pid"); done
	log "$threads threads in $procs process(es): READY after $(elapsed "$t0" "$(now)")s"
	for ((r = 1; r <= REPS; r++)); do
		timed_dump "$TMP/dump.out" "${args[@]}"
		check_dump "$TMP/dump.out" thread level_three "$threads"
		pws+=("$DUMP_S")
		rss+=("$DUMP_KIB")
		log "  parkwatch --dump #$r: ${DUMP_S}s, $(mib "$DUMP_KIB") MiB, $UNITS threads"
	done
	check="parkwatch $UNITS threads, $threads in level_three"
	GDB_S=
	if ((RUN_GDB)); then
		log "  gdb thread apply all bt on $procs process(es), limit ${GDB_LIMIT}s"
		gdb_all "${FARM_PIDS[@]}"
		log "  gdb: ${GDB_S}s, $GDB_FRAMES backtraces through level_three"
		[[ $GDB_S == ">"* || $GDB_FRAMES == "$threads" ]] ||
			die "gdb printed $GDB_FRAMES backtraces through level_three, expected $threads"
		check+="; gdb $GDB_FRAMES in level_three"
	fi
	printf '%s threads\t%s\t%s\t%s\t%s\t\t\t%s\n' "$threads" "$procs" "$(best "${pws[@]}")" \
		"$(mib "$(worst "${rss[@]}")")" "$GDB_S" "$check" >>"$RESULTS"
	bench_farm_stop
}

go_case() {
	local n=$1 t0 port url r pws=() rss=() d1s=() d2s=() s bytes
	log "$n goroutines: starting $GO_BIN -port 0 -n $n"
	t0=$(now)
	"$GO_BIN" -port 0 -n "$n" >"$TMP/go.out" 2>"$TMP/go.err" &
	TARGET_PID=$!
	bench_wait_ready TARGET_PID "$TMP/go.out" "$TMP/go.err" "$READY_TIMEOUT" "$GO_BIN"
	port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$TMP/go.out")
	[[ -n $port ]] || die "$GO_BIN did not say its port"
	url="http://127.0.0.1:$port/debug/pprof/goroutine"
	bench_wait_goroutines "$url?debug=2" "$n" "$GO_BIN"
	log "$n goroutines: all parked ($GOROUTINES_TOTAL in all) after $(elapsed "$t0" "$(now)")s"
	for ((r = 1; r <= REPS; r++)); do
		# no budget: every goroutine is read, however long it takes
		timed_dump "$TMP/dump.out" -p "$TARGET_PID" --go-time-budget 0 --go-memory-budget 0
		check_dump "$TMP/dump.out" goroutine main.parkedForever "$n"
		pws+=("$DUMP_S")
		rss+=("$DUMP_KIB")
		read -r s bytes < <("${HELPER[@]}" fetch "$url?debug=1" "$TMP/debug1.out") ||
			die "GET $url?debug=1 failed"
		d1s+=("$s")
		read -r s bytes < <("${HELPER[@]}" fetch "$url?debug=2" "$TMP/debug2.out") ||
			die "GET $url?debug=2 failed"
		d2s+=("$s")
		log "  #$r: parkwatch ${DUMP_S}s ($(mib "$DUMP_KIB") MiB, $UNITS goroutines)," \
			"debug=1 ${d1s[-1]}s, debug=2 ${d2s[-1]}s ($((bytes / 1024)) KiB)"
	done
	printf '%s goroutines\t1\t%s\t%s\t\t%s\t%s\t%s\n' "$n" "$(best "${pws[@]}")" \
		"$(mib "$(worst "${rss[@]}")")" "$(best "${d1s[@]}")" "$(best "${d2s[@]}")" \
		"parkwatch $UNITS goroutines, $n in main.parkedForever" >>"$RESULTS"
	kill -KILL "$TARGET_PID" 2>/dev/null || true
	wait "$TARGET_PID" 2>/dev/null || true
	TARGET_PID=
}

# report: the table of the cases measured so far
report() {
echo "parkwatch: $(realpath "$PARKWATCH") ($(git rev-parse --short HEAD 2>/dev/null || echo "no git")), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$(nproc) CPUs; load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "parkwatch: -p PID (each process) --dump --min-park 0 > file, BPF load included; best of $REPS, wall by the script; peak RSS: GNU time %M, the largest of the $REPS"
((RUN_GDB)) && [[ -n $THREAD_COUNTS ]] && echo "gdb: gdb -batch -p PID -ex 'thread apply all bt', one process after the other, all within ${GDB_LIMIT}s"
[[ -n $GOROUTINE_COUNTS ]] && echo "goroutines: parkwatch with --go-time-budget 0 --go-memory-budget 0 (every goroutine read)"
[[ -n $GOROUTINE_COUNTS ]] && echo "runtime: GET /debug/pprof/goroutine?debug=1 and ?debug=2 of $GO_BIN ($(go version "$GO_BIN" 2>/dev/null | awk '{ print $2 }')), request to last byte, best of $REPS"
for n in "${BENCH_NOTES[@]}"; do echo "note: $n"; done
echo
awk -F'\t' '
	function ratio(other, pw) {
		if (other == "") return ""
		if (other ~ /^>/) return sprintf("> %.2fx", substr(other, 2) / pw)
		return sprintf("%.2fx", other / pw)
	}
	function secs(v) { return v == "" ? "" : (v ~ /^>/ ? "> " substr(v, 2) : sprintf("%.3f", v)) }
	function commas(n,  s) {
		s = ""
		for (; n >= 1000; n = int(n / 1000)) s = sprintf(",%03d", n % 1000) s
		return n s
	}
	BEGIN {
		print "| workload | processes | parkwatch --dump s | parkwatch peak RSS MiB | gdb `thread apply all bt` s | runtime debug=1 s | runtime debug=2 s | other / parkwatch |"
		print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	}
	{
		r = ""
		if ($5 != "") r = "gdb " ratio($5, $3)
		if ($6 != "") r = "debug=1 " ratio($6, $3) ", debug=2 " ratio($7, $3)
		split($1, w, " ")
		printf "| %s %s | %s | %.3f | %.1f | %s | %s | %s | %s |\n", commas(w[1]), w[2], $2, $3, $4, secs($5), secs($6), secs($7), r
	}' "$RESULTS"
echo
echo "other / parkwatch above 1: parkwatch is that many times faster."
echo "output check, every timed dump:"
awk -F'\t' '{ printf "  %s in %s process(es): %s\n", $1, $2, $8 }' "$RESULTS"
}

# a run that stops half-way (a target killed under it) still reports what
# it measured
cleanup() {
	if ((!REPORTED)) && [[ -s $RESULTS ]]; then
		echo
		echo "INCOMPLETE: the run stopped before its last case (see stderr)"
		report
	fi
}

REPORTED=0
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for threads in $THREAD_COUNTS; do
	for procs in $PROC_COUNTS; do
		thread_case "$threads" "$procs"
	done
done
for n in $GOROUTINE_COUNTS; do
	go_case "$n"
done
echo
report
REPORTED=1
