// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Atomic file output (output.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include "cli/output.h"
#include "util/broker.h"

/* as many as the kernel follows in one path (MAXSYMLINKS) */
#define MAX_LINK_HOPS 40
#define TEMP_NAME_TRIES 100

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* What fs.protected_symlinks allows: in a sticky world-writable directory
 * (/tmp) only our own links and the directory owner's are followed, so
 * another user's link there cannot aim root's output at a file of theirs. */
static bool may_follow(const struct stat *link, const struct stat *dir)
{
	bool shared = (dir->st_mode & (S_ISVTX | S_IWOTH)) == (S_ISVTX | S_IWOTH);

	return !shared || link->st_uid == geteuid() || link->st_uid == dir->st_uid;
}

/* The next name on from the symlink LINK (with status LINK_ST). */
static int read_link(const char *link, const struct stat *link_st, char **next)
{
	char target[PATH_MAX], *dir = dir_of(link);
	struct stat dir_st;
	ssize_t len = 0;
	int err = 0;

	if (!dir)
		return -ENOMEM;
	if (stat(dir, &dir_st))
		err = -errno;
	else if (!may_follow(link_st, &dir_st))
		err = -EACCES;
	else if ((len = readlink(link, target, sizeof(target) - 1)) < 0)
		err = -errno;
	else if (len == sizeof(target) - 1)
		err = -ENAMETOOLONG;
	if (!err) {
		target[len] = '\0';
		if (target[0] == '/')
			*next = strdup(target);
		else if (asprintf(next, "%s/%s", dir, target) < 0)
			*next = NULL;
		if (!*next)
			err = -ENOMEM;
	}
	free(dir);
	return err;
}

/* The name PATH's symlinks lead to (existing or not), as `>` would write
 * it: that file is replaced and the links stay. */
static int follow_links(const char *path, char **resolved)
{
	char *current = strdup(path), *next;
	struct stat link_st;
	int err = current ? -ELOOP : -ENOMEM;

	for (int hop = 0; current && hop < MAX_LINK_HOPS; hop++) {
		bool missing = lstat(current, &link_st) != 0;

		if (missing && errno != ENOENT) {
			err = -errno;
			break;
		}
		if (missing || !S_ISLNK(link_st.st_mode)) {
			*resolved = current;
			return 0;
		}
		err = read_link(current, &link_st, &next);
		free(current);
		if (err)
			return err;
		current = next;
		err = -ELOOP;
	}
	free(current);
	return err;
}

/* The stream's writes, so that a failure keeps its own errno (ENOSPC)
 * where stdio would only say the stream has an error. */
static ssize_t write_fd(void *cookie, const char *buf, size_t size)
{
	struct output *out = cookie;
	size_t done = 0;

	while (done < size) {
		ssize_t written = write(out->fd, buf + done, size - done);

		if (written < 0 && errno == EINTR)
			continue;
		if (written <= 0) {
			if (!out->write_errno)
				out->write_errno = written < 0 ? errno : EIO;
			errno = out->write_errno;
			return (ssize_t)done;
		}
		done += (size_t)written;
	}
	return (ssize_t)size;
}

static int open_stream(struct output *out)
{
	out->stream = fopencookie(out, "w", (cookie_io_functions_t){ .write = write_fd });
	return out->stream ? 0 : -ENOMEM;
}

/* A device node or FIFO, written through.  A FIFO without a reader fails
 * at once (ENXIO) rather than blocking where the stop signals are held. */
static int open_node(struct output *out, const char *path)
{
	int flags;

	out->fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (out->fd < 0)
		return -errno;
	flags = fcntl(out->fd, F_GETFL);
	if (flags < 0 || fcntl(out->fd, F_SETFL, flags & ~O_NONBLOCK))
		return -errno;
	return open_stream(out);
}

/*
 * The temporary file, in DIR: unnamed (O_TMPFILE), so that nothing is left
 * however the process ends; named by mkstemp where the filesystem has no
 * unnamed files.  Mode 0666 less the umask, as `>` creates a file.
 */
