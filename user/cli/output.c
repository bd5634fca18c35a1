// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Atomic file output (output.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cli/output.h"

int output__open(struct output *out, const char *path)
{
	int fd, err;

	memset(out, 0, sizeof(*out));
	if (!path || !strcmp(path, "-")) {
		out->stream = stdout;
		return 0;
	}
	out->final_path = strdup(path);
	if (!out->final_path || asprintf(&out->temp_path, "%s.tmp.XXXXXX", path) < 0) {
		free(out->final_path);
		out->final_path = NULL;
		return -ENOMEM;
	}
	fd = mkstemp(out->temp_path);
	if (fd < 0 || !(out->stream = fdopen(fd, "w"))) {
		err = -errno;
		if (fd >= 0) {
			close(fd);
			unlink(out->temp_path);
		}
		free(out->temp_path);
		free(out->final_path);
		memset(out, 0, sizeof(*out));
		return err;
	}
	/* mkstemp makes the file 0600; a profile is for sharing */
	if (fchmod(fd, 0644))
		fprintf(stderr, "parkwatch: %s: keeping mode 0600: %s\n", path, strerror(errno));
	return 0;
}

int output__commit(struct output *out)
{
	int err = 0;

	if (fflush(out->stream) || ferror(out->stream))
		err = -(errno ? errno : EIO);
	if (!out->final_path)
		return err;
	if (!err && fsync(fileno(out->stream)))
		err = -errno;
	if (fclose(out->stream) && !err)
		err = -errno;
	out->stream = NULL;
	if (!err && rename(out->temp_path, out->final_path))
		err = -errno;
	if (err)
		unlink(out->temp_path);
	free(out->temp_path);
	free(out->final_path);
	memset(out, 0, sizeof(*out));
	return err;
}

void output__abort(struct output *out)
{
	if (!out->final_path)
		return;
	if (out->stream)
		fclose(out->stream);
	unlink(out->temp_path);
	free(out->temp_path);
	free(out->final_path);
	memset(out, 0, sizeof(*out));
}
