// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The privileged broker: protocol, checks, server and client (broker.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "util/broker.h"
#include "util/gaveup.h"

#define PROC_PREFIX "/proc/"
/* the flags a request may carry: read-only, nothing that creates */
#define ALLOWED_FLAGS (O_CLOEXEC | O_DIRECTORY | O_PATH | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)

struct broker_reply {
	int32_t result;
	char text[PATH_MAX > BROKER_READ_MAX ? PATH_MAX : BROKER_READ_MAX];
};

/* Digits of a pid or fd at *at (no leading zero, at most 10), stepped over. */
static bool take_number(const char **at, const char *end)
{
	const char *start = *at;

	while (*at < end && **at >= '0' && **at <= '9' && *at - start < 10)
		(*at)++;
	return *at > start && start[0] != '0' && (*at == end || **at == '/');
}

static bool take_slash(const char **at, const char *end)
{
	if (*at == end || **at != '/')
		return false;
	(*at)++;
	return true;
}

static bool take_word(const char **at, const char *end, const char *word)
{
	size_t len = strlen(word);

	if ((size_t)(end - *at) < len || memcmp(*at, word, len) ||
	    (*at + len != end && (*at)[len] != '/'))
		return false;
	*at += len;
	return true;
}

/* One name of [a-z0-9_] (ns/net, net/tcp6, net/unix) up to end. */
static bool is_plain_name(const char *at, const char *end)
{
	if (at == end)
		return false;
	for (; at < end; at++)
		if (!((*at >= 'a' && *at <= 'z') || (*at >= '0' && *at <= '9') || *at == '_'))
			return false;
	return true;
}

/* START-END of /proc/PID/map_files/, lowercase hex as the kernel names them. */
static bool is_mapping_name(const char *at, const char *end)
{
	const char *dash = memchr(at, '-', (size_t)(end - at));

	if (!dash || dash == at || dash + 1 == end || end - at > 33)
		return false;
	for (; at < end; at++)
		if (at != dash && !((*at >= '0' && *at <= '9') || (*at >= 'a' && *at <= 'f')))
			return false;
	return true;
}

/*
 * What lies under /proc/PID/ (or /proc/PID/task/TID/): the files reading a
 * process needs, no more.  Nothing leads out of /proc: root, ns/ and fd/N
 * are magic links to anywhere, so they are served only as O_PATH (a
 * handle to fstat, or a root to resolve in with the caller's own rights).
 */
static bool allowed_tail(const char *at, const char *end, int flags)
{
	static const char *const readable[] = { "maps", "mem", "exe", "comm", "stat", "status",
						"cmdline", "cgroup", "syscall" };
	static const char *const listable[] = { "fd", "task" };
	bool path_only = flags & O_PATH;
	size_t len = (size_t)(end - at);

	for (size_t i = 0; i < sizeof(readable) / sizeof(readable[0]); i++)
		if (len == strlen(readable[i]) && !memcmp(at, readable[i], len))
			return !(flags & O_DIRECTORY);
	for (size_t i = 0; i < sizeof(listable) / sizeof(listable[0]); i++)
		if (len == strlen(listable[i]) && !memcmp(at, listable[i], len))
			return flags & O_DIRECTORY;
	if (take_word(&at, end, "root"))
		return at == end && path_only;
	if (take_word(&at, end, "fd"))
		return take_slash(&at, end) && take_number(&at, end) && at == end && path_only;
	if (take_word(&at, end, "fdinfo"))
		return take_slash(&at, end) && take_number(&at, end) && at == end;
	if (take_word(&at, end, "ns"))
		return take_slash(&at, end) && is_plain_name(at, end) && path_only;
	if (take_word(&at, end, "net"))
		return take_slash(&at, end) && is_plain_name(at, end);
	if (take_word(&at, end, "map_files"))
		return take_slash(&at, end) && is_mapping_name(at, end);
	return false;
}

