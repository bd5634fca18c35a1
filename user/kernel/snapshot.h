/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * One run of the snapshot iterator: every watched thread with its state,
 * park start, wait context and, for long parks, the captured user registers
 * and stack bytes.
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

/* Returns 0 or a negative errno. */
int snapshot__collect(struct tracker *tracker, struct snapshot **out);
/* Parses raw iterator output; buf is taken over.  For tests and collect. */
int snapshot__parse(void *buf, size_t len, struct snapshot **out);
void snapshot__free(struct snapshot *snap);

#endif /* PARKWATCH_SNAPSHOT_H */
