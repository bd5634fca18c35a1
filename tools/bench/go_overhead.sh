#!/usr/bin/env bash
# Throughput of a Go HTTP server with and without parkwatch watching it in
# its default mode, side by side in one run: a bounded wrk load on loopback
# (-c connections for -d seconds per round), rounds alternating between no
# tracer and `parkwatch -p PID` (live, default interval), median of each.
#
#   tools/bench/go_overhead.sh [-r ROUNDS] [-d SECONDS] [-c CONNECTIONS] [-n GOROUTINES]
set -euo pipefail

rounds=5 seconds=10 connections=8 goroutines=10000
while getopts "r:d:c:n:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	d) seconds=$OPTARG ;;
	c) connections=$OPTARG ;;
	n) goroutines=$OPTARG ;;
	*) sed -n '2,8p' "$0"; exit 2 ;;
	esac
done
cd "$(dirname "$0")/../.."
PARKWATCH=${PARKWATCH:-./parkwatch}
target=build/targets/go/leaky
[ "$(id -u)" -eq 0 ] || { echo "go_overhead: run as root" >&2; exit 4; }
[ -x "$target" ] || { echo "go_overhead: $target missing (make targets)" >&2; exit 1; }
command -v wrk > /dev/null || { echo "go_overhead: wrk missing (apt-get install wrk)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/parkwatch-bench.XXXXXX)
server= watcher=
cleanup() {
	[ -n "$watcher" ] && kill "$watcher" 2> /dev/null && wait "$watcher" 2> /dev/null
	[ -n "$server" ] && kill "$server" 2> /dev/null && wait "$server" 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$target" -port 0 -n "$goroutines" > "$tmp/ready" &
server=$!
for _ in $(seq 100); do
	grep -q READY "$tmp/ready" && break
	sleep 0.1
done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$tmp/ready")
[ -n "$port" ] || { echo "go_overhead: the Go server did not start" >&2; exit 1; }
url="http://127.0.0.1:$port/debug/pprof/cmdline"

run_wrk() {
	wrk -t2 -c"$connections" -d"${seconds}s" "$url" | awk '/Requests\/sec/ { print $2 }'
}

declare -a none_rps watched_rps
for ((round = 1; round <= rounds; round++)); do
	none_rps+=("$(run_wrk)")
	"$PARKWATCH" -p "$server" --format json > /dev/null 2> "$tmp/pw.err" &
	watcher=$!
	# attached once the first picture is out: poll for the BPF programs
	for _ in $(seq 100); do
		bpftool prog show 2> /dev/null | grep -q park_switch && break
		sleep 0.1
	done
	watched_rps+=("$(run_wrk)")
	kill "$watcher"
	wait "$watcher" 2> /dev/null || true
	watcher=
	echo "round $round: none ${none_rps[-1]} req/s, parkwatch ${watched_rps[-1]} req/s"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
none=$(median "${none_rps[@]}")
watched=$(median "${watched_rps[@]}")
echo
echo "Go server ($goroutines extra goroutines), wrk -c$connections -d${seconds}s, $rounds rounds"
awk -v n="$none" -v w="$watched" 'BEGIN {
	printf "none       %10.0f req/s (median)\n", n
	printf "parkwatch  %10.0f req/s (median)   ratio %.3f   change %+.1f%%\n", w, w / n, (w / n - 1) * 100
}'
