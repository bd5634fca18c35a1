#!/usr/bin/env bash
# Entry point of `make bench`: every benchmark of tools/bench with its
# defaults, one after the other, plus sched_pipe.sh pinned to one CPU
# (-C 0).  About 50-60 minutes on 2 CPUs, more the first time:
# go_releases.sh builds its target with every Go release, fetching missing
# toolchains; gdb in dump_many_threads.sh can take up to its 600 s timeout;
# scaling.sh takes about 20 minutes and daemon_cost.sh 10.  With NAMEs
# (`run.sh scaling daemon_cost`), only those benchmarks run.  Needs root.
# For options, run the scripts by hand (each has -h).
set -uo pipefail

BENCHES=("sched_pipe.sh" "sched_pipe.sh -C 0" "dump_many_threads.sh" "go_overhead.sh"
	"go_releases.sh" "scaling.sh" "daemon_cost.sh")

usage() {
	echo "usage: $0 [NAME...]   NAME: sched_pipe dump_many_threads go_overhead go_releases scaling daemon_cost" >&2
	echo "       (no NAME: all of them; run the scripts by hand for options)" >&2
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if (($# > 0)); then
	chosen=()
	for name in "$@"; do
		found=0
		for b in "${BENCHES[@]}"; do
			if [[ ${b%% *} == "$name.sh" ]]; then
				chosen+=("$b")
				found=1
			fi
		done
		((found)) || { usage; exit 2; }
	done
	BENCHES=("${chosen[@]}")
fi
rc=0
# sched_pipe twice: as specified (unpinned, noisy on 2 CPUs) and with both
# ends of the pipe on CPU 0 (steady); see README.md
for b in "${BENCHES[@]}"; do
	echo "=== $b"
	# shellcheck disable=SC2086 # $b is the script and its options
	"$HERE"/$b || { echo "=== $b failed (status $?)"; rc=1; }
	echo
done
exit "$rc"
