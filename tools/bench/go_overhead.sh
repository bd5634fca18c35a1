#!/usr/bin/env bash
# Throughput of a Go HTTP server with and without parkwatch watching it in
# its default mode, side by side in one run: a bounded wrk load on loopback
# (-c connections for -d seconds per round), rounds alternating between no
# tracer and `parkwatch -p PID` (live, default interval), median of each.
#
#   tools/bench/go_overhead.sh [-r ROUNDS] [-d SECONDS] [-c CONNECTIONS] [-n GOROUTINES]
#
# See tools/bench/README.md.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [-r ROUNDS] [-d SECONDS] [-c CONNECTIONS] [-n GOROUTINES]
  -r ROUNDS       rounds; each runs wrk once without and once with parkwatch
                  (default 5)
  -d SECONDS      wrk duration of each run (default 10)
  -c CONNECTIONS  wrk connections (default 8)
  -n GOROUTINES   extra parked goroutines in the server (leaky -n; default 10000)
Needs root.  Run from anywhere; paths are relative to the repo root.
EOF
}

rounds=5 seconds=10 connections=8 goroutines=10000
READY_TIMEOUT=${READY_TIMEOUT:-60}
PARKWATCH=${PARKWATCH:-./parkwatch}

# shellcheck source=tools/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init go_overhead

handle_opt() {
	case $1 in
	r) rounds=$2 ;;
	d) seconds=$2 ;;
	c) connections=$2 ;;
	n) goroutines=$2 ;;
	esac
}
bench_getopts "r:d:c:n:" handle_opt "$@"
bench_posint -r "$rounds"
bench_posint -d "$seconds"
bench_posint -c "$connections"
bench_posint -n "$goroutines" 0

bench_cd_root
target=build/targets/go/1.19/leaky
bench_need_root "parkwatch loads BPF"
[[ -x $PARKWATCH ]] || die "$PARKWATCH (from $ROOT) not found or not executable: build it first (make)"
[[ -x $target ]] || die "$target missing (make targets)"
command -v wrk >/dev/null || die "wrk missing (apt-get install wrk)"

bench_tmpdir
server='' watcher=''
cleanup() {
	bench_stop "$watcher"
	bench_stop "$server"
}
bench_traps

"$target" -port 0 -n "$goroutines" >"$TMP/ready" 2>"$TMP/server.err" &
server=$!
bench_wait_ready server "$TMP/ready" "$TMP/server.err" "$READY_TIMEOUT" "the Go server ($target)"
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$TMP/ready")
[ -n "$port" ] || die "the Go server did not say its port"
url="http://127.0.0.1:$port/debug/pprof/cmdline"

run_wrk() {
	wrk -t2 -c"$connections" -d"${seconds}s" "$url" | awk '/Requests\/sec/ { print $2 }'
}

declare -a none_rps watched_rps
for ((round = 1; round <= rounds; round++)); do
	none_rps+=("$(run_wrk)")
	"$PARKWATCH" -p "$server" --format json > /dev/null 2> "$TMP/pw.err" &
	watcher=$!
	# attached once the first picture is out: poll for the BPF programs
	for _ in $(seq 100); do
		bpftool prog show 2> /dev/null | grep -q park_switch && break
		sleep 0.1
	done
	watched_rps+=("$(run_wrk)")
	bench_stop "$watcher"
	watcher=
	echo "round $round: none ${none_rps[-1]} req/s, parkwatch ${watched_rps[-1]} req/s"
done

none=$(median "${none_rps[@]}")
watched=$(median "${watched_rps[@]}")
echo
echo "Go server ($goroutines extra goroutines), wrk -c$connections -d${seconds}s, $rounds rounds"
awk -v n="$none" -v w="$watched" 'BEGIN {
	printf "none       %10.0f req/s (median)\n", n
	printf "parkwatch  %10.0f req/s (median)   ratio %.3f   change %+.1f%%\n", w, w / n, (w / n - 1) * 100
}'
