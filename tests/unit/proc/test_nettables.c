// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the socket table parsers (user/proc/nettables.c): lines
 * as the kernel writes /proc/net/tcp, tcp6, udp and unix, lines cut short
 * or forged, and whole tables read from a directory made here.  No root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "proc/nettables.h"

#define TCP_HEADER "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when " \
	"retrnsmt   uid  timeout inode\n"
/* 127.0.0.1:8080 listening, inode 18746 */
#define TCP_LISTEN "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 " \
	"00000000     0        0 18746 1 0000000000000000 100 0 0 10 0"
/* 10.0.0.1:5432 -> 10.0.0.2:41234 established, inode 99123 */
#define TCP_ESTAB "   1: 0100000A:1538 0200000A:A112 01 00000000:00000000 02:000A7B2F " \
	"00000000   105        0 99123 1 0000000000000000 20 4 30 10 -1"
/* [::1]:8080 listening */
#define TCP6_LISTEN "   0: 00000000000000000000000001000000:1F90 " \
	"00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  " \
	"1000        0 55667 1 0000000000000000 100 0 0 10 0"
#define UDP_BOUND "  120: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 " \
	"00000000     0        0 4242 2 0000000000000000 0"
#define UNIX_LISTEN "0000000000000000: 00000002 00000000 00010000 0001 01 16972 /run/x.sock"
#define UNIX_PAIR "ffff9a4b3c2d1e00: 00000003 00000000 00000000 0001 03  81234"
#define UNIX_ABSTRACT "ffff9a4b3c2d1e80: 00000002 00000000 00000000 0002 01 7001 @/tmp/.X11-unix/X0"

static void test_inet_lines(void **state)
{
	struct inet_sock sock;
	const __u8 localhost[4] = { 127, 0, 0, 1 }, ten_one[4] = { 10, 0, 0, 1 },
		   ten_two[4] = { 10, 0, 0, 2 }, v6_loopback[16] = { [15] = 1 };

	(void)state;
	assert_int_equal(nettables__parse_inet(TCP_LISTEN, false, &sock), 0);
	assert_int_equal(sock.inode, 18746);
	assert_memory_equal(sock.local_addr, localhost, 4);
	assert_int_equal(sock.local_port, 8080);
	assert_int_equal(sock.remote_port, 0);
	assert_int_equal(sock.state, NET_TCP_LISTEN);

	assert_int_equal(nettables__parse_inet(TCP_ESTAB "\n", false, &sock), 0);
	assert_int_equal(sock.inode, 99123);
	assert_memory_equal(sock.local_addr, ten_one, 4);
	assert_memory_equal(sock.remote_addr, ten_two, 4);
	assert_int_equal(sock.local_port, 5432);
	assert_int_equal(sock.remote_port, 41234);
	assert_int_equal(sock.state, 1);

	assert_int_equal(nettables__parse_inet(TCP6_LISTEN, true, &sock), 0);
	assert_true(sock.ipv6);
	assert_memory_equal(sock.local_addr, v6_loopback, 16);
	assert_int_equal(sock.inode, 55667);
	assert_int_equal(nettables__parse_inet(UDP_BOUND, false, &sock), 0);
	assert_int_equal(sock.local_port, 53);
	assert_int_equal(sock.inode, 4242);
}

/* Cut or forged lines are refused whole, never half-read. */
static void test_hostile_inet_lines(void **state)
{
	static const char *const bad[] = {
		"",
		TCP_HEADER,
		"   0: 0100007F:1F90",                                       /* cut after one end */
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0",
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 0",
		"   0: 100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7",
		"   0: 0100007F0:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7",
		"   0: 0100007F:1F900 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7",
		"   0: 0100007G:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7",
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7x",
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 "
		"123456789012345678901",                                 /* an inode past 64 bits */
		"x: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7",
		"   0:0100007F:1F90 00000000:0000 0A",
	};
	struct inet_sock sock;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(nettables__parse_inet(bad[i], false, &sock), -EINVAL);
		assert_int_equal(sock.inode, 0);
	}
	/* an IPv4 line read as IPv6 (and the other way round) is no line at all */
	assert_int_equal(nettables__parse_inet(TCP_LISTEN, true, &sock), -EINVAL);
	assert_int_equal(nettables__parse_inet(TCP6_LISTEN, false, &sock), -EINVAL);
}

static void test_unix_lines(void **state)
{
	struct unix_sock sock;

	(void)state;
	assert_int_equal(nettables__parse_unix(UNIX_LISTEN "\n", &sock), 0);
	assert_int_equal(sock.inode, 16972);
	assert_true(sock.listening);
	assert_int_equal(sock.type, 1);
	assert_string_equal(sock.path, "/run/x.sock");

	assert_int_equal(nettables__parse_unix(UNIX_PAIR "\n", &sock), 0);
	assert_int_equal(sock.inode, 81234);
	assert_false(sock.listening);
	assert_int_equal(sock.state, 3);
	assert_string_equal(sock.path, "");

	assert_int_equal(nettables__parse_unix(UNIX_ABSTRACT, &sock), 0);
	assert_int_equal(sock.type, 2);
	assert_string_equal(sock.path, "@/tmp/.X11-unix/X0");
}

