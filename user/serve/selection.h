/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Which watched processes a profile request means: one pid, or every
 * process with a name, an executable or a cgroup.  Names outlive pids, so
 * a scraper's URL stays right across restarts of what it scrapes.
 */
#ifndef PARKWATCH_SELECTION_H
#define PARKWATCH_SELECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "model/picture.h"

enum selector_kind {
	SELECT_ALL,
	SELECT_PID,
	SELECT_COMM,                /* /proc/PID/comm, exactly */
	SELECT_EXE,                 /* /proc/PID/exe's target, exactly */
	SELECT_CGROUP,              /* the cgroup v2 directory or one below it */
	SELECT__COUNT,
};

/* The query parameter of each kind: "", "pid", "comm", "exe", "cgroup". */
extern const char *const selector_names[SELECT__COUNT];

struct selector {
	enum selector_kind kind;
	const char *value;          /* the query's text; for SELECT_PID, pid */
	pid_t pid;
};

/* Whether proc is one the selector means. */
bool selection__matches(const struct selector *selector, const struct pw_process *proc);

#endif /* PARKWATCH_SELECTION_H */
