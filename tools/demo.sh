#!/bin/bash
# make demo: watch a program that leaks one parked thread per "request".
# build/targets/leaky starts a stuck thread every 100 ms next to a healthy
# worker pool; parkwatch's table shows the leaking group growing, and
# flagged, while the pool stays flat, then a grouped dump names where the
# threads wait.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: parkwatch loads BPF programs: run as root (sudo make demo)" >&2
	exit 4
fi

build/targets/leaky 100 > /tmp/parkwatch-demo.$$ &
leaky=$!
trap 'kill $leaky 2>/dev/null; rm -f /tmp/parkwatch-demo.$$' EXIT
for _ in $(seq 50); do
	grep -q READY /tmp/parkwatch-demo.$$ && break
	sleep 0.1
done

echo "== parkwatch -p $leaky --interval 4s --duration 24s --debug 1"
echo "   (a table per interval: the leaking group grows, the pool stays flat, and after"
echo "   20 s of history the leak is marked LEAK?; at the end the threads grouped by"
echo "   stack, as in Go's goroutine profile)"
./parkwatch -p "$leaky" --interval 4s --duration 24s --debug 1
