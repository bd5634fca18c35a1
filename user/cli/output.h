/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Where the final result goes: stdout, or -o FILE written to a temporary
 * file in the same directory and renamed into place on success, so a failed
 * or interrupted write never leaves a truncated file under the final name.
 */
#ifndef PARKWATCH_OUTPUT_H
#define PARKWATCH_OUTPUT_H

#include <stdio.h>

struct output {
	FILE *stream;
	char *final_path;           /* NULL for stdout */
	char *temp_path;
};

/* path NULL or "-": stdout.  Returns 0 or a negative errno. */
int output__open(struct output *out, const char *path);
/* Flushes and, for a file, syncs and renames it into place. 0 or -errno. */
int output__commit(struct output *out);
/* Drops an unfinished file. */
void output__abort(struct output *out);

#endif /* PARKWATCH_OUTPUT_H */
