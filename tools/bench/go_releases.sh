#!/usr/bin/env bash
# How long `parkwatch -p PID --dump` of 100,000 parked goroutines takes on
# each Go release, side by side with the runtime's own debug=2 dump of the
# same process over HTTP.  Per release: build/targets/go/RELEASE/leaky (make
# builds it, fetching the toolchain if need be), started with -n N, awaited
# until the runtime shows all N parked; then an untimed warm-up of each side
# and R rounds of parkwatch then runtime.  Every parkwatch dump must exit 0
# and hold at least N goroutines with exactly N in main.parkedForever.
# See tools/bench/README.md.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [-n GOROUTINES] [-r ROUNDS] [-R "RELEASE..."] [-f FLAVOUR]
  -n GOROUTINES   parked goroutines in the target (leaky -n; default 100000)
  -r ROUNDS       timed rounds per release; each times one parkwatch dump and
                  one runtime dump (default 5)
  -R RELEASES     the releases, e.g. "1.19 1.27" (default: the Makefile's
                  GO_RELEASES)
  -f FLAVOUR      the build of leaky: dwarf (default), nodwarf, stripped, pie,
                  cgo, stripped-pie (the Makefile's GO_FLAVOURS and
                  GO_MORE_FLAVOURS)
Needs root.  Run from anywhere; the targets are those of the repo this
script is in.  A release whose dumps fail is reported as such and the others
still run; the exit status is then 1.  Report on stdout, progress on stderr.
EOF
}

NGOROUTINES=100000
ROUNDS=5
RELEASES=
FLAVOUR=dwarf
READY_TIMEOUT=${READY_TIMEOUT:-300}
PARK_TIMEOUT=${PARK_TIMEOUT:-120}
PARKWATCH=${PARKWATCH:-./parkwatch}

# shellcheck source=tools/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init go_releases

handle_opt() {
	case $1 in
	n) NGOROUTINES=$2 ;;
	r) ROUNDS=$2 ;;
	R) RELEASES=$2 ;;
	f) FLAVOUR=$2 ;;
	esac
}
bench_getopts "n:r:R:f:" handle_opt "$@"
bench_posint -n "$NGOROUTINES"
bench_posint -r "$ROUNDS"

bench_cd_root
bench_need_root "parkwatch loads BPF"
[[ -x $PARKWATCH ]] || die "$PARKWATCH (from $ROOT) not found or not executable: build it first (make)"
makefile_list() { sed -n "s/^$1[[:space:]]*:=[[:space:]]*//p" Makefile; }
[[ -n $RELEASES ]] || RELEASES=$(makefile_list GO_RELEASES)
flavours=$(echo $(makefile_list GO_FLAVOURS) $(makefile_list GO_MORE_FLAVOURS))
[[ " $flavours " == *" $FLAVOUR "* ]] || die "-f $FLAVOUR: not one of $flavours"
suffix=-$FLAVOUR
[[ $FLAVOUR == dwarf ]] && suffix=
HELPER=(python3 "$HERE/dumpstat.py")

bench_tmpdir
TARGET_PID=
CHILD_PID=
bench_traps

bins=()
for rel in $RELEASES; do
	[[ $rel =~ ^1\.[0-9]+$ ]] || die "-R: '$rel' is not a release like 1.23"
	bins+=("build/targets/go/$rel/leaky$suffix")
done
log "make ${bins[*]}"
make -s --no-print-directory "${bins[@]}" >&2 || die "make ${bins[*]} failed"

stop_target() {
	[[ -n $TARGET_PID ]] || return 0
	kill -KILL "$TARGET_PID" 2>/dev/null || true
	wait "$TARGET_PID" 2>/dev/null || true
	TARGET_PID=
}

# timed_dump OUT: one parkwatch dump of TARGET_PID into OUT; prints its wall
# seconds, or returns 1 with the reason in $TMP/dump.err
timed_dump() {
	local t0 rc=0
	t0=$(now)
	"$PARKWATCH" -p "$TARGET_PID" --dump --min-park 0 >"$1" 2>"$TMP/dump.err" &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=
	((rc == 0)) || { echo "exit status $rc: $(head -n 1 "$TMP/dump.err")" >"$TMP/dump.err"; return 1; }
	elapsed "$t0" "$(now)"
}

