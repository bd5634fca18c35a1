#!/usr/bin/env bash
# The cost per snapshot of reading lock owners: `--dump --format json` of
# build/targets/lockfarm (HOLDERS threads each holding a mutex, WAITERS
# threads per holder waiting for it; then the same count waiting on the
# holders' condition variables) by a binary that reads owners (B) and one
# that doesn't (A), side by side in one run.  See tools/bench/README.md.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 -a OFF_BIN [-b ON_BIN] [-H HOLDERS] [-w WAITERS] [-r ROUNDS] [-m MODES] [-l SECONDS]
  -a OFF_BIN   parkwatch without owner reading (README.md: how to build one)
  -b ON_BIN    parkwatch with it (default ./parkwatch)
  -H HOLDERS   lock holders in the target (default 100)
  -w WAITERS   waiters per holder (default 100: 10,000 parked waiters)
  -r ROUNDS    timed rounds per binary and mode (default 5)
  -m MODES     "mutex cond" (default) or one of them
  -l SECONDS   also time a live run (--format json, 1 s interval) of SECONDS per
               binary and round, for the cost per picture once findings last
               (default 0: none)
Needs root.  Run from anywhere; paths are relative to the repo root.
EOF
}

OFF_BIN=
ON_BIN=./parkwatch
HOLDERS=100
WAITERS=100
ROUNDS=5
MODES="mutex cond"
LIVE_S=0
READY_TIMEOUT=${READY_TIMEOUT:-300}
TIME_BIN=${TIME_BIN:-/usr/bin/time}

# shellcheck source=tools/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init lock_owners

handle_opt() {
	case $1 in
	a) OFF_BIN=$2 ;;
	b) ON_BIN=$2 ;;
	H) HOLDERS=$2 ;;
	w) WAITERS=$2 ;;
	r) ROUNDS=$2 ;;
	m) MODES=$2 ;;
	l) LIVE_S=$2 ;;
	esac
}
bench_getopts "a:b:H:w:r:m:l:" handle_opt "$@"
[[ -n $OFF_BIN ]] || { usage >&2; exit 2; }
bench_posint -H "$HOLDERS"
bench_posint -w "$WAITERS"
bench_posint -r "$ROUNDS"
[[ $LIVE_S =~ ^[0-9]+$ ]] || die "-l takes a number of seconds, got '$LIVE_S'"
for mode in $MODES; do
	[[ $mode == mutex || $mode == cond ]] || die "-m takes mutex and/or cond, got '$mode'"
done

bench_cd_root
TARGET_BIN=build/targets/lockfarm
bench_need_root "parkwatch loads BPF"
for bin in "$OFF_BIN" "$ON_BIN"; do
	[[ -x $bin ]] || die "$bin not found or not executable"
done
[[ -x $TARGET_BIN ]] || die "$TARGET_BIN not built (make targets)"
[[ -x $TIME_BIN ]] || die "$TIME_BIN (GNU time) not found (apt-get install time)"
bench_tmpdir
TARGET_PID=
CHILD_PID=
bench_traps
bench_raise_limits $((HOLDERS * WAITERS + HOLDERS))

