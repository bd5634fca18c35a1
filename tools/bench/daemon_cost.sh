#!/usr/bin/env bash
# What the system-wide daemon costs: `parkwatch --http --interval 2s`
# watching every process, with THREADS parked threads in PROCS processes
# (build/targets/condwait) on the machine and /metrics scraped every 15 s,
# for DURATION: CPU as a share of one core (utime + stime of parkwatch and its
# broker), RSS sampled every 10 s (does it grow?), and the memory series of
# /metrics.  See tools/bench/README.md.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [-s] [-d SECONDS] [-n THREADS] [-P PROCS] [-i INTERVAL]
  -d SECONDS   how long the daemon is measured, after its first picture
               (default 600)
  -s           short: 60 seconds (-d given too wins)
  -n THREADS   parked threads in the targets (default 10000)
  -P PROCS     processes they are spread over (default 200)
  -i INTERVAL  parkwatch --interval (default 2s)
Needs root.  Run from anywhere; the targets are those of the repo this
script is in.  Report on stdout, progress on stderr.
EOF
}

DURATION=600
SHORT=0
NTHREADS=10000
NPROCS=200
INTERVAL=2s
SAMPLE_S=10   # RSS and CPU samples
SCRAPE_S=15   # /metrics, as a Prometheus would
READY_TIMEOUT=${READY_TIMEOUT:-300}
PARKWATCH=${PARKWATCH:-./parkwatch}

# shellcheck source=tools/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init daemon_cost

given=""
handle_opt() {
	given+=$1
	case $1 in
	d) DURATION=$2 ;;
	s) SHORT=1 ;;
	n) NTHREADS=$2 ;;
	P) NPROCS=$2 ;;
	i) INTERVAL=$2 ;;
	esac
}
bench_getopts "d:sn:P:i:" handle_opt "$@"
((SHORT)) && [[ $given != *d* ]] && DURATION=60
bench_posint -d "$DURATION"
bench_posint -n "$NTHREADS"
bench_posint -P "$NPROCS"

bench_cd_root
bench_need_root "parkwatch loads BPF"
[[ -x $PARKWATCH ]] || die "$PARKWATCH (from $ROOT) not found or not executable: build it first (make)"
HELPER=(python3 "$HERE/dumpstat.py")
CLK_TCK=$(getconf CLK_TCK)

bench_tmpdir
TARGET_PID=
CHILD_PID=
bench_traps

log "starting $NPROCS condwait processes, $NTHREADS threads in all"
t0=$(now)
bench_farm_start "$NTHREADS" "$NPROCS"
log "targets READY after $(elapsed "$t0" "$(now)")s"

"$PARKWATCH" --http 127.0.0.1:0 --http-no-auth --interval "$INTERVAL" >/dev/null 2>"$TMP/pw.err" &
CHILD_PID=$!
deadline=$((SECONDS + 60))
until URL=$(sed -n 's|^parkwatch: serving \(http://[^ ]*/metrics\).*|\1|p' "$TMP/pw.err") && [[ -n $URL ]]; do
	kill -0 "$CHILD_PID" 2>/dev/null || die "parkwatch exited before serving: $(head -n 1 "$TMP/pw.err")"
	((SECONDS < deadline)) || die "parkwatch printed no 'serving' line in 60 s"
	sleep 0.1
done

# metric NAME FILE: the value of an unlabelled series, or "absent"
metric() { awk -v n="$1" '$1 == n { v = $2 } END { print (v == "" ? "absent" : v) }' "$2"; }
# watched threads, summed over states (parkwatch_threads_all: its name in
# binaries before the metrics were renamed, for a "before" run)
threads_all() {
	awk '/^parkwatch_watched_all\{kind="thread",/ || /^parkwatch_threads_all\{/ { t += $2 }
	     END { print t + 0 }' "$1"
}

# the first picture that holds the targets (/metrics answers 503 before
# the first picture); it opens every process, which takes minutes for
# hundreds of them
FIRST_PICTURE_TIMEOUT=${FIRST_PICTURE_TIMEOUT:-900}
t_first=$(now)
deadline=$((SECONDS + FIRST_PICTURE_TIMEOUT))
watched=0
while ((watched < NTHREADS)); do
	kill -0 "$CHILD_PID" 2>/dev/null || die "parkwatch exited: $(head -n 1 "$TMP/pw.err")"
	((SECONDS < deadline)) || die "after ${FIRST_PICTURE_TIMEOUT}s parkwatch watches $watched threads, fewer than the targets' $NTHREADS"
	sleep 0.5 # poll interval of a deadline loop
	"${HELPER[@]}" fetch "$URL" "$TMP/metrics" >/dev/null 2>&1 || continue
	watched=$(threads_all "$TMP/metrics")
