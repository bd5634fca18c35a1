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

#include <stdio.h>

struct output {
	FILE *stream;
	int fd;                     /* -1 for stdout */
	int write_errno;            /* the first failed write's errno */
	char *final_path;           /* the file to replace; NULL: stdout or a node */
	char *temp_path;            /* the temporary file's name, while it has one */
};

/* path NULL or "-": stdout.  Returns 0 or a negative errno. */
int output__open(struct output *out, const char *path);
/* Flushes and, for a file, syncs and renames it into place. 0 or -errno:
 * a failed write's own errno (ENOSPC, EDQUOT ...) rather than EIO. */
int output__commit(struct output *out);
/* Drops an unfinished file; returns the error to report for ERR, the
 * renderer's: a failed write's own errno when there was one. */
int output__abort(struct output *out, int err);

#endif /* PARKWATCH_OUTPUT_H */