# dump BIN OUT [ARGS]: one --dump of the target (or, with ARGS, that run
# instead); puts its CPU seconds (user + system: on a shared machine far
# steadier than its wall time) and wall seconds in $TMP/times
dump() {
	local rc=0 bin=$1 out=$2
	shift 2
	(($#)) || set -- --dump
	"$TIME_BIN" -f '%U %S %e' -o "$TMP/time" \
		"$bin" -p "$TARGET_PID" "$@" --format json --min-park 0 >"$out" 2>"$TMP/pw.err" &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=
	if ((rc != 0)); then
		tail -n 20 "$TMP/pw.err" >&2
		die "$bin $* failed with status $rc"
	fi
	awk '{ printf "%.2f %.2f\n", $1 + $2, $3 }' "$TMP/time" >"$TMP/times"
}

# what a JSON dump holds: "units N (KIND N ...), N with an owner, N findings";
# fails when it doesn't hold every thread of the target
holds() {
	python3 - "$1" $((HOLDERS * WAITERS + HOLDERS + 1)) <<'EOF'
import collections, json, sys
picture = json.load(open(sys.argv[1]))
units = picture["units"]
if len(units) != int(sys.argv[2]):
    sys.exit("lock_owners: error: a dump holds %d units, not the target's %s threads"
             % (len(units), sys.argv[2]))
kinds = collections.Counter(u.get("blocked_on", {}).get("kind", "none") for u in units)
owners = sum(1 for u in units if u.get("blocked_on", {}).get("owner_tid"))
print("units %d (%s), %d with an owner, %d findings" % (
    len(units), " ".join("%s %d" % kv for kv in sorted(kinds.items())), owners,
    len(picture.get("findings", []))))
EOF
}

REPORT=()
for mode in $MODES; do
	log "starting $TARGET_BIN $HOLDERS $WAITERS $mode"
	"$TARGET_BIN" "$HOLDERS" "$WAITERS" "$mode" >"$TMP/target.out" 2>"$TMP/target.err" &
	TARGET_PID=$!
	bench_wait_ready TARGET_PID "$TMP/target.out" "$TMP/target.err" "$READY_TIMEOUT" "$TARGET_BIN"
	dump "$OFF_BIN" "$TMP/off.json" # warm-up: page cache, debug info
	dump "$ON_BIN" "$TMP/on.json"
	off_holds=$(holds "$TMP/off.json") || exit 1
	on_holds=$(holds "$TMP/on.json") || exit 1
	OFF_CPU=()
	ON_CPU=()
	OFF_WALL=()
	ON_WALL=()
	DIFF_MS=()
	rounds=""
	for ((i = 1; i <= ROUNDS; i++)); do
		# the order alternates, so neither side always runs first
		if ((i % 2)); then
			dump "$OFF_BIN" /dev/null && read -r a a_wall <"$TMP/times"
			dump "$ON_BIN" /dev/null && read -r b b_wall <"$TMP/times"
		else
			dump "$ON_BIN" /dev/null && read -r b b_wall <"$TMP/times"
			dump "$OFF_BIN" /dev/null && read -r a a_wall <"$TMP/times"
		fi
		OFF_CPU+=("$a")
		ON_CPU+=("$b")
		OFF_WALL+=("$a_wall")
		ON_WALL+=("$b_wall")
		DIFF_MS+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) * 1000 }')")
		rounds+=" $a/$b"
		log "$mode round $i: CPU s off $a, on $b; wall s off $a_wall, on $b_wall"
	done
	off_med=$(median "${OFF_CPU[@]}")
	on_med=$(median "${ON_CPU[@]}")
	diff_med=$(MEDIAN_FMT=%.0f median "${DIFF_MS[@]}")
	per_waiter_us=$(awk -v d="$diff_med" -v n=$((HOLDERS * WAITERS)) 'BEGIN { printf "%.1f", d * 1000 / n }')
	REPORT+=("$(printf '%-6s %9s %9s %8sx %12s %10s %16s' "$mode" "$off_med" "$on_med" \
		"$(ratio "$on_med" "$off_med")" "$diff_med" "$per_waiter_us" \
		"$(median "${OFF_WALL[@]}")/$(median "${ON_WALL[@]}")")")
	REPORT+=("       per round, CPU s off/on:$rounds")
	if ((LIVE_S > 0)); then
		live_diffs=()
		for ((i = 1; i <= ROUNDS; i++)); do
			dump "$OFF_BIN" "$TMP/live_off" --interval 1s --duration "${LIVE_S}s" &&
				read -r a _ <"$TMP/times"
			dump "$ON_BIN" "$TMP/live_on" --interval 1s --duration "${LIVE_S}s" &&
				read -r b _ <"$TMP/times"
			pictures=$(wc -l <"$TMP/live_on")
			live_diffs+=("$(awk -v a="$a" -v b="$b" -v n="$pictures" 'BEGIN { printf "%.0f", (b - a) * 1000 / n }')")
			log "$mode live round $i: CPU s off $a, on $b over $pictures pictures"
		done
		REPORT+=("       live, ${LIVE_S} s at 1 s: on-off CPU ms per picture, median $(MEDIAN_FMT=%.0f median "${live_diffs[@]}") (rounds: ${live_diffs[*]})")
	fi
	REPORT+=("       off: $off_holds")
	REPORT+=("       on:  $on_holds")
	bench_stop "$TARGET_PID"
	kill -KILL "$TARGET_PID" 2>/dev/null || true
	wait "$TARGET_PID" 2>/dev/null || true
	TARGET_PID=
done

echo
echo "off (A): $OFF_BIN"
echo "on  (B): $ON_BIN"
echo "target: $TARGET_BIN $HOLDERS $WAITERS MODE: $((HOLDERS * WAITERS)) waiters, $ROUNDS round(s), A/B order alternating"
echo "$(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
for n in "${BENCH_NOTES[@]}"; do echo "note: $n"; done
echo
printf '%-6s %9s %9s %9s %12s %10s %16s\n' "mode" "off CPU s" "on CPU s" "on/off" "on-off CPU ms" "us/waiter" "wall s off/on"
printf '%-6s %9s %9s %9s %12s %10s %16s\n' "" "median" "median" "" "median/round" "" "median"
printf '%s\n' "${REPORT[@]}"
