/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Groups of parked threads that share process, wait reason, timeout and
 * stack: the unit of the dumps, the profiles and the growth trends.
 */
#ifndef PARKWATCH_GROUP_H
#define PARKWATCH_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct thread_info;

struct group {
	__u64 signature;            /* stable across snapshots for the same stack */
	pid_t pid;
	const char *reason;
	bool has_timeout;
	size_t count;
	__u64 oldest_park_ns;
	const struct thread_info **members; /* oldest first */
};

/* Signature of one thread's group: process, reason, timeout and stack pcs. */
__u64 group__signature(const struct thread_info *thread);
/* Groups the parked threads; largest group first.  0 or -ENOMEM. */
int group__build(const struct thread_info *threads, size_t count, struct group **out,
		 size_t *group_count);
void group__free_all(struct group *groups, size_t count);

#endif /* PARKWATCH_GROUP_H */
