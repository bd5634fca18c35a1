#!/usr/bin/env bash
# Time a full stack dump of a process with many parked threads:
# `parkwatch -p PID --dump` (3 times: cold, then warm) against
# `gdb -batch -p PID -ex 'thread apply all bt'` (once), on the same process.
# See tools/bench/README.md.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [-n THREADS] [-r REPS] [-g GDB_TIMEOUT] [-G]
  -n THREADS      threads in the target (build/targets/condwait N; default 10000)
  -r REPS         parkwatch --dump runs (default 3; at least 2 for the
                  first/second ratio)
  -g GDB_TIMEOUT  seconds before gdb is given up on (default 600)
  -G              skip gdb
Needs root.  Run from anywhere; paths are relative to the repo root.
EOF
}

NTHREADS=10000
REPS=3
GDB_TIMEOUT=600
RUN_GDB=1
READY_TIMEOUT=${READY_TIMEOUT:-300}
GDB=${GDB:-gdb}
PARKWATCH=${PARKWATCH:-./parkwatch}

# shellcheck source=tools/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init dump_many_threads

handle_opt() {
	case $1 in
	n) NTHREADS=$2 ;;
	r) REPS=$2 ;;
	g) GDB_TIMEOUT=$2 ;;
	G) RUN_GDB=0 ;;
	esac
}
bench_getopts "n:r:g:G" handle_opt "$@"
bench_posint -n "$NTHREADS"
bench_posint -r "$REPS"
bench_posint -g "$GDB_TIMEOUT"

bench_cd_root
TARGET_BIN=build/targets/condwait

bench_need_root "parkwatch loads BPF; gdb attaches"
[[ -x $PARKWATCH ]] || die "$PARKWATCH (from $ROOT) not found or not executable: build it first (make)"
if ((RUN_GDB)); then
	command -v "$GDB" >/dev/null || die "gdb not found (apt-get install gdb), or skip it with -G"
	command -v timeout >/dev/null || die "timeout (coreutils) not found"
fi
bench_condwait_bin

bench_tmpdir
TARGET_PID=
CHILD_PID=
bench_traps

# ---- limits: raise only what N threads need, and say so -----------------
bench_raise_limits "$NTHREADS"

# ---- the target ----------------------------------------------------------
log "starting $TARGET_BIN $NTHREADS"
t0=$(now)
"$TARGET_BIN" "$NTHREADS" >"$TMP/target.out" 2>"$TMP/target.err" &
TARGET_PID=$!
bench_wait_ready TARGET_PID "$TMP/target.out" "$TMP/target.err" "$READY_TIMEOUT" "$TARGET_BIN"
t_ready=$(elapsed "$t0" "$(now)")
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$TARGET_PID/status")
sleeping=$(cat /proc/"$TARGET_PID"/task/*/stat 2>/dev/null | awk '{ sub(/.*\) /, ""); if ($1 == "S" || $1 == "D") n++ } END { print n + 0 }')

# ---- parkwatch --dump ----------------------------------------------------
PW_TIMES=()
for ((i = 1; i <= REPS; i++)); do
	t0=$(now)
	rc=0
	"$PARKWATCH" -p "$TARGET_PID" --dump --min-park 0 >/dev/null 2>"$TMP/pw.err" &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=
	t=$(elapsed "$t0" "$(now)")
	if ((rc != 0)); then
		tail -n 20 "$TMP/pw.err" >&2
		die "parkwatch --dump run $i failed with status $rc after ${t}s"
	fi
	PW_TIMES+=("$t")
	log "parkwatch --dump run $i: ${t}s"
done
pw_median=$(median "${PW_TIMES[@]}")
# what a dump holds (untimed, after the timed runs)
"$PARKWATCH" -p "$TARGET_PID" --dump --min-park 0 >"$TMP/dump.out" 2>/dev/null || true
dump_bytes=$(wc -c <"$TMP/dump.out")
dump_lines=$(wc -l <"$TMP/dump.out")
dump_frames=$(grep -c 'level_three' "$TMP/dump.out" || true)

# ---- gdb -----------------------------------------------------------------
gdb_status=skipped
if ((RUN_GDB)); then
	log "gdb -batch -p $TARGET_PID -ex 'thread apply all bt' (timeout ${GDB_TIMEOUT}s)"
	t0=$(now)
	rc=0
	# debuginfod off: no network here, and a lookup per library would
	# otherwise be timed too
	timeout -k 10 "$GDB_TIMEOUT" "$GDB" -nx -batch -iex 'set debuginfod enabled off' \
		-p "$TARGET_PID" -ex 'thread apply all bt' >"$TMP/gdb.out" 2>"$TMP/gdb.err" </dev/null &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=
	gdb_time=$(elapsed "$t0" "$(now)")
	gdb_threads=$(grep -c '^Thread ' "$TMP/gdb.out" || true)
	gdb_frames=$(grep -c 'level_three' "$TMP/gdb.out" || true)
	if ((rc == 124 || rc == 137)); then
		gdb_status="TIMED OUT after ${GDB_TIMEOUT}s (had printed $gdb_threads thread backtraces)"
	elif ((rc != 0)); then
		gdb_status="failed with status $rc after ${gdb_time}s"
		tail -n 5 "$TMP/gdb.err" >&2
	else
		gdb_status=ok
	fi
fi

# ---- report --------------------------------------------------------------
echo
echo "target: $TARGET_BIN $NTHREADS, pid $TARGET_PID, $threads threads ($sleeping asleep), READY after ${t_ready}s"
for n in "${BENCH_NOTES[@]}"; do echo "note: $n"; done
echo
printf '%-44s %10s\n' "command" "wall s"
for ((i = 0; i < REPS; i++)); do
	printf '%-44s %10s\n' "parkwatch -p PID --dump --min-park 0  #$((i + 1))" "${PW_TIMES[$i]}"
done
printf '%-44s %10s\n' "parkwatch median of $REPS" "$pw_median"
if ((RUN_GDB)); then
	if [[ $gdb_status == ok ]]; then
		printf '%-44s %10s\n' "gdb -batch -p PID -ex 'thread apply all bt'" "$gdb_time"
	else
		printf '%-44s %10s  %s\n' "gdb -batch -p PID -ex 'thread apply all bt'" "$gdb_time" "$gdb_status"
	fi
fi
echo
if ((REPS >= 2)); then
	echo "parkwatch first/second run:   $(ratio "${PW_TIMES[0]}" "${PW_TIMES[1]}")x"
fi
if ((RUN_GDB)); then
	if [[ $gdb_status == ok ]]; then
		echo "gdb / parkwatch (median):     $(ratio "$gdb_time" "$pw_median")x"
	else
		echo "gdb / parkwatch (median):     >= $(ratio "$gdb_time" "$pw_median")x (gdb $gdb_status)"
	fi
fi
echo
echo "output check: parkwatch dump $dump_bytes bytes, $dump_lines lines, $dump_frames mention level_three"
if ((RUN_GDB)); then
	echo "              gdb $gdb_threads thread backtraces, $gdb_frames mention level_three"
fi