bool broker__check_path(const char *path, size_t len, int flags)
{
	const char *at = path, *end = path + len;

	if (!len || len >= BROKER_PATH_MAX || memchr(path, '\0', len) ||
	    (flags & ~ALLOWED_FLAGS) || (flags & O_ACCMODE) != O_RDONLY)
		return false;
	if (len <= strlen(PROC_PREFIX) || memcmp(path, PROC_PREFIX, strlen(PROC_PREFIX)))
		return false;
	at += strlen(PROC_PREFIX);
	if (!take_number(&at, end) || !take_slash(&at, end))
		return false;
	/* /proc/PID/task/TID/...: a thread's own files */
	if (end - at > 5 && !memcmp(at, "task/", 5)) {
		at += 5;
		if (!take_number(&at, end) || !take_slash(&at, end))
			return false;
	}
	return at < end && allowed_tail(at, end, flags);
}

int broker__parse_request(const void *message, size_t len, struct broker_request *request)
{
	size_t header = offsetof(struct broker_request, path);
	size_t path_len;

	if (len <= header || len > header + BROKER_PATH_MAX)
		return -EINVAL;
	memcpy(request, message, len);
	path_len = len - header;
	if (request->op == BROKER_COMMIT)
		return path_len == 1 && request->path[0] == '\0' ? 0 : -EINVAL;
	if (request->op != BROKER_OPEN && request->op != BROKER_READLINK &&
	    request->op != BROKER_READ)
		return -EINVAL;
	/* a readlink is asked as an O_PATH handle would be: fd/N, exe */
	if (request->op == BROKER_READLINK)
		request->flags = O_PATH;
	if (request->op == BROKER_READ)
		request->flags = O_RDONLY;
	if (path_len >= BROKER_PATH_MAX ||
	    !broker__check_path(request->path, path_len, request->flags))
		return -EINVAL;
	request->path[path_len] = '\0';
	return 0;
}

/* ---- the broker's side ---- */

