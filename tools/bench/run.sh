#!/usr/bin/env bash
# Entry point of `make bench`: every benchmark of tools/bench with its
# defaults, one after the other, plus sched_pipe.sh pinned to one CPU
# (-C 0).  About 8-18 minutes on 2 CPUs, more the first time:
# go_releases.sh builds its target with every Go release, fetching missing
# toolchains; gdb in dump_many_threads.sh can take up to its 600 s timeout.  Needs root.  For options, run the scripts
# by hand (each has -h).
set -uo pipefail

if (($# > 0)); then
	echo "usage: $0   (no arguments; run sched_pipe.sh / dump_many_threads.sh for options)" >&2
	exit 2
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rc=0
# sched_pipe twice: as specified (unpinned, noisy on 2 CPUs) and with both
# ends of the pipe on CPU 0 (steady); see README.md
for b in "sched_pipe.sh" "sched_pipe.sh -C 0" "dump_many_threads.sh" "go_overhead.sh" \
	"go_releases.sh"; do
	echo "=== $b"
	# shellcheck disable=SC2086 # $b is the script and its options
	"$HERE"/$b || { echo "=== $b failed (status $?)"; rc=1; }
	echo
done
exit "$rc"
