/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Where the final result goes: stdout, or -o FILE.  A regular file (or a new
 * name) is written to an unnamed temporary file in its directory and linked
 * and renamed into place on success, so a failed, interrupted or killed
 * write never leaves a truncated file under the final name nor a temporary
 * one beside it.  A symlink is followed to the file it names, which is
 * replaced in its own directory; a device node or FIFO is written through,
 * like a shell's `>`.
 */
#ifndef PARKWATCH_OUTPUT_H
#define PARKWATCH_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

struct output {
	FILE *stream;
	int fd;                     /* -1 for stdout */
	int write_errno;            /* the first failed write's errno */
	char *final_path;           /* the file to replace; NULL: stdout or a node */
	char *temp_path;            /* the temporary file's name, while it has one */
};

/*
 * path NULL or "-": stdout.  keep_owner: a replaced file's owner and group
 * are given to the new one; not when the broker is to link it into place,
 * which it may not do with another user's file (protected_hardlinks).
 * Returns 0 or a negative errno.
 */
int output__open(struct output *out, const char *path, bool keep_owner);
/* Flushes and, for a file, syncs and renames it into place. 0 or -errno:
 * a failed write's own errno (ENOSPC, EDQUOT ...) rather than EIO. */
int output__commit(struct output *out);
/*
 * The last step of output__commit, on its own for the broker (which runs
 * it on its copy of out, made when out was opened): the finished file put
 * in place, or output__discard'ed.  0 or -errno.
 */
int output__place(struct output *out);
/* Removes a named temporary file (the O_TMPFILE one needs nothing). */
int output__discard(struct output *out);
/* Drops an unfinished file; returns the error to report for ERR, the
 * renderer's: a failed write's own errno when there was one. */
int output__abort(struct output *out, int err);

#endif /* PARKWATCH_OUTPUT_H */
