// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* What a waited-on file descriptor is (fds.h). */
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
#include "proc/fdpeers.h"
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

struct fds {
	struct u64map namespaces;   /* network namespace inode -> struct net_tables */
	__u64 own_netns;            /* parkwatch's own; 0: unknown */
	int diag_fd;                /* NETLINK_SOCK_DIAG in own_netns, or DIAG_* */
	struct fdpeers *peers;      /* the other ends the descriptions want */
	bool owns_peers;            /* peers is this fds's alone */
};

static void free_tables(void *tables)
{
	nettables__free(tables);
}

struct fds *fds__new(struct fdpeers *peers)
{
	struct fds *fds = calloc(1, sizeof(*fds));
	struct stat own;

	if (!fds)
		return NULL;
	fds->owns_peers = !peers;
	fds->peers = peers ? peers : fdpeers__new();
	if (!fds->peers) {
		free(fds);
		return NULL;
	}
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
	if (fds->owns_peers)
		fdpeers__free(fds->peers);
	if (fds->diag_fd >= 0)
		close(fds->diag_fd);
	free(fds);
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
	return peer ? fdpeers__want(fds->peers, out, pid, other, FDPEERS_ANY) : 0;
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
		return fdpeers__want(fds->peers, out, pid, other, FDPEERS_ANY);
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
static enum fdpeers_access other_side(bool reading)
{
	return reading ? FDPEERS_WRITER : FDPEERS_READER;
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
		err = fdpeers__want(fds->peers, desc, pid, target, other_side(reading));
	} else if (text__has_prefix(target, "anon_inode:")) {
		describe_anon(target, pid, tid, fd, desc, text, sizeof(text), type, sizeof(type));
	} else if (target[0] == '/' && fd_is_fifo(fd_path)) {
		desc->type = "fifo";
		err = fdpeers__want(fds->peers, desc, pid, target, other_side(reading));
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

int fds__find_peers(struct fds *fds, struct pw_picture *picture)
{
	return fdpeers__find(fds->peers, picture);
}
