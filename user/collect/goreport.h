/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Goroutine mode: one picture of a Go process as its own runtime would show
 * it in /debug/pprof/goroutine, taken from outside.  Goroutines come from
 * goruntime (read through the process's cached goproc), their pcs are named
 * by symbolize__user like any thread's, and the frames Go's tracebacks hide
 * (compiler-generated wrappers, runtime.goexit) are left out.  User
 * goroutines are grouped by (wait reason or status, stack), the unit the
 * live table, the trend engine and the profiles work with.
 *
 * A picture owns everything it points to (names are copied out of the
 * symbol cache), so it may outlive the snapshot it was taken in.  Its
 * writers, one per output format, are in goexport.c.
 */
#ifndef PARKWATCH_GOREPORT_H
#define PARKWATCH_GOREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>
#include "cli/options.h"
#include "proc/procs.h"
#include "proc/symbolize.h"
#include "proc/unwind.h"

/* A stack shared by every goroutine parked on it. */
struct gostack {
	__u64 signature;            /* of the pcs: the same for the same stack in every picture */
	int depth;                  /* frames shown: wrappers and the final runtime.goexit left out */
	int pc_count;               /* depth, plus runtime.goexit when the walk reached it */
	struct stack_frame *frames; /* pc_count of them, leaf first: the pc as found, and
				     * lookup_pc, the pc inside the call, which names it */
	const struct symbol **symbols; /* per frame, never NULL; function names as Go prints
					* them (".abi0" stripped); frame_count 0 when unknown */
	bool truncated;             /* the walk stopped early: deeper frames are missing */
};

struct gogroup;

struct goroutine_info {
	__u64 goid;
	__u64 parent_goid;          /* 0: none, or a Go before 1.21 (no parentGoid) */
	const char *status;         /* "waiting", "runnable", "running", "syscall", ... */
	const char *wait_reason;    /* waiting: the runtime's text ("chan receive"); else NULL */
	const char *reason;         /* wait_reason, else the status: what dumps and groups show */
	__u64 wait_ns;              /* blocked this long, by the runtime's waitsince, which only
				     * a garbage collection sets: 0 when not known yet */
	pid_t tid;                  /* running or in a syscall: its thread, when known; else 0 */
	bool system;                /* a runtime goroutine: Go's dumps leave it out */
	bool locked;                /* locked to its thread (runtime.LockOSThread) */
	const struct gostack *stack; /* NULL when there is none (running, in a syscall) */
	__u64 gopc;                 /* return address of the `go` statement; 0 when none */
	const struct symbol *creator; /* at gopc - 1; NULL for goroutine 1 or without gopc */
	const struct gogroup *group; /* NULL for a system goroutine */
};

/* User goroutines with the same reason and stack. */
struct gogroup {
	__u64 signature;            /* of pid, reason and stack: stable across pictures */
	pid_t pid;
	const char *reason;         /* wait reason, or the status when not waiting */
	bool has_timeout;           /* a sleep or timer wait: it ends by itself */
	size_t count;
	__u64 oldest_wait_ns;       /* the longest wait_ns among the members; 0 if none known */
	const struct gostack *stack; /* NULL: stackless (running, in a syscall) */
	/* Where the members wait, for one-line tables: the first frame in the
	 * program's own code (outside GOROOT), else the first frame Go's
	 * debug=1 shows; NULL without a stack or names. */
	const struct symbol_frame *where;
	const struct symbol *creator; /* the first member's creator */
	const struct goroutine_info *const *members; /* count of them, in allgs order */
};

struct goreport;

/*
 * Reads and groups the goroutines of proc's process (proc comes from the
 * current snapshot's procs__get: its symbols name the pcs).  Returns 0,
 * -ENOEXEC (not a Go program), -ENODATA (a Go binary whose goroutines
 * can't be found: stripped with -s, or an unknown runtime), -ESRCH (gone),
 * -EACCES, -EBADMSG (its goroutine list made no sense) or -ENOMEM.  On
 * -ENOEXEC and -ENODATA the caller shows the process's threads instead.
 */
int goreport__build(struct proc *proc, struct goreport **out);
/* goreport__build for pid, through the cache; -ENOMEM when pid has no entry. */
int goreport__read(struct procs *procs, pid_t pid, struct goreport **out);
/* NULL-safe. */
void goreport__free(struct goreport *report);

pid_t goreport__pid(const struct goreport *report);
/* "go1.19.8"; "unknown" when the binary doesn't say. */
const char *goreport__go_version(const struct goreport *report);
/* The main binary's path; NULL when unreadable. */
const char *goreport__exe(const struct goreport *report);
__u64 goreport__time_unix_ns(const struct goreport *report);
/* User goroutines: the "total" of Go's goroutine profile. */
size_t goreport__total(const struct goreport *report);
/* Goroutines dropped because they changed under every attempt to read them. */
size_t goreport__dropped(const struct goreport *report);
/* Go 1.21 and later record the parent: "created by F in goroutine N". */
bool goreport__has_parent_goid(const struct goreport *report);
/* Every live goroutine, system ones included, in allgs order. */
size_t goreport__goroutines(const struct goreport *report, const struct goroutine_info **out);
/* The groups, largest first (then oldest first). */
size_t goreport__groups(const struct goreport *report, const struct gogroup **out);

struct trend;

/*
 * Writes the picture (goexport.c).  FORMAT_TEXT: debug 1, the runtime's
 * debug=1 shape (one block per stack); debug 2, its traceback shape (one
 * entry per goroutine).  FORMAT_JSON: one document on one line.
 * FORMAT_PPROF: a goroutine profile (goroutine/count).  FORMAT_FOLDED:
 * one line per group, root first, the reason as the leaf.  trend (may be
 * NULL), when fed the groups' signatures, marks suspects in profiles as it
 * does for threads.  0 or a negative errno.
 */
int goreport__write(FILE *out, enum output_format format, int debug,
		    const struct goreport *report, const struct trend *trend);

/* Why goreport__build failed, for "parkwatch: process N: <this>". */
const char *goreport__strerror(int err);

#endif /* PARKWATCH_GOREPORT_H */
