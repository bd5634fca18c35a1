// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* What a waited-on file descriptor is (fds.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "model/classify.h"
#include "proc/fds.h"
#include "proc/nettables.h"
#include "proc/unixdiag.h"
#include "util/hash.h"
#include "util/procfs.h"
#include "util/text.h"
#include "util/u64map.h"

#define FD_TEXT_MAX (PATH_MAX + 64) /* a file's path, whole */
#define DIAG_UNOPENED (-1)
#define DIAG_UNAVAILABLE (-2)

/* Which holders of the other end count: for a pipe or FIFO, the side
 * the waiter doesn't use. */
enum holder_access {
	HOLDER_ANY,
	HOLDER_WRITER,
	HOLDER_READER,
};

/* A description waiting for the process at its other end. */
struct peer_request {
	struct pw_fd *out;
	char *target;               /* the other end as /proc/PID/fd links name it */
	pid_t waiter;
	enum holder_access access;
	pid_t other;                /* a holder other than the waiter's process */
	bool self;                  /* the waiter's process holds it */
	size_t next;                /* the next request for the same target, + 1 */
};

struct fds {
	struct u64map namespaces;   /* network namespace inode -> struct net_tables */
	__u64 own_netns;            /* parkwatch's own; 0: unknown */
	int diag_fd;                /* NETLINK_SOCK_DIAG in own_netns, or DIAG_* */
	struct peer_request *requests;
	size_t request_count, request_capacity;
	struct u64map wanted;       /* hash of a target -> its first request + 1 */
};

static void free_tables(void *tables)
{
	nettables__free(tables);
}

struct fds *fds__new(void)
{
	struct fds *fds = calloc(1, sizeof(*fds));
	struct stat own;

	if (!fds)
		return NULL;
	fds->diag_fd = DIAG_UNOPENED;
	if (!stat("/proc/self/ns/net", &own))
		fds->own_netns = own.st_ino;
	return fds;
}

void fds__free(struct fds *fds)
{
	if (!fds)
		return;
	u64map__free_all(&fds->namespaces, free_tables);
	u64map__clear(&fds->wanted);
	for (size_t i = 0; i < fds->request_count; i++)
		free(fds->requests[i].target);
	free(fds->requests);
	if (fds->diag_fd >= 0)
		close(fds->diag_fd);
	free(fds);
}

static __u64 target_hash(const char *target)
{
	return hash__bytes(target, strlen(target), 0) | 1;
}

/* Asks fds__find_peers for the holder of target on behalf of out. */
static int want_peer(struct fds *fds, struct pw_fd *out, pid_t waiter, const char *target,
		     enum holder_access access)
{
	__u64 key = target_hash(target);
	struct peer_request *request;

	if (fds->request_count == fds->request_capacity) {
		size_t capacity = fds->request_capacity ? 2 * fds->request_capacity : 16;
		struct peer_request *grown = realloc(fds->requests, capacity * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		fds->requests = grown;
		fds->request_capacity = capacity;
	}
	request = &fds->requests[fds->request_count];
	*request = (struct peer_request){
		.out = out, .target = strdup(target), .waiter = waiter, .access = access,
		.next = (uintptr_t)u64map__get(&fds->wanted, key),
	};
	if (!request->target)
		return -ENOMEM;
	fds->request_count++;
	return u64map__put(&fds->wanted, key, (void *)(uintptr_t)fds->request_count);
}

static struct net_tables *tables_of(struct fds *fds, pid_t pid, pid_t tid, __u64 *netns)
{
	char path[96];
	struct net_tables *tables;
	struct stat ns;
	int handle;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/ns/net", pid, tid);
	handle = procfs__open(path, O_PATH);
	if (handle < 0)
		return NULL;
	if (fstat(handle, &ns) || !ns.st_ino) {
		close(handle);
		return NULL;
	}
	close(handle);
	*netns = ns.st_ino;
	tables = u64map__get(&fds->namespaces, ns.st_ino);
	if (tables)
		return tables;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/net", pid, tid);
	tables = nettables__new(path);
	if (tables && u64map__put(&fds->namespaces, ns.st_ino, tables)) {
		nettables__free(tables);
		return NULL;
	}
	return tables;
}

/* The table a socket's protocol name (the socket's dentry name, as the
 * system.sockprotoname attribute gives it) says; NET_TABLE__COUNT: none. */
static enum net_table table_of_protocol(const char *protocol)
{
	if (!strcmp(protocol, "TCP"))
		return NET_TABLE_TCP;
	if (!strcmp(protocol, "TCPv6"))
		return NET_TABLE_TCP6;
	if (!strcmp(protocol, "UDP"))
		return NET_TABLE_UDP;
	if (!strcmp(protocol, "UDPv6"))
		return NET_TABLE_UDP6;
	if (text__has_prefix(protocol, "UNIX"))
		return NET_TABLE_UNIX;
	return NET_TABLE__COUNT;
}

static __u64 unix_peer(struct fds *fds, __u64 netns, __u64 inode)
{
	__u64 peer = 0;

	if (!fds->own_netns || netns != fds->own_netns)
		return 0;
	if (fds->diag_fd == DIAG_UNOPENED) {
		fds->diag_fd = unixdiag__open();
		if (fds->diag_fd < 0)
			fds->diag_fd = DIAG_UNAVAILABLE;
	}
	if (fds->diag_fd < 0 || unixdiag__peer(fds->diag_fd, inode, &peer))
		return 0;
	return peer;
}

static int describe_unix(struct fds *fds, const struct unix_sock *sock, __u64 netns, pid_t pid,
			 struct pw_fd *out, char *text, size_t size)
{
	__u64 peer = unix_peer(fds, netns, sock->inode);
	char self[40], other[40];
	int used;

