// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * parkwatch's own health on /metrics (prometheus.h): what it is, how its
 * pictures go, what it gave up on, and the process_* series every
 * Prometheus client library exports.
 */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "model/pw_stats.h"
#include "model/totals.h"
#include "out/prometheus.h"
#include "util/gaveup.h"
#include "util/procfs.h"
#include "util/units.h"

static size_t open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	size_t count = 0;

	if (!dir)
		return 0;
	while (readdir(dir))
		count++;
	closedir(dir);
	return count > 3 ? count - 3 : 0; /* ".", ".." and the directory's own fd */
}

/* When this process started, in Unix seconds: its start ticks since boot
 * on the wall clock. */
static double process_start_seconds(void)
{
	unsigned long long start_ticks = procfs__start_ticks(getpid());
	struct timespec now, uptime;

	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_BOOTTIME, &uptime);
	return now.tv_sec - uptime.tv_sec + (now.tv_nsec - uptime.tv_nsec) / (double)NSEC_PER_SEC +
	       (double)start_ticks / sysconf(_SC_CLK_TCK);
}

/* What this parkwatch is: its version, the libbpf it was built with and the
 * kernel it runs on (what decides which BPF features a host has). */
static void write_build_info(FILE *out)
{
	struct utsname host;

	if (uname(&host))
		strcpy(host.release, "");
	prometheus__family(out, "parkwatch_build_info", "gauge",
			   "Always 1: parkwatch's version, its libbpf's, the kernel's release and "
			   "the machine.");
	fprintf(out, "parkwatch_build_info{version=\"%s\",libbpf=\"%s\",kernel=", PARKWATCH_VERSION,
		libbpf_version_string());
	prometheus__label_value(out, host.release);
	fputs(",machine=", out);
	prometheus__label_value(out, host.machine);
	fputs("} 1\n", out);
}

/* The shared symbol and debug-info cache (--memory-limit): what it holds
 * against its budget, and how often a lookup found its file loaded. */
static void write_module_cache(FILE *out, const struct bytelru_stats *cache)
{
	prometheus__family(out, "parkwatch_symbol_cache_bytes", "gauge",
			   "Bytes the shared symbol and debug-info cache holds.");
	fprintf(out, "parkwatch_symbol_cache_bytes %zu\n", cache->bytes);
	prometheus__family(out, "parkwatch_symbol_cache_limit_bytes", "gauge",
			   "The shared symbol and debug-info cache's budget (--memory-limit).");
	fprintf(out, "parkwatch_symbol_cache_limit_bytes %zu\n", cache->limit_bytes);
	prometheus__family(out, "parkwatch_symbol_cache_lookups_total", "counter",
			   "Lookups of a file's symbols and debug info, by whether it was loaded.");
	fprintf(out, "parkwatch_symbol_cache_lookups_total{result=\"hit\"} %llu\n",
		(unsigned long long)cache->hits);
	fprintf(out, "parkwatch_symbol_cache_lookups_total{result=\"miss\"} %llu\n",
		(unsigned long long)cache->misses);
	prometheus__family(out, "parkwatch_symbol_cache_evictions_total", "counter",
			   "Files' symbols and debug info evicted from the cache to stay in its "
			   "budget.");
	fprintf(out, "parkwatch_symbol_cache_evictions_total %llu\n",
		(unsigned long long)cache->evictions);
}

void prometheus__write_self(FILE *out, const struct metrics_input *in,
			    const struct pw_totals *totals)
{
	const struct park_hist *hists = totals && totals->has_hists ? totals->hists : NULL;
	struct rusage usage;
	long rss_pages = 0;
	FILE *statm = fopen("/proc/self/statm", "re");
	__u64 parks = 0;

	if (statm) {
		if (fscanf(statm, "%*s %ld", &rss_pages) != 1)
			rss_pages = 0;
		fclose(statm);
	}
	getrusage(RUSAGE_SELF, &usage);
	write_build_info(out);
	prometheus__family(out, "parkwatch_snapshots_total", "counter",
			   "Pictures of the watched threads taken.");
	fprintf(out, "parkwatch_snapshots_total %llu\n", in->snapshots);
	prometheus__family(out, "parkwatch_snapshot_duration_seconds", "gauge",
			   "How long the last picture took: BPF iterator, unwinding, symbolization.");
	fprintf(out, "parkwatch_snapshot_duration_seconds %.6f\n", in->snapshot_seconds);
	prometheus__family(out, "parkwatch_last_snapshot_timestamp_seconds", "gauge",
			   "When the latest picture was taken, in seconds since the epoch (0: none "
			   "yet).");
	fprintf(out, "parkwatch_last_snapshot_timestamp_seconds %.3f\n",
		in->picture ? (double)in->picture->time_unix_ns / NSEC_PER_SEC : 0.0);
	prometheus__family(out, "parkwatch_parks_total", "counter",
			   "Parks that ended, counted in BPF.");
	for (int reason = 0; hists && reason < PARK_REASON__COUNT; reason++)
		parks += hists[reason].count;
	fprintf(out, "parkwatch_parks_total %llu\n", parks);
	prometheus__family(out, "parkwatch_dropped_total", "counter",
			   "Exited threads' park counts lost because the BPF map was full.");
	fprintf(out, "parkwatch_dropped_total %llu\n", in->dropped);
	prometheus__family(out, "parkwatch_bpf_gave_up_total", "counter",
			   "Times the BPF programs gave up on something, by reason; "
			   "exited_dropped is parkwatch_dropped_total.");
	for (size_t i = 0; i < PW_STATS_COUNT; i++)
		fprintf(out, "parkwatch_bpf_gave_up_total{reason=\"%s\"} %llu\n",
			pw_stat_names[i].reason, pw_stats__value(&in->bpf_stats, i));
	prometheus__family(out, "parkwatch_gave_up_total", "counter",
			   "Times parkwatch's userspace gave up on something, by reason.");
	for (int i = 0; i < GAVEUP__COUNT; i++)
		fprintf(out, "parkwatch_gave_up_total{reason=\"%s\"} %llu\n", gaveup_names[i].reason,
			(unsigned long long)gaveup__value(i));
	prometheus__family(out, "parkwatch_bpf_map_fullness_ratio", "gauge",
			   "Entries used over capacity of the BPF map of exited threads' parks.");
	fprintf(out, "parkwatch_bpf_map_fullness_ratio %.6f\n",
		totals && totals->exited_capacity ?
			(double)totals->exited_entries / totals->exited_capacity : 0.0);
	prometheus__family(out, "parkwatch_symbol_cache_entries", "gauge",
			   "Symbolized addresses cached.");
	fprintf(out, "parkwatch_symbol_cache_entries %zu\n", in->symbol_cache_entries);
	write_module_cache(out, &in->symbol_cache);
	prometheus__family(out, "process_cpu_seconds_total", "counter",
			   "User and system CPU time spent.");
	fprintf(out, "process_cpu_seconds_total %.6f\n",
		usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
			(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
	prometheus__family(out, "process_resident_memory_bytes", "gauge", "Resident memory size.");
	fprintf(out, "process_resident_memory_bytes %ld\n", rss_pages * sysconf(_SC_PAGESIZE));
	prometheus__family(out, "process_open_fds", "gauge", "Open file descriptors.");
	fprintf(out, "process_open_fds %zu\n", open_fds());
	prometheus__family(out, "process_start_time_seconds", "gauge", "Start time since the epoch.");
	fprintf(out, "process_start_time_seconds %.3f\n", process_start_seconds());
}
