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

while getopts "n:r:g:Gh" opt; do
	case $opt in
	n) NTHREADS=$OPTARG ;;
	r) REPS=$OPTARG ;;
	g) GDB_TIMEOUT=$OPTARG ;;
	G) RUN_GDB=0 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || { usage >&2; exit 2; }

die() { echo "dump_many_threads: error: $*" >&2; exit 1; }
log() { echo "dump_many_threads: $*" >&2; }

[[ $NTHREADS =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive integer, got '$NTHREADS'"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "-r wants a positive integer, got '$REPS'"
[[ $GDB_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "-g wants a positive integer, got '$GDB_TIMEOUT'"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

TARGET_BIN=build/targets/condwait
TARGET_SRC=tests/targets/condwait.c

[[ $(id -u) -eq 0 ]] || die "must run as root (parkwatch loads BPF; gdb attaches)"
[[ -x $PARKWATCH ]] || die "$PARKWATCH (from $ROOT) not found or not executable: build it first (make)"
if ((RUN_GDB)); then
	command -v "$GDB" >/dev/null || die "gdb not found (apt-get install gdb), or skip it with -G"
	command -v timeout >/dev/null || die "timeout (coreutils) not found"
fi
if [[ ! -x $TARGET_BIN ]]; then
	[[ -f $TARGET_SRC ]] || die "$TARGET_BIN not built and $TARGET_SRC does not exist"
	log "$TARGET_BIN missing: compiling $TARGET_SRC"
	mkdir -p build/targets
	cc -g -O2 -pthread -o "$TARGET_BIN" "$TARGET_SRC" || die "cannot compile $TARGET_SRC"
elif [[ -f $TARGET_SRC && $TARGET_SRC -nt $TARGET_BIN ]]; then
	log "warning: $TARGET_SRC is newer than $TARGET_BIN (run make?); using the binary as is"
fi

TMP=$(mktemp -d /tmp/parkwatch-bench.XXXXXX)
TARGET_PID=
CHILD_PID=
RESTORE=()   # "sysctl=value" to put back on exit

cleanup() {
	local rc=$? kv i
	trap - EXIT INT TERM HUP
	if [[ -n $CHILD_PID ]]; then
		# TERM first: timeout(1) passes it on to gdb
		kill -TERM "$CHILD_PID" 2>/dev/null || true
		for ((i = 0; i < 20; i++)); do
			kill -0 "$CHILD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$CHILD_PID" 2>/dev/null || true
		wait "$CHILD_PID" 2>/dev/null || true
	fi
	if [[ -n $TARGET_PID ]]; then
		kill -KILL "$TARGET_PID" 2>/dev/null || true
		wait "$TARGET_PID" 2>/dev/null || true
	fi
	for kv in "${RESTORE[@]}"; do
		sysctl -q -w "$kv" >/dev/null || echo "dump_many_threads: warning: could not restore $kv" >&2
	done
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- limits: raise only what N threads need, and say so -----------------
NOTES=()
need=$((NTHREADS + 1))
total_tasks=$(awk '{split($4, a, "/"); print a[2]}' /proc/loadavg)
raise_sysctl() { # name wanted
	local name=$1 want=$2 cur
	cur=$(sysctl -n "$name")
	if ((cur < want)); then
		sysctl -q -w "$name=$want" >/dev/null || die "cannot raise $name from $cur to $want"
		RESTORE+=("$name=$cur")
		NOTES+=("raised $name from $cur to $want for this run (restored on exit)")
	fi
}
raise_sysctl kernel.threads-max $((total_tasks + need + 1024))
raise_sysctl kernel.pid_max $((total_tasks + need + 1024))
# every thread stack is two mappings (stack + guard page)
raise_sysctl vm.max_map_count $((2 * need + 4096))
nproc_soft=$(ulimit -S -u)
if [[ $nproc_soft != unlimited ]] && ((nproc_soft < total_tasks + need)); then
	want=$((total_tasks + need + 1024))
	nproc_hard=$(ulimit -H -u)
	if [[ $nproc_hard != unlimited ]] && ((nproc_hard < want)); then
		ulimit -H -u "$want" || die "cannot raise the hard ulimit -u from $nproc_hard to $want"
	fi
	ulimit -S -u "$want" || die "cannot raise ulimit -u from $nproc_soft to $want"
	NOTES+=("raised ulimit -u (this shell and its children) from $nproc_soft to $want")
fi

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# ---- the target ----------------------------------------------------------
log "starting $TARGET_BIN $NTHREADS"
t0=$(now)
"$TARGET_BIN" "$NTHREADS" >"$TMP/target.out" 2>"$TMP/target.err" &
TARGET_PID=$!
deadline=$((SECONDS + READY_TIMEOUT))
until grep -q '^READY ' "$TMP/target.out" 2>/dev/null; do
	if ! kill -0 "$TARGET_PID" 2>/dev/null; then
		wait "$TARGET_PID" 2>/dev/null && rc=0 || rc=$?
		TARGET_PID=
		tail -n 20 "$TMP/target.err" >&2
		die "$TARGET_BIN exited (status $rc) before READY"
	fi
	((SECONDS < deadline)) || die "$TARGET_BIN not READY after ${READY_TIMEOUT}s"
	sleep 0.1
done
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
pw_median=$(printf '%s\n' "${PW_TIMES[@]}" | sort -g |
	awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
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
for n in "${NOTES[@]}"; do echo "note: $n"; done
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