	out->type = "unix";
	out->listening = sock->listening;
	snprintf(self, sizeof(self), "socket:[%llu]", (unsigned long long)sock->inode);
	snprintf(other, sizeof(other), "socket:[%llu]", (unsigned long long)peer);
	used = snprintf(text, size, "UNIX %s", sock->path[0] ? sock->path : self);
	if (peer)
		snprintf(text + used, size - (size_t)used, " -> %s", other);
	else if (sock->listening)
		snprintf(text + used, size - (size_t)used, " LISTEN");
	return peer ? want_peer(fds, out, pid, other, HOLDER_ANY) : 0;
}

/* What another process's fd is (its /proc/PID/task/TID/fd/N), by a handle
 * the broker may open: the attribute read through our own /proc/self/fd. */
static ssize_t fd_attribute(const char *fd_path, const char *name, char *value, size_t size)
{
	char self[32];
	int handle = procfs__open(fd_path, O_PATH);
	ssize_t len;

	if (handle < 0)
		return handle;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", handle);
	len = getxattr(self, name, value, size);
	close(handle);
	return len;
}

static bool fd_is_fifo(const char *fd_path)
{
	int handle = procfs__open(fd_path, O_PATH);
	struct stat st;
	bool fifo;

	if (handle < 0)
		return false;
	fifo = !fstat(handle, &st) && S_ISFIFO(st.st_mode);
	close(handle);
	return fifo;
}

static int describe_socket(struct fds *fds, pid_t pid, pid_t tid, const char *fd_path,
			   __u64 inode, struct pw_fd *out, char *text, size_t size)
{
	char protocol[32] = "", other[40];
	struct net_tables *tables;
	enum net_table first, last, which;
	__u64 netns = 0;
	ssize_t len;

	len = fd_attribute(fd_path, "system.sockprotoname", protocol, sizeof(protocol) - 1);
	protocol[len > 0 ? len : 0] = '\0';
	out->type = "socket";
	snprintf(text, size, "%s%ssocket:[%llu]", protocol, protocol[0] ? " " : "",
		 (unsigned long long)inode);
	which = table_of_protocol(protocol);
	/* without the attribute, every table is a candidate */
	first = len > 0 ? which : 0;
	last = len > 0 ? which : NET_TABLE__COUNT - 1;
	if (len > 0 && which == NET_TABLE__COUNT)
		return 0;
	tables = tables_of(fds, pid, tid, &netns);
	if (!tables)
		return 0;
	for (which = first; which <= last; which++) {
		const struct inet_sock *sock, *end;
		const struct unix_sock *unix_sock;

		if (which == NET_TABLE_UNIX) {
			unix_sock = nettables__unix(tables, inode);
			if (unix_sock)
				return describe_unix(fds, unix_sock, netns, pid, out, text, size);
			continue;
		}
		sock = nettables__inet(tables, which, inode);
		if (!sock)
			continue;
		out->type = net_table_names[which];
		nettables__format_inet(sock, which, text, size);
		out->listening = sock->state == NET_TCP_LISTEN &&
				 (which == NET_TABLE_TCP || which == NET_TABLE_TCP6);
		if (out->listening || (which != NET_TABLE_TCP && which != NET_TABLE_TCP6))
			return 0;
		end = nettables__inet_other_end(tables, which, sock);
		if (!end)
			return 0;
		snprintf(other, sizeof(other), "socket:[%llu]", (unsigned long long)end->inode);
		return want_peer(fds, out, pid, other, HOLDER_ANY);
	}
	return 0;
}

/* How many fds an epoll instance watches: its fdinfo's tfd lines. */
static void describe_epoll(pid_t pid, pid_t tid, int fd, char *text, size_t size)
{
	char path[96], line[256];
	bool cut = false;
	size_t count = 0;
	FILE *file;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/fdinfo/%d", pid, tid, fd);
	file = procfs__fopen(path);
	if (!file) {
		snprintf(text, size, "epoll");
		return;
	}
	for (size_t lines = 0; fgets(line, sizeof(line), file); lines++) {
		if (lines == FDS_EPOLL_MAX_LINES) {
			cut = true;
			break;
		}
		count += text__has_prefix(line, "tfd:");
	}
	fclose(file);
	snprintf(text, size, "epoll watching %s%zu fd%s", cut ? "at least " : "", count,
		 count == 1 ? "" : "s");
}

/* "anon_inode:[eventfd]" and the like: eventfd, signalfd, timerfd, epoll, ... */
static void describe_anon(const char *target, pid_t pid, pid_t tid, int fd, struct pw_fd *out,
			  char *text, size_t size, char *type, size_t type_size)
{
	const char *name = target + strlen("anon_inode:");
	size_t len;

	if (*name == '[')
		name++;
	len = strcspn(name, "]");
	snprintf(type, type_size, "%.*s", (int)len, name);
	if (!strcmp(type, "eventpoll")) {
		snprintf(type, type_size, "epoll");
		describe_epoll(pid, tid, fd, text, size);
	} else {
		snprintf(text, size, "%s", type);
	}
	out->type = type;
}

/* The waiter's side of a pipe or FIFO decides which holders are its peer. */
static enum holder_access other_side(bool reading)
{
	return reading ? HOLDER_WRITER : HOLDER_READER;
}

int fds__describe(struct fds *fds, struct pw_picture *picture, pid_t pid, pid_t tid, int fd,
		  bool reading, struct pw_fd **out)
{
	char fd_path[96], target[PATH_MAX], text[FD_TEXT_MAX], type[32];
	unsigned long long inode;
	struct pw_fd *desc;
	ssize_t len;
	int err = 0;

	*out = NULL;
	if (fd < 0)
		return -ENOENT;
	snprintf(fd_path, sizeof(fd_path), "/proc/%d/task/%d/fd/%d", pid, tid, fd);
	len = procfs__readlink(fd_path, target, sizeof(target));
	if (len <= 0)
		return -ENOENT;
	desc = picture__add_fd(picture);
	if (!desc)
		return -ENOMEM;
	desc->fd = fd;
	desc->type = "file";
	snprintf(text, sizeof(text), "%s", target);
	if (sscanf(target, "socket:[%llu]", &inode) == 1) {
		err = describe_socket(fds, pid, tid, fd_path, inode, desc, text, sizeof(text));
	} else if (text__has_prefix(target, "pipe:")) {
		desc->type = "pipe";
		err = want_peer(fds, desc, pid, target, other_side(reading));
	} else if (text__has_prefix(target, "anon_inode:")) {
		describe_anon(target, pid, tid, fd, desc, text, sizeof(text), type, sizeof(type));
	} else if (target[0] == '/' && fd_is_fifo(fd_path)) {
		desc->type = "fifo";
		err = want_peer(fds, desc, pid, target, other_side(reading));
	} else if (classify__fd_kind(target) == FD_KIND_TTY) {
		desc->type = "tty";
	} else if (target[0] != '/') {
		desc->type = "other";
	}
	desc->type = picture__string(picture, desc->type);
	desc->text = picture__string(picture, text);
	if (err || !desc->type || !desc->text)
		return -ENOMEM;
	*out = desc;
	return 0;
}

int fds__syscall_arg(pid_t pid, pid_t tid, long nr, __u64 arg0, int index, __u64 *value)
{
	unsigned long long args[6];
	char name[64], line[256];
	long number;

	snprintf(name, sizeof(name), "task/%d/syscall", tid);
	if (index < 0 || index > 5 || procfs__read(pid, name, line, sizeof(line)) <= 0)
		return -ENOENT;
	/* "NR ARG0 ... ARG5 SP PC", all but NR in hex */
	if (sscanf(line, "%ld %llx %llx %llx %llx %llx %llx", &number, &args[0], &args[1], &args[2],
		   &args[3], &args[4], &args[5]) != 7 || number != nr || args[0] != arg0)
		return -ENOENT;
	*value = args[index];
	return 0;
}

/* Whether fd of pid is open for what access asks, by its fdinfo flags. */
static bool open_for(pid_t pid, int fd, enum holder_access access)
{
	char name[64], info[512], *flags_line;
	unsigned long flags;

	if (access == HOLDER_ANY)
		return true;
	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	if (procfs__read(pid, name, info, sizeof(info)) < 0)
		return false;
	flags_line = strstr(info, "flags:");
	if (!flags_line || sscanf(flags_line, "flags: %lo", &flags) != 1)
		return false;
	if ((flags & O_ACCMODE) == O_RDWR)
		return true;
	return (flags & O_ACCMODE) == (access == HOLDER_WRITER ? O_WRONLY : O_RDONLY);
}

/* Notes pid as a holder of target for each request of it; returns how
 * many requests found their first other holder. */
static size_t note_holder(struct fds *fds, pid_t pid, int fd, const char *target)
{
	size_t found = 0;

	for (size_t slot = (uintptr_t)u64map__get(&fds->wanted, target_hash(target)); slot;
	     slot = fds->requests[slot - 1].next) {
		struct peer_request *request = &fds->requests[slot - 1];

		if (strcmp(request->target, target) || (pid == request->waiter ? request->self :
						       request->other != 0))
			continue;
		if (!open_for(pid, fd, request->access))
			continue;
		if (pid == request->waiter) {
			request->self = true;
		} else {
			request->other = pid;
			found++;
		}
	}
	return found;
}

/* A /proc entry named by a number (a pid, an fd): the number, else -1. */
static int number_of(const char *name)
{
	long number;

	if (!name[0] || name[strspn(name, "0123456789")] != '\0' || strlen(name) > 9)
		return -1;
	number = strtol(name, NULL, 10);
	return (int)number;
}

/* One process's fds; *budget counts down the scan's readlinks. */
static size_t scan_process(struct fds *fds, pid_t pid, size_t *budget)
{
	char path[64], link[80], target[PATH_MAX];
	size_t found = 0, seen = 0;
	int fd;
	struct dirent *entry;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = procfs__opendir(path);
	if (!dir)
		return 0;
	while (*budget && seen < FDS_SCAN_MAX_FDS_PER_PROC && (entry = readdir(dir))) {
		ssize_t len;

		fd = number_of(entry->d_name);
		if (fd < 0)
			continue;
		(*budget)--;
		seen++;
		snprintf(link, sizeof(link), "%s/%d", path, fd);
		len = procfs__readlink(link, target, sizeof(target));
		if (len <= 0)
			continue;
		if (u64map__get(&fds->wanted, target_hash(target)))
			found += note_holder(fds, pid, fd, target);
	}
	closedir(dir);
	return found;
}

int fds__find_peers(struct fds *fds, struct pw_picture *picture)
{
	size_t budget = FDS_SCAN_MAX_FDS, processes = 0, found = 0;
	struct dirent *entry;
	DIR *proc;
	int pid;

	if (!fds->request_count)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (found < fds->request_count && budget && processes < FDS_SCAN_MAX_PROCS &&
	       (entry = readdir(proc))) {
		pid = number_of(entry->d_name);
		if (pid <= 0)
			continue;
		processes++;
		found += scan_process(fds, pid, &budget);
	}
	closedir(proc);
	for (size_t i = 0; i < fds->request_count; i++) {
		struct peer_request *request = &fds->requests[i];
		char comm[PARK_COMM_LEN];

		request->out->peer_pid = request->other ? request->other :
				       request->self ? request->waiter : 0;
		if (!request->out->peer_pid)
			continue;
		procfs__comm(request->out->peer_pid, comm, sizeof(comm));
		if (comm[0] && !(request->out->peer_comm = picture__string(picture, comm)))
			return -ENOMEM;
	}
	return 0;
}
