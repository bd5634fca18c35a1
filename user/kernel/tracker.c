// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Load, attach and query the BPF programs (see tracker.h). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/tracker.h"
#include "parkwatch.skel.h"

struct tracker {
	struct parkwatch_bpf *skel; /* both programs, their maps and settings */
	__u64 min_park_ns;
	pid_t *pids;                /* the -p list still watched, ascending; NULL: every process */
	size_t pid_count;
};

static int by_pid(const void *a, const void *b)
{
	pid_t left = *(const pid_t *)a, right = *(const pid_t *)b;

	return left < right ? -1 : left > right;
}

/* libbpf's last warning, so a load failure can name its cause in one line. */
static char libbpf_last_warning[512];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[sizeof(libbpf_last_warning)];
	va_list copy;
	size_t len;

	if (getenv("PARKWATCH_DEBUG_BPF")) {
		va_copy(copy, args);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, args);
	len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == ' '))
		line[--len] = '\0';
	if (len)
		memcpy(libbpf_last_warning, line, len + 1);
	return 0;
}

static int fail(int err, const char *what, char *reason, size_t reason_size)
{
	if (libbpf_last_warning[0])
		snprintf(reason, reason_size, "%s: %s", what, libbpf_last_warning);
	else
		snprintf(reason, reason_size, "%s: %s", what, strerror(-err));
	return err;
}

