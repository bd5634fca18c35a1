/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The privileged broker's protocol, its checks and its client.  After
 * start-up parkwatch runs as an unprivileged user; a small child that kept
 * the capabilities reading needs opens other processes' /proc files for it
 * and hands back file descriptors (SCM_RIGHTS over a SOCK_SEQPACKET pair).
 * It opens read-only, only what broker__check_path allows, never a FIFO or
 * device for real, and links -o's finished file into place once.
 */
#ifndef PARKWATCH_BROKER_H
#define PARKWATCH_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BROKER_PATH_MAX 128         /* "/proc/PID/task/TID/fdinfo/N" and the like */

enum broker_op {
	BROKER_OPEN = 1,            /* path, flags -> fd */
	BROKER_READLINK = 2,        /* path -> text */
	BROKER_COMMIT = 3,          /* flags 1: put -o's file in place, 0: drop it */
	BROKER_READ = 4,            /* path -> its first BROKER_READ_MAX bytes */
};

/* /proc/PID/syscall checks ptrace rights at each read, not at open: such
 * files are read by the broker itself, this much at most */
#define BROKER_READ_MAX 4096

struct broker_request {
	uint32_t op;
	int32_t flags;
	char path[BROKER_PATH_MAX]; /* not terminated on the wire: the length says */
};

/* What may be asked for, and how: true if path (len bytes) names a file
 * under /proc/PID/ the broker serves with those open flags. */
bool broker__check_path(const char *path, size_t len, int flags);
/*
 * A received message of len bytes as a request: checked, the path
 * terminated.  0, or -EINVAL for anything malformed or not allowed.
 */
int broker__parse_request(const void *message, size_t len, struct broker_request *request);

/*
 * How a file is opened, by the broker and without it alike: a handle first
 * (O_PATH opens nothing for real), returned as such for O_PATH; else, for a
 * regular file or an asked-for directory, a real open through it (-EINVAL
 * for a FIFO or device).  An fd or -errno.
 */
int broker__open_here(const char *path, int flags);

/* What COMMIT does in the broker: 0 or -errno. */
typedef int (*broker_commit_fn)(void *ctx, bool keep);

/*
 * The broker's loop over socket until its peer goes away: serves each
 * request on its own.  commit (may be NULL) is run at most once.
 */
void broker__serve(int socket, broker_commit_fn commit, void *commit_ctx);

/* The client, used by every thread of the main process (serialized). */
void broker__connect(int socket);
bool broker__connected(void);
/* Notices a broker that died though nothing was asked of it since (a
 * picture of processes that all stayed as they were reads nothing through
 * it): said and counted as a request it can't answer is. */
void broker__check(void);
/* fd, or -errno. */
int broker__open(const char *path, int flags);
/* length written (terminated, cut to size - 1), or -errno. */
ssize_t broker__readlink(const char *path, char *buf, size_t size);
/* The file's first bytes into buf, terminated and cut like readlink's. */
ssize_t broker__read(const char *path, char *buf, size_t size);
int broker__commit(bool keep);

#endif /* PARKWATCH_BROKER_H */
