// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Threads parked in IO on every kind of fd parkwatch describes, each other
 * end held by a child process of its own:
 *   accept        accept() on a listening TCP socket on 127.0.0.1
 *   tcp_read      read() on an established TCP connection whose client end
 *                 a child holds
 *   unix_recv     recv() on a UNIX socketpair, the other end a child's
 *   pipe_read     read() on a pipe whose write end a child holds
 *   pipe_write    write() on a full pipe whose read end a child holds
 *   eventfd_read  read() on an eventfd
 *   fifo_read     read() on a FIFO (a path) a child holds open for writing
 *   epoll         epoll_wait() on an epoll fd watching two fds
 *   poll          poll() on one fd, the read end of a pipe a child writes to
 * Once /proc shows each thread asleep in its syscall, prints one line
 *   READY {"accept": {"tid": T, "fd": F, "port": P}, "tcp_read": {"tid": T,
 *          "fd": F, "local_port": P, "remote_port": P, "peer_pid": C}, ...}
 * and waits in pause() until killed; the children die with it
 * (PR_SET_PDEATHSIG).  The FIFO's directory is left for the caller to
 * remove (its path is in the record).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "target_util.h"

#define CHILD_MAX_FD 4096

enum role { ACCEPT, TCP_READ, UNIX_RECV, PIPE_READ, PIPE_WRITE, EVENTFD_READ, FIFO_READ, EPOLL,
	    POLL, ROLE_COUNT };

static const char *const role_names[ROLE_COUNT] = {
	"accept", "tcp_read", "unix_recv", "pipe_read", "pipe_write", "eventfd_read", "fifo_read",
	"epoll", "poll",
};

struct waiter {
	enum role role;
	int fd;
	pid_t peer_pid;             /* the child at the other end; 0: none */
	volatile pid_t tid;
};

static struct waiter waiters[ROLE_COUNT];

static void check_ok(int result, const char *what)
{
	if (result < 0)
		tu_die(what, errno);
}

/* In a new child: close every fd but keep (-1: none), die with the parent. */
static void child_setup(pid_t parent, int keep)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	for (int fd = 3; fd < CHILD_MAX_FD; fd++)
		if (fd != keep)
			close(fd);
}

/* A child holding keep (and nothing else of ours) until the parent dies. */
static pid_t child_holding(int keep)
{
	pid_t parent = getpid(), child = fork();

	check_ok(child, "fork");
	if (child)
		return child;
	child_setup(parent, keep);
	for (;;)
		pause();
}

static int listen_tcp(int *port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	check_ok(fd, "socket");
	check_ok(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), "bind");
	check_ok(listen(fd, 4), "listen");
	check_ok(getsockname(fd, (struct sockaddr *)&addr, &len), "getsockname");
	*port = ntohs(addr.sin_port);
	return fd;
}

/* An established connection whose client end a child opens and holds:
 * the server end, its port and the client's. */
static int tcp_connection(pid_t *child, int *local_port, int *remote_port)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	int listener = listen_tcp(local_port), conn;
	pid_t parent = getpid();

	*child = fork();
	check_ok(*child, "fork");
	if (!*child) {
		struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(*local_port),
					    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd;

		child_setup(parent, -1);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			_exit(1);
		for (;;)
			pause();
	}
	conn = accept4(listener, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	check_ok(conn, "accept");
	*remote_port = ntohs(peer.sin_port);
	close(listener);
	return conn;
}

/* A FIFO at a new path, open here for reading and in a child for writing. */
static int fifo_with_writer(char *path, size_t size, pid_t *child)
{
	char dir[] = "/tmp/pw-fdwait.XXXXXX";
	int sync[2], fd;
	pid_t parent = getpid();
	char byte;

	if (!mkdtemp(dir))
		tu_die("mkdtemp", errno);
	snprintf(path, size, "%s/fifo", dir);
	check_ok(mkfifo(path, 0600), "mkfifo");
	/* no writer yet: a blocking open would wait for one */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	check_ok(fd, "open fifo");
	check_ok(pipe2(sync, O_CLOEXEC), "pipe");
	*child = fork();
	check_ok(*child, "fork");
	if (!*child) {
		int writer;

		child_setup(parent, sync[1]);
		writer = open(path, O_WRONLY);
		if (writer < 0 || write(sync[1], "1", 1) != 1)
			_exit(1);
		close(sync[1]);
		for (;;)
			pause();
	}
	close(sync[1]);
	if (read(sync[0], &byte, 1) != 1)
		tu_die("fifo writer child", EPIPE);
	close(sync[0]);
	check_ok(fcntl(fd, F_SETFL, 0), "fcntl");
	return fd;
}

/* A pipe filled up: the next write blocks. */
static void fill(int fd)
{
	char block[4096] = { 0 };

	check_ok(fcntl(fd, F_SETFL, O_NONBLOCK), "fcntl");
	while (write(fd, block, sizeof(block)) > 0)
		;
	if (errno != EAGAIN)
		tu_die("fill pipe", errno);
	check_ok(fcntl(fd, F_SETFL, 0), "fcntl");
}