static int watch_pids(struct tracker *tracker, const struct tracker_opts *opts)
{
	int map_fd = bpf_map__fd(tracker->skel->maps.watched_tgids);
	__u8 one = 1;

	for (size_t i = 0; i < opts->pid_count; i++) {
		__u32 tgid = opts->pids[i];

		if (bpf_map_update_elem(map_fd, &tgid, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Settings and map sizes, between open and load. */
static int configure(struct parkwatch_bpf *skel, const struct tracker_opts *opts)
{
	int err;

	skel->rodata->filter_tgid = opts->pid_count > 0;
	if (opts->comm_count > PARK_MAX_COMMS)
		return -E2BIG;
	skel->rodata->comm_count = (__u32)opts->comm_count;
	for (size_t i = 0; i < opts->comm_count; i++) {
		size_t len = strlen(opts->comms[i]);

		if (len >= PARK_COMM_LEN)
			return -ENAMETOOLONG;
		/* the rest of the slot stays zero: the BPF side compares up to NUL */
		memcpy((char *)skel->rodata->comms[i], opts->comms[i], len + 1);
	}
	skel->rodata->filter_cgroup = opts->cgroup_id != 0;
	skel->rodata->cgroup_id = opts->cgroup_id;
	skel->rodata->min_park_ns = opts->min_park_ns;
	skel->rodata->want_kernel_stacks = opts->kernel_stacks;
	/* the filter only ever loses processes: it needs room for the -p list */
	err = bpf_map__set_max_entries(skel->maps.watched_tgids,
				       opts->pid_count ? opts->pid_count : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.exited_parks,
					       opts->exited_capacity ? opts->exited_capacity
								     : PARK_EXITED_CAPACITY);
	return err;
}

int tracker__open(const struct tracker_opts *opts, struct tracker **out, char *reason,
		  size_t reason_size)
{
	struct tracker *tracker;
	int err;

	libbpf_set_print(libbpf_print);
	libbpf_last_warning[0] = '\0';
	tracker = calloc(1, sizeof(*tracker));
	if (!tracker)
		return -ENOMEM;

	tracker->skel = parkwatch_bpf__open();
	if (!tracker->skel) {
		err = fail(-errno, "opening the BPF object", reason, reason_size);
		goto cleanup;
	}
	err = configure(tracker->skel, opts);
	if (err) {
		err = fail(err, "sizing the BPF maps", reason, reason_size);
		goto cleanup;
	}
	err = parkwatch_bpf__load(tracker->skel);
	if (err) {
		err = fail(err, "loading the BPF programs", reason, reason_size);
		goto cleanup;
	}
	err = watch_pids(tracker, opts);
	if (err) {
		fail(err, "filling the watched-process filter", reason, reason_size);
		goto cleanup;
	}
	tracker->min_park_ns = opts->min_park_ns;
	if (opts->pid_count) {
		tracker->pids = malloc(opts->pid_count * sizeof(*tracker->pids));
		if (!tracker->pids) {
			err = -ENOMEM;
			goto cleanup;
		}
		memcpy(tracker->pids, opts->pids, opts->pid_count * sizeof(*tracker->pids));
		qsort(tracker->pids, opts->pid_count, sizeof(*tracker->pids), by_pid);
		tracker->pid_count = opts->pid_count;
	}
	/* the task iterator's link is made here too: tracker__snapshot_fd runs it */
	err = parkwatch_bpf__attach(tracker->skel);
	if (err) {
		err = fail(err, "attaching to sched_switch, sched_process_exit and the task iterator",
			   reason, reason_size);
		goto cleanup;
	}
	*out = tracker;
	return 0;

cleanup:
	tracker__free(tracker);
	return err;
}

void tracker__free(struct tracker *tracker)
{
	if (!tracker)
		return;
	parkwatch_bpf__destroy(tracker->skel);
	free(tracker->pids);
	free(tracker);
}

int tracker__unwatch(struct tracker *tracker, pid_t pid)
{
	__u32 tgid = pid;

	pid_t *at = tracker->pids ? bsearch(&pid, tracker->pids, tracker->pid_count,
					    sizeof(*tracker->pids), by_pid) : NULL;

	if (bpf_map_delete_elem(bpf_map__fd(tracker->skel->maps.watched_tgids), &tgid) &&
	    errno != ENOENT)
		return -errno;
	if (at) {
		memmove(at, at + 1, (tracker->pids + tracker->pid_count - at - 1) * sizeof(*at));
		tracker->pid_count--;
	}
	return 0;
}

bool tracker__watches(const struct tracker *tracker, pid_t tgid)
{
	return !tracker->pids ||
	       bsearch(&tgid, tracker->pids, tracker->pid_count, sizeof(*tracker->pids), by_pid);
}

__u64 tracker__min_park_ns(const struct tracker *tracker)
{
	return tracker->min_park_ns;
}

int tracker__snapshot_fd(struct tracker *tracker)
{
	int fd = bpf_iter_create(bpf_link__fd(tracker->skel->links.park_snapshot));

	return fd < 0 ? -errno : fd;
}

int tracker__process_snapshot_fd(struct tracker *tracker, pid_t tgid)
{
	union bpf_iter_link_info info = { .task.pid = (__u32)tgid };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof(info));
	struct bpf_link *link = bpf_program__attach_iter(tracker->skel->progs.park_snapshot, &opts);
	int fd, err;

	if (!link)
		return -errno;
	/* the stream holds the link: it outlives our handle */
	fd = bpf_iter_create(bpf_link__fd(link));
	err = -errno;
	bpf_link__destroy(link);
	return fd < 0 ? err : fd;
}

void tracker__take_changed(struct tracker *tracker, __u64 *changed)
{
	__u64 *marks = tracker->skel->bss->changed_procs;

	for (size_t i = 0; i < PARK_CHANGED_WORDS; i++)
		changed[i] = __atomic_load_n(&marks[i], __ATOMIC_RELAXED)
				     ? __atomic_exchange_n(&marks[i], 0, __ATOMIC_ACQ_REL)
				     : 0;
}

int tracker__reason_hists(struct tracker *tracker, struct park_hist hists[PARK_REASON__COUNT])
{
	int map_fd = bpf_map__fd(tracker->skel->maps.reason_hists);
	int cpus = libbpf_num_possible_cpus();
	struct park_hist *per_cpu;
	int err = 0;

	if (cpus <= 0)
		return cpus ? cpus : -EINVAL;
	per_cpu = calloc(cpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	memset(hists, 0, PARK_REASON__COUNT * sizeof(*hists));
	for (__u32 reason = 0; reason < PARK_REASON__COUNT && !err; reason++) {
		if (bpf_map_lookup_elem(map_fd, &reason, per_cpu)) {
			err = -errno;
			break;
		}
		/* the BPF side keeps one copy per CPU: add them up */
		for (int cpu = 0; cpu < cpus; cpu++) {
			hists[reason].count += per_cpu[cpu].count;
			hists[reason].total_ns += per_cpu[cpu].total_ns;
			for (int slot = 0; slot < PARK_HIST_SLOTS; slot++)
				hists[reason].slots[slot] += per_cpu[cpu].slots[slot];
		}
	}
	free(per_cpu);
	return err;
}

int tracker__for_each_exited(struct tracker *tracker, tracker_total_fn fn, void *ctx)
{
	int map_fd = bpf_map__fd(tracker->skel->maps.exited_parks);
	struct hist_key key, next_key;
	struct park_total total;
	const void *prev = NULL;
	int visited = 0;

	while (bpf_map_get_next_key(map_fd, prev, &next_key) == 0) {
		if (bpf_map_lookup_elem(map_fd, &next_key, &total) == 0) {
			fn(&next_key, total.count, total.total_ns, ctx);
			visited++;
		}
		key = next_key;
		prev = &key;
	}
	return errno == ENOENT ? visited : -errno;
}

/* Gone, not merely out of reach: kill(0) says ESRCH only for a pid that no
 * process (a zombie is one still) holds. */
static bool process_gone(__u32 tgid)
{
	return tgid > 0 && tgid <= INT_MAX && kill((pid_t)tgid, 0) && errno == ESRCH;
}

int tracker__drain_exited(struct tracker *tracker, tracker_total_fn fn, void *ctx)
{
	int map_fd = bpf_map__fd(tracker->skel->maps.exited_parks);
	size_t capacity = bpf_map__max_entries(tracker->skel->maps.exited_parks), gone = 0;
	struct hist_key *keys = calloc(capacity ? capacity : 1, sizeof(*keys));
	struct hist_key key, last;
	struct park_total total;
	const void *prev = NULL;
	int moved = 0, err;

	if (!keys)
		return -ENOMEM;
	/* the keys first: deleting while walking would restart the walk */
	while (bpf_map_get_next_key(map_fd, prev, &key) == 0) {
		if (gone < capacity && process_gone(key.tgid))
			keys[gone++] = key;
		last = key;
		prev = &last;
	}
	for (size_t i = 0; i < gone; i++) {
		if (bpf_map_lookup_elem(map_fd, &keys[i], &total))
			continue;
		if (bpf_map_delete_elem(map_fd, &keys[i])) {
			err = -errno;
			free(keys);
			return err;
		}
		fn(&keys[i], total.count, total.total_ns, ctx);
		moved++;
	}
	free(keys);
	return moved;
}

size_t tracker__exited_capacity(const struct tracker *tracker)
{
	return bpf_map__max_entries(tracker->skel->maps.exited_parks);
}

int tracker__stats(const struct tracker *tracker, struct pw_stats *out)
{
	/* .bss is mapped into this process: the counters as the programs left them */
	*out = tracker->skel->bss->gave_up;
	return 0;
}
