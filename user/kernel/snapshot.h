/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A snapshot: every watched thread with its state, park start, wait context
 * and, for long parks, the captured user registers and stack bytes, as the
 * BPF task iterator writes them.
 *
 * Successive snapshots (struct snapshots) read only what changed: the BPF
 * side marks each process one of whose threads left or took a CPU, exited,
 * moved cgroup or was renamed (tracker__take_changed).  A process without
 * a mark is as the last snapshot saw it but for the time, so its records
 * are carried over and only the marked ones are read again, each by an
 * iterator over its own threads.  Every task is read in the first
 * snapshot, at least once a minute, and when so many processes changed
 * that one iterator is cheaper.
 */
#ifndef PARKWATCH_SNAPSHOT_H
#define PARKWATCH_SNAPSHOT_H

#include <stddef.h>
#include "park.h"
#include "kernel/tracker.h"

struct thread_sample {
	const struct task_record *rec;
	const __u64 *kstack;        /* rec->kstack_depth addresses, or NULL */
	const __u8 *ustack;         /* rec->ustack_bytes bytes from rec->regs[PW_REG_SP], or NULL */
};

struct snapshot {
	struct thread_sample *threads;
	size_t count;
	void *buf;                  /* the raw iterator output the samples point into */
	size_t buf_len;
};

struct snapshots;

struct snapshots *snapshots__new(struct tracker *tracker);
void snapshots__free(struct snapshots *snaps);
/* The next snapshot, the snapshots' own until the next call.  0 or a
 * negative errno (then the next one reads every task). */
int snapshots__take(struct snapshots *snaps, const struct snapshot **out);

/* Parses raw iterator output; buf is taken over.  For tests and take. */
int snapshot__parse(void *buf, size_t len, struct snapshot **out);
/* Marks in changed (a bit per tgid) the processes of last with a thread
 * whose stack is due: parked min_park_ns by now_ns, none copied yet.  For
 * tests and take. */
void snapshot__mark_due(const struct snapshot *last, __u64 *changed, __u64 now_ns,
			__u64 min_park_ns);
/*
 * The records of last's processes not marked in changed, as of now_ns,
 * moved to the front of last's own buffer, which becomes *buf (*len bytes
 * of records, as much room as last had): without stack bytes (the stacks
 * were unwound from last, and are cached for their parks), kernel
 * addresses kept.  last is left empty, to be freed.  For tests and take.
 */
void snapshot__carry(struct snapshot *last, const __u64 *changed, __u64 now_ns, void **buf,
		     size_t *len);
void snapshot__free(struct snapshot *snap);

#endif /* PARKWATCH_SNAPSHOT_H */
