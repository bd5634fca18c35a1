/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The goroutine source: a Go process's goroutines, read from outside by the
 * Go runtime reader (go/goproc.h), turned into goroutine units of a
 * picture as the runtime's own /debug/pprof/goroutine would show them: pcs
 * named by the process's symbolizer, the frames Go's tracebacks hide
 * (compiler-generated wrappers, the final runtime.goexit) kept out of what
 * dumps show.
 *
 * It keeps, per process, the opened reader (until an exec) and when each
 * goroutine was first seen in its current wait: the runtime's waitsince is
 * only set by a garbage collection, so park ages run from that first sight.
 */
#ifndef PARKWATCH_GOROUTINES_H
#define PARKWATCH_GOROUTINES_H

#include <linux/types.h>
#include "model/picture.h"
#include "proc/procs.h"
#include "util/budget.h"

/* Goroutines whose first sight is remembered, per process at most; beyond
 * that new ones age from each picture. */
#define GOROUTINES_AGES_MAX (1u << 21)

struct goroutines;

/* keep_ages: remember when each goroutine was first seen waiting, for park
 * ages across pictures (a one-off picture has no use for them: every
 * goroutine is first seen in it, and its park age is 0). */
struct goroutines *goroutines__new(bool keep_ages);
/* NULL-safe. */
void goroutines__free(struct goroutines *goroutines);
/*
 * Adds the goroutines of proc's process (from procs__get in the current
 * snapshot: its symbols name the pcs) to picture, with the process's
 * summary; now_ns is CLOCK_MONOTONIC.  budget (NULL: none) bounds the
 * reading: where it runs out, the goroutines read so far are added and the
 * process's cut_short says why (a time or memory budget spent is counted
 * as GAVEUP_GO_BUDGET_EXCEEDED).  Returns 0, -ENOEXEC (not a Go
 * program), -ENODATA (a Go binary whose goroutines can't be found:
 * goroutines__why says why), -ESRCH (gone), -EACCES,
 * -EBADMSG (its goroutine list made no sense) or -ENOMEM; on error the
 * picture has nothing of the process.
 */
int goroutines__add(struct goroutines *goroutines, struct pw_picture *picture, struct proc *proc,
		    __u64 now_ns, struct budget *budget);
/* Forgets processes not read since the call before: they exited, or are
 * no longer shown by their goroutines. */
void goroutines__prune(struct goroutines *goroutines);
/* Why goroutines__add failed, for "parkwatch: process N: <this>". */
const char *goroutines__strerror(int err);
/* More on pid's last goroutines__add, in a phrase: why its goroutines
 * can't be read (after goroutines__strerror's "...can't be read: "), or,
 * when they were, what reading them took on trust (a Go release newer than
 * parkwatch, read with the newest layout it knows); NULL when nothing. */
const char *goroutines__why(const struct goroutines *goroutines, pid_t pid);

#endif /* PARKWATCH_GOROUTINES_H */