done
t_first=$(elapsed "$t_first" "$(now)")
# the oracle for that figure: the threads of every process but the kernel's
# (no VmSize), read from /proc now
on_machine=$(cat /proc/[0-9]*/status 2>/dev/null | awk '/^Name:/ { if (vm) n += th; vm = 0; th = 0 }
	/^VmSize:/ { vm = 1 } /^Threads:/ { th = $2 } END { if (vm) n += th; print n + 0 }')

# tree_pids: parkwatch and every process under it (the broker)
tree_pids() {
	local todo=("$CHILD_PID") pid
	while ((${#todo[@]})); do
		pid=${todo[0]}
		todo=("${todo[@]:1}")
		echo "$pid"
		# shellcheck disable=SC2207 # pids are digits
		todo+=($(cat /proc/"$pid"/task/*/children 2>/dev/null))
	done
}
# tree_ticks: utime + stime of the whole tree, in clock ticks
tree_ticks() {
	local pid
	for pid in $(tree_pids); do
		sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null
	done | awk '{ t += $12 + $13 } END { print t + 0 }'
}
# kib FIELD PID: a /proc/PID/status figure in KiB
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status"; }

PIDS=$(tree_pids | tr '\n' ' ')
log "parkwatch at $URL (processes: $PIDS), first picture: $watched threads watched; measuring ${DURATION}s"
: >"$TMP/samples" # seconds ticks rss_kib(main) rss_kib(others)
: >"$TMP/scrapes" # seconds cache_bytes rss_bytes snapshots threads
t_start=$SECONDS
ticks0=$(tree_ticks)
next_sample=0
next_scrape=0
while :; do
	kill -0 "$CHILD_PID" 2>/dev/null || die "parkwatch died during the run: $(tail -n 1 "$TMP/pw.err")"
	t=$((SECONDS - t_start))
	if ((t >= next_sample)); then
		others=0
		for pid in $(tree_pids | tail -n +2); do
			others=$((others + $(kib VmRSS "$pid")))
		done
		echo "$t $(($(tree_ticks) - ticks0)) $(kib VmRSS "$CHILD_PID") $others" >>"$TMP/samples"
		next_sample=$((next_sample + SAMPLE_S))
	fi
	if ((t >= next_scrape)); then
		"${HELPER[@]}" fetch "$URL" "$TMP/metrics" >/dev/null || die "GET $URL failed at ${t}s"
		echo "$t $(metric parkwatch_symbol_cache_bytes "$TMP/metrics")" \
			"$(metric process_resident_memory_bytes "$TMP/metrics")" \
			"$(metric parkwatch_snapshots_total "$TMP/metrics")" \
			"$(threads_all "$TMP/metrics")" >>"$TMP/scrapes"
		next_scrape=$((next_scrape + SCRAPE_S))
	fi
	((t >= DURATION)) && break
	sleep 0.5 # the sampling clock, not a wait for an event
done
ticks=$(($(tree_ticks) - ticks0))
elapsed_s=$((SECONDS - t_start))
hwm=$(kib VmHWM "$CHILD_PID")
stderr_lines=$(wc -l <"$TMP/pw.err")

echo
echo "parkwatch: $(realpath "$PARKWATCH") ($(git rev-parse --short HEAD 2>/dev/null || echo "no git")), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "daemon: parkwatch --http 127.0.0.1:0 --http-no-auth --interval $INTERVAL (every process), stdout to /dev/null"
echo "targets: $NPROCS x build/targets/condwait $((NTHREADS / NPROCS)) ($NTHREADS parked threads); parkwatch watched $watched threads at its first picture (${t_first}s after start), /proc then showed $on_machine"
for n in "${BENCH_NOTES[@]}"; do echo "note: $n"; done
echo "measured ${elapsed_s}s after the first picture; /metrics every ${SCRAPE_S}s, RSS every ${SAMPLE_S}s"
echo
awk -v hz="$CLK_TCK" -v s="$elapsed_s" -v t="$ticks" 'BEGIN {
	printf "CPU: %.2f%% of one core (%.2f s of CPU in %d s; parkwatch and its broker)\n", 100 * t / hz / s, t / hz, s }'
awk -v hz="$CLK_TCK" '
	{ sec[NR] = $1; tick[NR] = $2; rss[NR] = $3; oth[NR] = $4 }
	END {
		minutes = ""
		for (i = 1; i <= NR; i++)
			if (sec[i] > 0 && sec[i] % 60 == 0) {
				minutes = minutes sprintf(" %.2f", 100 * (tick[i] - last) / hz / (sec[i] - lastsec))
				last = tick[i]
				lastsec = sec[i]
			}
		if (minutes != "") print "CPU per minute, % of one core:" minutes
		min = max = rss[1]
		for (i = 1; i <= NR; i++) { if (rss[i] < min) min = rss[i]; if (rss[i] > max) max = rss[i] }
		printf "RSS of parkwatch, MiB: min %.1f, max %.1f, last %.1f; last/first %.2f (the broker: %.1f MiB last)\n",
			min / 1024, max / 1024, rss[NR] / 1024, rss[NR] / rss[1], oth[NR] / 1024
		printf "RSS samples, MiB:"
		for (i = 1; i <= NR; i++) printf " %.1f", rss[i] / 1024
		printf "\n"
	}' "$TMP/samples"
echo "peak RSS of parkwatch (VmHWM, first picture included): $(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
awk '
	{ n++; cache[n] = $2; rss[n] = $3; snap[n] = $4; thr[n] = $5 }
	END {
		if (cache[n] == "absent") print "parkwatch_symbol_cache_bytes: absent from /metrics"
		else {
			printf "parkwatch_symbol_cache_bytes, MiB, per scrape:"
			for (i = 1; i <= n; i++) printf " %.1f", cache[i] / 1048576
			printf "\n"
		}
		printf "process_resident_memory_bytes, MiB, first %.1f, last %.1f\n", rss[1] / 1048576, rss[n] / 1048576
		printf "%d scrapes; parkwatch_snapshots_total grew by %d; watched threads %d first, %d last\n",
			n, snap[n] - snap[1], thr[1], thr[n]
	}' "$TMP/scrapes"
if ((stderr_lines > 2)); then
	echo "parkwatch stderr ($stderr_lines lines), the end:"
	tail -n 5 "$TMP/pw.err" | sed 's/^/  /'
fi
