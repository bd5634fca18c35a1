// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes the HTTP server (serve/http.c) with whole requests: each input is
 * sent as is to parkwatch's own daemon, started once on a loopback port
 * with a credentials file, and the answer read to its end.  libmicrohttpd
 * parses the request line and headers; what parkwatch does with them (the
 * credentials, the path, the query's numbers, the answers) is what is
 * fuzzed.  No picture is published, and the feed is stopping, so no request
 * waits for the collecting loop that isn't there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "serve/http.h"
#include "util/clock.h"
#include "util/units.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define ANSWER_DEADLINE_NS (5 * NSEC_PER_SEC) /* a request longer than this is a hang */

static struct feed feed;
static struct http_server *server;
static struct sockaddr_in server_addr;

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "parkwatch: fuzz_http: %s: %s\n", what, why);
	exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char auth_path[] = "/tmp/parkwatch-fuzz-auth.XXXXXX", reason[256];
	struct http_opts opts = { .address = "127.0.0.1:0", .auth_file = auth_path };
	const char *url;
	int fd;

	(void)argc;
	(void)argv;
	fd = mkstemp(auth_path);
	if (fd < 0 || write(fd, "user:secret\n", 12) != 12)
		fail("the credentials file", "cannot write it");
	close(fd);
	if (feed__init(&feed))
		fail("feed__init", "failed");
	feed.stopping = true;
	if (http__open(&opts, &feed, &server, reason, sizeof(reason)) ||
	    http__start(server, reason, sizeof(reason)))
		fail("the server", reason);
	unlink(auth_path); /* read once, at the start */
	url = http__url(server);
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server_addr.sin_port = htons((unsigned short)atoi(strrchr(url, ':') + 1));
	return 0;
}

/* Reads the answer until the server closes, or the deadline. */
static void read_answer(int sock)
{
	__u64 deadline = clock__monotonic_ns() + ANSWER_DEADLINE_NS;
	char buf[65536];

	for (;;) {
		__u64 now = clock__monotonic_ns();
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		ssize_t got;

		if (now >= deadline)
			fail("a request", "no answer within 5 s");
		if (poll(&pfd, 1, (int)((deadline - now) / NSEC_PER_MSEC) + 1) <= 0)
			continue;
		got = read(sock, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return;
		fuzz_use((unsigned char)buf[0]);
	}
}

/*
 * A connection to the server.  The client closes first (it has no more to
 * send), so each connection leaves a TIME_WAIT behind for a minute: they
 * come from 127.0.0.2 to 127.0.0.254 in turn, so that tens of thousands a
 * minute don't use up one address's ports.
 */
static int connect_to_server(void)
{
	static unsigned int next_source;
	struct sockaddr_in source = { .sin_family = AF_INET };
	int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, err;

	if (sock < 0)
		fail("socket", strerror(errno));
	source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 2 + next_source++ % 253);
	/* the port is chosen by connect, for this destination only */
	if (setsockopt(sock, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) ||
	    bind(sock, (const struct sockaddr *)&source, sizeof(source)))
		fail("bind", strerror(errno));
	do
		err = connect(sock, (const struct sockaddr *)&server_addr, sizeof(server_addr));
	while (err && errno == EINTR);
	if (err)
		fail("connect", strerror(errno));
	return sock;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	int sock = connect_to_server();
	size_t sent = 0;

	while (sent < size) {
		ssize_t n = send(sock, data + sent, size - sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the server answered and closed before the end */
		sent += (size_t)n;
	}
	shutdown(sock, SHUT_WR);
	read_answer(sock);
	close(sock);
	return 0;
}
