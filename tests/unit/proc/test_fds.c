// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of fd descriptions (user/proc/fds.c) on this process's own
 * fds: a socketpair, a pipe, an eventfd, an epoll fd, TCP sockets on
 * 127.0.0.1 (listening, and both ends of a connection), a file; and the
 * processes at the other end, children made here.  The oracles are the
 * kernel's own answers through the fds: fstat's inodes, getsockname's
 * ports.  No root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "proc/fdpeers.h"
#include "proc/fds.h"

struct fixture {
	struct pw_picture *picture;
	struct fds *fds;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->picture = picture__new();
	f->fds = fds__new(NULL);
	*state = f;
	return f->picture && f->fds ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fds__free(f->fds);
	picture__put(f->picture);
	free(f);
	return 0;
}

static const struct pw_fd *describe(struct fixture *f, int fd, bool reading)
{
	struct pw_fd *desc = NULL;

	assert_int_equal(fds__describe(f->fds, f->picture, getpid(), getpid(), fd, reading, &desc),
			 0);
	assert_non_null(desc);
	assert_int_equal(desc->fd, fd);
	assert_non_null(desc->type);
	assert_non_null(desc->text);
	return desc;
}

/* A new fds, as the next picture has: socket tables are read once per fds. */
static void next_picture(struct fixture *f)
{
	fds__free(f->fds);
	f->fds = fds__new(NULL);
	assert_non_null(f->fds);
}

static unsigned long long inode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (unsigned long long)st.st_ino;
}

static int port_of(int fd)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	return ntohs(addr.sin_port);
}

/* A child that holds what it inherits but close_fd until killed; back once
 * it has closed close_fd. */
static pid_t child_holding(int close_fd)
{
	int sync[2];
	pid_t child;
	char byte;

	assert_int_equal(pipe(sync), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(close_fd);
		close(sync[0]);
		if (write(sync[1], "1", 1) != 1)
			_exit(1);
		close(sync[1]);
		for (;;)
			pause();
	}
	close(sync[1]);
	assert_int_equal(read(sync[0], &byte, 1), 1);
	close(sync[0]);
	return child;
}

static void reap(pid_t child)
{
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
}

static int listen_tcp(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_tcp(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int listener = listen_tcp(), client, server;
	const struct pw_fd *desc;
	char expect[128];

	desc = describe(f, listener, true);
	snprintf(expect, sizeof(expect), "TCP 127.0.0.1:%d LISTEN", port_of(listener));
	assert_string_equal(desc->type, "tcp");
	assert_string_equal(desc->text, expect);
	assert_true(desc->listening);

	addr.sin_port = htons((uint16_t)port_of(listener));
	client = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(client, (struct sockaddr *)&addr, sizeof(addr)), 0);
	server = accept(listener, NULL, NULL);
	assert_true(server >= 0);
	/* the tables read above were read before this connection was made */
	desc = describe(f, server, true);
	assert_string_equal(desc->type, "socket");
	snprintf(expect, sizeof(expect), "TCP socket:[%llu]", inode_of(server));
	assert_string_equal(desc->text, expect);
	next_picture(f);
	desc = describe(f, server, true);
	snprintf(expect, sizeof(expect), "TCP 127.0.0.1:%d -> 127.0.0.1:%d ESTABLISHED",
		 port_of(server), port_of(client));
	assert_string_equal(desc->type, "tcp");
	assert_string_equal(desc->text, expect);
	assert_false(desc->listening);
	/* both ends here: the peer is this process itself */
	assert_int_equal(fds__find_peers(f->fds, f->picture), 0);
	assert_int_equal(desc->peer_pid, getpid());
	close(client);
	close(server);
	close(listener);
}

/* A socketpair's other end in a child: the child is the peer. */
static void test_socketpair(void **state)
{
	struct fixture *f = *state;
	const struct pw_fd *desc;
	char expect[128], comm[16];
	unsigned long long peer_inode;
	int pair[2];
	pid_t child;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	child = child_holding(pair[0]);
	peer_inode = inode_of(pair[1]);
	close(pair[1]);
	desc = describe(f, pair[0], true);
	snprintf(expect, sizeof(expect), "UNIX socket:[%llu] -> socket:[%llu]", inode_of(pair[0]),
		 peer_inode);
	assert_string_equal(desc->type, "unix");
	assert_string_equal(desc->text, expect);
	assert_false(desc->listening);
	assert_int_equal(fds__find_peers(f->fds, f->picture), 0);
	assert_int_equal(desc->peer_pid, child);
	assert_int_equal(prctl(PR_GET_NAME, comm), 0);
	assert_string_equal(desc->peer_comm, comm);
	reap(child);
	close(pair[0]);
}

/* A pipe: for a reader the peer is who holds the write end, for a writer
 * who holds the read end, never a holder of the same side. */