static void *wait_in_io(void *arg)
{
	struct waiter *waiter = arg;
	struct pollfd pollfd = { .fd = waiter->fd, .events = POLLIN };
	struct epoll_event event;
	char buf[8] = { 0 };
	ssize_t got = -1;

	waiter->tid = (pid_t)syscall(SYS_gettid);
	switch (waiter->role) {
	case ACCEPT:
		got = accept(waiter->fd, NULL, NULL);
		break;
	case UNIX_RECV:
		got = recv(waiter->fd, buf, 1, 0);
		break;
	case PIPE_WRITE:
		got = write(waiter->fd, buf, 1);
		break;
	case EPOLL:
		got = epoll_wait(waiter->fd, &event, 1, -1);
		break;
	case POLL:
		got = poll(&pollfd, 1, -1);
		break;
	default:
		got = read(waiter->fd, buf, sizeof(buf));
		break;
	}
	fprintf(stderr, "target: %s woke up (%zd)\n", role_names[waiter->role], got);
	exit(1);
}

static void start(enum role role, int fd, pid_t peer_pid)
{
	pthread_t thread;
	int err;

	waiters[role] = (struct waiter){ .role = role, .fd = fd, .peer_pid = peer_pid };
	err = pthread_create(&thread, NULL, wait_in_io, &waiters[role]);
	if (err)
		tu_die("pthread_create", err);
}

/* Each thread's tid, then /proc's word that it sleeps in its syscall. */
static void wait_all_blocked(void)
{
	static const long syscalls[ROLE_COUNT][2] = {
		[ACCEPT] = { SYS_accept, SYS_accept4 },   [TCP_READ] = { SYS_read, SYS_read },
		[UNIX_RECV] = { SYS_recvfrom, SYS_recvmsg }, [PIPE_READ] = { SYS_read, SYS_read },
		[PIPE_WRITE] = { SYS_write, SYS_write },   [EVENTFD_READ] = { SYS_read, SYS_read },
		[FIFO_READ] = { SYS_read, SYS_read },
		[EPOLL] = { SYS_epoll_wait, SYS_epoll_pwait },
		[POLL] = { SYS_poll, SYS_ppoll },
	};

	for (int role = 0; role < ROLE_COUNT; role++) {
		long long deadline = tu_now_ns() + TU_DEADLINE_NS;

		while (!waiters[role].tid) {
			if (tu_now_ns() > deadline)
				tu_die(role_names[role], ETIMEDOUT);
			tu_poll_pause();
		}
		tu_wait_blocked(waiters[role].tid, role_names[role], syscalls[role][0],
				syscalls[role][1]);
	}
}

int main(void)
{
	int accept_port, tcp_local_port, tcp_remote_port, pair[2], pipe_in[2], pipe_out[2];
	int pipe_poll[2];
	pid_t pipe_poll_child;
	int epoll_fd, watched[2];
	pid_t tcp_child, unix_child, pipe_in_child, pipe_out_child, fifo_child;
	struct epoll_event event = { .events = EPOLLIN };
	char fifo_path[64];
	int fifo_fd, listener, tcp_fd;

	listener = listen_tcp(&accept_port);
	start(ACCEPT, listener, 0);
	tcp_fd = tcp_connection(&tcp_child, &tcp_local_port, &tcp_remote_port);
	start(TCP_READ, tcp_fd, tcp_child);

	check_ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), "socketpair");
	unix_child = child_holding(pair[1]);
	close(pair[1]);
	start(UNIX_RECV, pair[0], unix_child);

	check_ok(pipe2(pipe_in, O_CLOEXEC), "pipe");
	pipe_in_child = child_holding(pipe_in[1]);
	close(pipe_in[1]);
	start(PIPE_READ, pipe_in[0], pipe_in_child);

	check_ok(pipe2(pipe_out, O_CLOEXEC), "pipe");
	pipe_out_child = child_holding(pipe_out[0]);
	close(pipe_out[0]);
	fill(pipe_out[1]);
	start(PIPE_WRITE, pipe_out[1], pipe_out_child);

	start(EVENTFD_READ, eventfd(0, EFD_CLOEXEC), 0);
	check_ok(waiters[EVENTFD_READ].fd, "eventfd");

	fifo_fd = fifo_with_writer(fifo_path, sizeof(fifo_path), &fifo_child);
	start(FIFO_READ, fifo_fd, fifo_child);

	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	check_ok(epoll_fd, "epoll_create1");
	for (int i = 0; i < 2; i++) {
		watched[i] = eventfd(0, EFD_CLOEXEC);
		check_ok(watched[i], "eventfd");
		check_ok(epoll_ctl(epoll_fd, EPOLL_CTL_ADD, watched[i], &event), "epoll_ctl");
	}
	start(EPOLL, epoll_fd, 0);

	check_ok(pipe2(pipe_poll, O_CLOEXEC), "pipe");
	pipe_poll_child = child_holding(pipe_poll[1]);
	close(pipe_poll[1]);
	start(POLL, pipe_poll[0], pipe_poll_child);

	wait_all_blocked();
	printf("READY {");
	for (int role = 0; role < ROLE_COUNT; role++) {
		const struct waiter *waiter = &waiters[role];

		printf("%s\"%s\": {\"tid\": %d, \"fd\": %d, \"peer_pid\": %d", role ? ", " : "",
		       role_names[role], (int)waiter->tid, waiter->fd, (int)waiter->peer_pid);
		if (role == ACCEPT)
			printf(", \"port\": %d", accept_port);
		if (role == TCP_READ)
			printf(", \"local_port\": %d, \"remote_port\": %d", tcp_local_port,
			       tcp_remote_port);
		if (role == FIFO_READ)
			printf(", \"path\": \"%s\"", fifo_path);
		if (role == EPOLL)
			printf(", \"watched\": 2");
		printf("}");
	}
	printf("}\n");
	if (fflush(stdout))
		tu_die("stdout", errno);
	for (;;)
		pause();
}