static int send_reply(int socket, const struct broker_reply *reply, size_t text_len, int fd)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)reply,
			     .iov_len = offsetof(struct broker_reply, text) + text_len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (fd >= 0) {
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	return sendmsg(socket, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int broker__open_here(const char *path, int flags)
{
	char self[32];
	struct stat st;
	int handle, fd;

	handle = open(path, O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW));
	if (handle < 0)
		return -errno;
	if (flags & O_PATH)
		return handle;
	if (fstat(handle, &st)) {
		fd = -errno;
	} else if (!S_ISREG(st.st_mode) && !(S_ISDIR(st.st_mode) && flags & O_DIRECTORY)) {
		fd = -EINVAL;
	} else {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", handle);
		fd = open(self, flags | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	close(handle);
	return fd;
}

/* Up to size bytes of path (a seq_file hands them out in pieces). */
static ssize_t read_here(const char *path, char *buf, size_t size)
{
	int fd = broker__open_here(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t got = 0;

	if (fd < 0)
		return fd;
	while (len < size && (got = read(fd, buf + len, size - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		len += (size_t)got;
	}
	got = got < 0 ? -errno : (ssize_t)len;
	close(fd);
	return got;
}

void broker__serve(int socket, broker_commit_fn commit, void *commit_ctx)
{
	char message[sizeof(struct broker_request)];
	struct broker_request request;
	struct broker_reply reply;
	size_t text_len;
	ssize_t got;
	int fd;

	for (;;) {
		got = recv(socket, message, sizeof(message), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return;
		fd = -1;
		text_len = 0;
		if (broker__parse_request(message, (size_t)got, &request)) {
			reply.result = -EPERM;
		} else if (request.op == BROKER_OPEN) {
			fd = broker__open_here(request.path, request.flags);
			reply.result = fd < 0 ? fd : 0;
		} else if (request.op == BROKER_READLINK) {
			got = readlink(request.path, reply.text, sizeof(reply.text));
			reply.result = got < 0 ? -errno : (int32_t)got;
			text_len = got < 0 ? 0 : (size_t)got;
		} else if (request.op == BROKER_READ) {
			got = read_here(request.path, reply.text, BROKER_READ_MAX);
			reply.result = (int32_t)got;
			text_len = got < 0 ? 0 : (size_t)got;
		} else {
			reply.result = commit ? commit(commit_ctx, request.flags) : -EALREADY;
			commit = NULL; /* once */
		}
		if (send_reply(socket, &reply, text_len, fd < 0 ? -1 : fd))
			return;
		if (fd >= 0)
			close(fd);
	}
}

/* ---- the client: one request at a time over the one socket ---- */

static int broker_socket = -1;
static pthread_mutex_t broker_lock = PTHREAD_MUTEX_INITIALIZER;
static bool broker_gone;            /* under broker_lock */

/* The broker died (killed, out of memory): said once, counted every time,
 * as nothing of another process can be opened any more. */
static int gone(void)
{
	if (!broker_gone)
		fprintf(stderr, "parkwatch: the privilege broker is gone: other processes' files "
				"can't be opened any more (restart parkwatch)\n");
	broker_gone = true;
	gaveup__count(GAVEUP_BROKER_GONE);
	return -EPIPE;
}

void broker__connect(int socket)
{
	broker_socket = socket;
}

void broker__check(void)
{
	struct pollfd pfd = { .fd = broker_socket };

	if (broker_socket < 0)
		return;
	pthread_mutex_lock(&broker_lock);
	/* its end of the socket closed: it died, whether asked anything or not */
	if (!broker_gone && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR)))
		gone();
	pthread_mutex_unlock(&broker_lock);
}

bool broker__connected(void)
{
	return broker_socket >= 0;
}

/* Sends a request and waits for its reply; *fd gets a passed one (or -1). */
static int ask(uint32_t op, int flags, const char *path, struct broker_reply *reply, size_t *text_len,
	       int *fd)
{
	struct broker_request request = { .op = op, .flags = flags };
	size_t path_len = strlen(path) + (op == BROKER_COMMIT);
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = reply, .iov_len = sizeof(*reply) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg;
	ssize_t got = 0;
	int err = 0;

	*fd = -1;
	if (path_len >= BROKER_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(request.path, path, path_len);
	pthread_mutex_lock(&broker_lock);
	if (broker_gone) {
		err = gone();
	} else if (send(broker_socket, &request, offsetof(struct broker_request, path) + path_len,
			MSG_NOSIGNAL) < 0) {
		err = errno == EPIPE || errno == ECONNRESET ? gone() : -errno;
	} else {
		do
			got = recvmsg(broker_socket, &msg, MSG_CMSG_CLOEXEC);
		while (got < 0 && errno == EINTR);
		if (got == 0 || (got < 0 && errno == ECONNRESET))
			err = gone();
		else if (got < (ssize_t)offsetof(struct broker_reply, text))
			err = got < 0 ? -errno : -EPROTO;
	}
	pthread_mutex_unlock(&broker_lock);
	if (err)
		return err;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
	*text_len = (size_t)got - offsetof(struct broker_reply, text);
	return 0;
}

int broker__open(const char *path, int flags)
{
	struct broker_reply reply;
	size_t text_len;
	int fd, err = ask(BROKER_OPEN, flags, path, &reply, &text_len, &fd);

	if (err)
		return err;
	if (reply.result < 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		return reply.result < 0 ? reply.result : -EPROTO;
	}
	return fd;
}

/* A request answered with text: into buf, terminated, cut to size - 1. */
static ssize_t ask_text(uint32_t op, const char *path, char *buf, size_t size)
{
	struct broker_reply reply;
	size_t text_len;
	int fd, err = ask(op, O_RDONLY, path, &reply, &text_len, &fd);

	if (fd >= 0)
		close(fd);
	if (err)
		return err;
	if (reply.result < 0)
		return reply.result;
	if (!size)
		return -EINVAL;
	if (text_len > size - 1)
		text_len = size - 1;
	memcpy(buf, reply.text, text_len);
	buf[text_len] = '\0';
	return (ssize_t)text_len;
}

ssize_t broker__readlink(const char *path, char *buf, size_t size)
{
	return ask_text(BROKER_READLINK, path, buf, size);
}

ssize_t broker__read(const char *path, char *buf, size_t size)
{
	return ask_text(BROKER_READ, path, buf, size);
}

int broker__commit(bool keep)
{
	struct broker_reply reply;
	size_t text_len;
	int fd, err = ask(BROKER_COMMIT, keep, "", &reply, &text_len, &fd);

	if (fd >= 0)
		close(fd);
	return err ? err : reply.result;
}