static void test_hostile_unix_lines(void **state)
{
	char long_path[300];
	static const char *const bad[] = {
		"",
		"Num       RefCount Protocol Flags    Type St Inode Path",
		"ffff9a4b3c2d1e00: 00000003 00000000 00000000 0001 03",  /* no inode */
		"ffff9a4b3c2d1e00: 00000003 00000000 00000000 0001 03  0", /* inode 0 */
		"ffff9a4b3c2d1e00: 00000003 00000000 00000000 001 03  81234",
		"ffff9a4b3c2d1e00 00000003 00000000 00000000 0001 03  81234",
		"ffff9a4b3c2d1e0011: 00000003 00000000 00000000 0001 03  81234",
		"ffff9a4b3c2d1e00: 00000003 00000000 00000000 0001 03  81234x",
		"ffff9a4b3c2d1e00: 00000003 00000000 00000000 0001 03  81234 ", /* empty path */
		": 00000003 00000000 00000000 0001 03  81234",
	};
	struct unix_sock sock;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nettables__parse_unix(bad[i], &sock), -EINVAL);
	/* a path longer than sun_path holds is no kernel's */
	snprintf(long_path, sizeof(long_path), "%s /%0200d", UNIX_PAIR, 0);
	assert_int_equal(nettables__parse_unix(long_path, &sock), -EINVAL);
}

static void test_format(void **state)
{
	struct inet_sock sock;
	char text[128];

	(void)state;
	assert_int_equal(nettables__parse_inet(TCP_ESTAB, false, &sock), 0);
	nettables__format_inet(&sock, NET_TABLE_TCP, text, sizeof(text));
	assert_string_equal(text, "TCP 10.0.0.1:5432 -> 10.0.0.2:41234 ESTABLISHED");
	assert_int_equal(nettables__parse_inet(TCP_LISTEN, false, &sock), 0);
	nettables__format_inet(&sock, NET_TABLE_TCP, text, sizeof(text));
	assert_string_equal(text, "TCP 127.0.0.1:8080 LISTEN");
	assert_int_equal(nettables__parse_inet(TCP6_LISTEN, true, &sock), 0);
	nettables__format_inet(&sock, NET_TABLE_TCP6, text, sizeof(text));
	assert_string_equal(text, "TCP [::1]:8080 LISTEN");
	assert_int_equal(nettables__parse_inet(UDP_BOUND, false, &sock), 0);
	nettables__format_inet(&sock, NET_TABLE_UDP, text, sizeof(text));
	assert_string_equal(text, "UDP 0.0.0.0:53");
	assert_string_equal(nettables__tcp_state_name(8), "CLOSE_WAIT");
	assert_string_equal(nettables__tcp_state_name(200), "UNKNOWN");
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	file = fopen(path, "w");
	assert_non_null(file);
	assert_int_equal(fputs(text, file) >= 0, 1);
	assert_int_equal(fclose(file), 0);
}

/* Tables read from files: indexed by inode, a connection's other end
 * found, a line too long to be the kernel's and an inode listed twice (a
 * UNIX path forging a line) both dropped. */
static void test_tables_from_files(void **state)
{
	char dir[] = "/tmp/pw-nettables.XXXXXX", tcp[2048], unix_text[1024], path[300];
	const struct inet_sock *sock, *other;
	struct net_tables *tables;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(tcp, sizeof(tcp),
		 TCP_HEADER TCP_LISTEN "\n" TCP_ESTAB "\n"
		 /* the other end of TCP_ESTAB */
		 "   2: 0200000A:A112 0100000A:1538 01 00000000:00000000 00:00000000 00000000"
		 "     0        0 99124 1 0000000000000000 20 4 30 10 -1\n"
		 "   3: %0600d\n" /* too long: skipped whole, its tail too */
		 "   4: garbage\n",
		 0);
	write_file(dir, "tcp", tcp);
	snprintf(unix_text, sizeof(unix_text),
		 "Num       RefCount Protocol Flags    Type St Inode Path\n"
		 UNIX_LISTEN "\n" UNIX_PAIR "\n"
		 /* a path with a newline that forges a line for 16972 */
		 "ffff9a4b3c2d1f00: 00000002 00000000 00000000 0001 01 5555 /tmp/a\n"
		 "0000000000000000: 00000002 00000000 00000000 0001 01 16972 /forged\n");
	write_file(dir, "unix", unix_text);
	tables = nettables__new(dir);
	assert_non_null(tables);

	sock = nettables__inet(tables, NET_TABLE_TCP, 99123);
	assert_non_null(sock);
	assert_int_equal(sock->local_port, 5432);
	other = nettables__inet_other_end(tables, NET_TABLE_TCP, sock);
	assert_non_null(other);
	assert_int_equal(other->inode, 99124);
	assert_ptr_equal(nettables__inet_other_end(tables, NET_TABLE_TCP, other), sock);
	/* a listener has no other end */
	sock = nettables__inet(tables, NET_TABLE_TCP, 18746);
	assert_non_null(sock);
	assert_null(nettables__inet_other_end(tables, NET_TABLE_TCP, sock));
	assert_null(nettables__inet(tables, NET_TABLE_TCP, 4242));
	/* no udp file: nothing, and no error */
	assert_null(nettables__inet(tables, NET_TABLE_UDP, 4242));

	assert_non_null(nettables__unix(tables, 81234));
	assert_non_null(nettables__unix(tables, 5555));
	assert_null(nettables__unix(tables, 16972));
	nettables__free(tables);
	nettables__free(NULL);

	for (const char *name = "tcp"; name; name = strcmp(name, "tcp") ? NULL : "unix") {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inet_lines),
		cmocka_unit_test(test_hostile_inet_lines),
		cmocka_unit_test(test_unix_lines),
		cmocka_unit_test(test_hostile_unix_lines),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_tables_from_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