# one_release REL: the rounds on build/targets/go/REL/leaky[-FLAVOUR]; appends
# a line to $TMP/table, or a failure line
one_release() {
	local rel=$1 bin=build/targets/go/$1/leaky$suffix version port
	local r pw rt bytes counts kind units marked pws=() rts=() t0 t_parked
	version=$(go version "$bin" 2>/dev/null | awk '{ print $2 }')
	log "$rel ($version): starting $bin -port 0 -n $NGOROUTINES"
	t0=$(now)
	# files of its own: the child truncates them only once it runs, and an
	# earlier release's READY line must not be read for this one's
	"$bin" -port 0 -n "$NGOROUTINES" >"$TMP/target-$rel.out" 2>"$TMP/target-$rel.err" &
	TARGET_PID=$!
	bench_wait_ready TARGET_PID "$TMP/target-$rel.out" "$TMP/target-$rel.err" "$READY_TIMEOUT" "$bin"
	port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$TMP/target-$rel.out")
	[[ -n $port ]] || die "$bin did not say its port"
	local url="http://127.0.0.1:$port/debug/pprof/goroutine?debug=2"
	bench_wait_goroutines "$url" "$NGOROUTINES" "$bin"
	t_parked=$(elapsed "$t0" "$(now)")
	log "$rel: $NGOROUTINES parked ($GOROUTINES_TOTAL in all) after ${t_parked}s; warm-up"
	for ((r = 0; r <= ROUNDS; r++)); do
		if ! pw=$(timed_dump "$TMP/dump.out"); then
			printf '%s\t%s\tFAILED: parkwatch --dump %s\n' "$rel" "$version" "$(cat "$TMP/dump.err")" >>"$TMP/table"
			stop_target
			return 0
		fi
		counts=$("${HELPER[@]}" count "$TMP/dump.out" main.parkedForever) || counts="none 0 0"
		read -r kind units marked <<<"$counts"
		if [[ $kind != goroutine ]] || ((units < NGOROUTINES || marked != NGOROUTINES)); then
			printf '%s\t%s\tFAILED: parkwatch --dump printed %s %ss, %s in main.parkedForever (expected >= %s, %s)%s\n' \
				"$rel" "$version" "$units" "$kind" "$marked" "$NGOROUTINES" "$NGOROUTINES" \
				"$([[ -s $TMP/dump.err ]] && echo "; stderr: $(head -n 1 "$TMP/dump.err")")" >>"$TMP/table"
			stop_target
			return 0
		fi
		read -r rt bytes < <("${HELPER[@]}" fetch "$url" "$TMP/runtime.out") ||
			die "$rel: GET $url failed"
		if ((r > 0)); then
			pws+=("$pw")
			rts+=("$rt")
			log "$rel round $r: parkwatch ${pw}s ($units goroutines), runtime ${rt}s ($((bytes / 1024)) KiB)"
		fi
	done
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rel" "$version" "$units" "$(median "${pws[@]}")" \
		"$(median "${rts[@]}")" "${pws[*]}" "${rts[*]}" >>"$TMP/table"
	stop_target
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$TMP/table"
for rel in $RELEASES; do
	one_release "$rel"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "parkwatch: $(realpath "$PARKWATCH"); leaky$suffix -n $NGOROUTINES per release, $ROUNDS round(s)"
echo "$(nproc) CPUs; load average $LOAD_START at the start, $LOAD_END at the end"
echo "parkwatch: ./parkwatch -p PID --dump --min-park 0 > file, BPF load included (wall)"
echo "runtime:   GET /debug/pprof/goroutine?debug=2 of the same process (first byte to last)"
echo
awk -F'\t' '
	BEGIN { printf "%-7s %-10s %11s %12s %12s %10s\n", "release", "version", "goroutines", "parkwatch s", "runtime s", "pw/runtime" }
	NF == 3 { printf "%-7s %-10s %s\n", $1, $2, $3; failed = 1; next }
	{ printf "%-7s %-10s %11d %12.3f %12.3f %9.2fx\n", $1, $2, $3, $4, $5, ($5 > 0 ? $4 / $5 : 0) }
	END { exit failed }' "$TMP/table" && rc=0 || rc=1
echo
echo "per round (s), parkwatch | runtime; the spread is the noise:"
awk -F'\t' 'NF == 7 {
	printf "  %-5s", $1
	n = split($6, pw, " "); for (i = 1; i <= n; i++) printf " %.3f", pw[i]
	printf " |"
	n = split($7, rt, " "); for (i = 1; i <= n; i++) printf " %.3f", rt[i]
	printf "\n" }' "$TMP/table"
exit "$rc"