static int create_temp(struct output *out, const char *dir)
{
	mode_t umask_bits;

	out->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (out->fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	if (asprintf(&out->temp_path, "%s.tmp.XXXXXX", out->final_path) < 0) {
		out->temp_path = NULL;
		return -ENOMEM;
	}
	out->fd = mkostemp(out->temp_path, O_CLOEXEC);
	if (out->fd < 0) {
		free(out->temp_path);
		out->temp_path = NULL;
		return -errno;
	}
	umask_bits = umask(0);
	umask(umask_bits);
	return fchmod(out->fd, 0666 & ~umask_bits) ? -errno : 0;
}

/* Replacing a file keeps its permissions and, where we may give it away,
 * its owner and group (the mode first: the file may no longer be ours). */
static int keep_owner_and_mode(int fd, const struct stat *old, bool keep_owner)
{
	if (fchmod(fd, old->st_mode & 0777))
		return -errno;
	if (keep_owner && fchown(fd, old->st_uid, old->st_gid))
		(void)!fchown(fd, (uid_t)-1, old->st_gid); /* else it stays ours */
	return 0;
}

/* -o /dev/stdout, or any other name of what stdout already is. */
static bool names_stdout(const struct stat *st)
{
	struct stat stdout_st;

	return !fstat(STDOUT_FILENO, &stdout_st) && stdout_st.st_dev == st->st_dev &&
	       stdout_st.st_ino == st->st_ino;
}

static void release(struct output *out)
{
	free(out->temp_path);
	free(out->final_path);
	memset(out, 0, sizeof(*out));
	out->fd = -1;
}

int output__open(struct output *out, const char *path, bool keep_owner)
{
	struct stat st;
	bool exists;
	char *dir = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	exists = path && !stat(path, &st);
	if (!path || !strcmp(path, "-") || (exists && names_stdout(&st))) {
		out->stream = stdout;
		return 0;
	}
	if (!exists && errno != ENOENT)
		return -errno;
	if (exists && S_ISDIR(st.st_mode))
		return -EISDIR;
	if (exists && !S_ISREG(st.st_mode))
		err = open_node(out, path);
	else if (!(err = follow_links(path, &out->final_path)) &&
		 !(dir = dir_of(out->final_path)))
		err = -ENOMEM;
	if (!err && dir)
		err = create_temp(out, dir);
	if (!err && dir && exists)
		err = keep_owner_and_mode(out->fd, &st, keep_owner);
	if (!err && !out->stream)
		err = open_stream(out);
	free(dir);
	if (err)
		output__abort(out, err);
	return err;
}

/* Names the unnamed temporary file: FINAL itself when it is new, else a
 * free name beside it, then renamed over it. */
static int link_into_place(struct output *out)
{
	char fd_path[32];
	int err;

	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", out->fd);
	if (!linkat(AT_FDCWD, fd_path, AT_FDCWD, out->final_path, AT_SYMLINK_FOLLOW))
		return 0;
	if (errno != EEXIST)
		return -errno;
	for (int try = 0; try < TEMP_NAME_TRIES; try++) {
		unsigned int suffix;

		if (getrandom(&suffix, sizeof(suffix), 0) != sizeof(suffix))
			return -errno;
		free(out->temp_path);
		if (asprintf(&out->temp_path, "%s.tmp.%08x", out->final_path, suffix) < 0) {
			out->temp_path = NULL;
			return -ENOMEM;
		}
		if (!linkat(AT_FDCWD, fd_path, AT_FDCWD, out->temp_path, AT_SYMLINK_FOLLOW))
			return rename(out->temp_path, out->final_path) ? -errno : 0;
		if (errno != EEXIST)
			break;
	}
	err = -errno;
	free(out->temp_path);
	out->temp_path = NULL;
	return err;
}

int output__place(struct output *out)
{
	int err = out->temp_path ? (rename(out->temp_path, out->final_path) ? -errno : 0) :
				   link_into_place(out);

	if (err)
		output__discard(out);
	return err;
}

int output__discard(struct output *out)
{
	return out->temp_path && unlink(out->temp_path) ? -errno : 0;
}

int output__commit(struct output *out)
{
	int err = 0;

	if (fflush(out->stream) || ferror(out->stream))
		err = -(out->write_errno ? out->write_errno : errno ? errno : EIO);
	if (out->fd < 0)
		return err;
	/* a device or FIFO has nothing to sync */
	if (!err && out->final_path && fsync(out->fd))
		err = -errno;
	fclose(out->stream);
	out->stream = NULL;
	/* without privileges, the broker names the file, as this process
	 * could have when it made it */
	if (out->final_path && broker__connected()) {
		int placed = broker__commit(!err);

		err = err ? err : placed;
	} else if (!err && out->final_path) {
		err = output__place(out);
	} else if (err) {
		output__discard(out);
	}
	if (close(out->fd) && !err)
		err = -errno;
	out->fd = -1;
	release(out);
	return err;
}

int output__abort(struct output *out, int err)
{
	if (out->write_errno)
		err = -out->write_errno;
	if (out->fd >= 0) {
		if (out->stream)
			fclose(out->stream);
		close(out->fd);
		if (out->final_path && broker__connected())
			broker__commit(false);
		else
			output__discard(out);
	}
	release(out);
	return err;
}