static void test_pipe(void **state)
{
	struct fixture *f = *state;
	const struct pw_fd *reader, *writer;
	pid_t write_child, read_child;
	char expect[64];
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	write_child = child_holding(fds[0]);   /* keeps the write end only */
	read_child = child_holding(fds[1]);    /* keeps the read end only */
	reader = describe(f, fds[0], true);
	writer = describe(f, fds[1], false);
	snprintf(expect, sizeof(expect), "pipe:[%llu]", inode_of(fds[0]));
	assert_string_equal(reader->type, "pipe");
	assert_string_equal(reader->text, expect);
	assert_string_equal(writer->text, expect);
	assert_int_equal(fds__find_peers(f->fds, f->picture), 0);
	assert_int_equal(reader->peer_pid, write_child);
	assert_int_equal(writer->peer_pid, read_child);
	reap(write_child);
	reap(read_child);
	close(fds[0]);
	close(fds[1]);
}

/* A pipe nobody else holds: this process is its own peer; after the
 * write end is closed, nobody is. */
static void test_pipe_alone(void **state)
{
	struct fixture *f = *state;
	const struct pw_fd *desc;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	desc = describe(f, fds[0], true);
	assert_int_equal(fds__find_peers(f->fds, f->picture), 0);
	assert_int_equal(desc->peer_pid, getpid());
	close(fds[1]);
	next_picture(f);
	desc = describe(f, fds[0], true);
	assert_int_equal(fds__find_peers(f->fds, f->picture), 0);
	assert_int_equal(desc->peer_pid, 0);
	assert_null(desc->peer_comm);
	close(fds[0]);
}

/* The other end as pictures of a live view find it (fdpeers.h): a holder
 * found is confirmed at its fd, and once it is gone a scan looks again; an
 * end no other process held keeps that answer until FDPEERS_RESCAN_NS. */
static const struct pw_fd *peer_in_next_picture(struct fixture *f, struct fdpeers *peers,
						int fd)
{
	const struct pw_fd *desc;

	fds__free(f->fds);
	f->fds = fds__new(peers);
	assert_non_null(f->fds);
	desc = describe(f, fd, true);
	assert_int_equal(fds__find_peers(f->fds, f->picture), 0);
	return desc;
}

static void test_peers_from_picture_to_picture(void **state)
{
	struct fixture *f = *state;
	struct fdpeers *peers = fdpeers__new();
	pid_t writer, later;
	int fds[2];

	assert_non_null(peers);
	assert_int_equal(pipe(fds), 0);
	writer = child_holding(fds[0]); /* the write end, as this process */
	assert_int_equal(peer_in_next_picture(f, peers, fds[0])->peer_pid, writer);
	assert_int_equal(peer_in_next_picture(f, peers, fds[0])->peer_pid, writer);
	reap(writer);
	assert_int_equal(peer_in_next_picture(f, peers, fds[0])->peer_pid, getpid());
	/* a writer since then is found at the next scan, not before */
	later = child_holding(fds[0]);
	assert_int_equal(peer_in_next_picture(f, peers, fds[0])->peer_pid, getpid());
	reap(later);
	close(fds[0]);
	close(fds[1]);
	fdpeers__free(peers);
}

static void test_anon_inodes(void **state)
{
	struct fixture *f = *state;
	struct epoll_event event = { .events = EPOLLIN };
	int efd = eventfd(0, 0), epfd = epoll_create1(0), other = eventfd(0, 0);
	const struct pw_fd *desc;

	assert_true(efd >= 0 && epfd >= 0 && other >= 0);
	desc = describe(f, efd, true);
	assert_string_equal(desc->type, "eventfd");
	assert_string_equal(desc->text, "eventfd");
	desc = describe(f, epfd, true);
	assert_string_equal(desc->type, "epoll");
	assert_string_equal(desc->text, "epoll watching 0 fds");
	assert_int_equal(epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &event), 0);
	desc = describe(f, epfd, true);
	assert_string_equal(desc->text, "epoll watching 1 fd");
	assert_int_equal(epoll_ctl(epfd, EPOLL_CTL_ADD, other, &event), 0);
	desc = describe(f, epfd, true);
	assert_string_equal(desc->text, "epoll watching 2 fds");
	assert_false(desc->listening);
	assert_int_equal(desc->peer_pid, 0);
	close(efd);
	close(epfd);
	close(other);
}

static void test_file(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/pw-fds-file.XXXXXX";
	int fd = mkstemp(path);
	const struct pw_fd *desc;
	struct pw_fd *none = (struct pw_fd *)1;

	assert_true(fd >= 0);
	desc = describe(f, fd, true);
	assert_string_equal(desc->type, "file");
	assert_string_equal(desc->text, path);
	assert_int_equal(unlink(path), 0);
	close(fd);
	/* closed meanwhile: nothing to describe */
	assert_int_equal(fds__describe(f->fds, f->picture, getpid(), getpid(), fd, true, &none),
			 -ENOENT);
	assert_null(none);
	assert_int_equal(fds__describe(f->fds, f->picture, getpid(), getpid(), -1, true, &none),
			 -ENOENT);
	fds__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socketpair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peers_from_picture_to_picture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipe_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anon_inodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
