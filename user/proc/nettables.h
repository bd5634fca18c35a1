/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The socket tables of one network namespace, as its /proc/PID/net/tcp,
 * tcp6, udp, udp6 and unix list them: each read at most once, only when a
 * socket is first looked up in it, parsed line by line with every line
 * distrusted, capped in entries, and indexed by inode.  A line that doesn't
 * parse is skipped; a socket past the cap is just not found.
 */
#ifndef PARKWATCH_NETTABLES_H
#define PARKWATCH_NETTABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

enum net_table {
	NET_TABLE_TCP,
	NET_TABLE_TCP6,
	NET_TABLE_UDP,
	NET_TABLE_UDP6,
	NET_TABLE_UNIX,
	NET_TABLE__COUNT,
};

/* "tcp", "tcp6", "udp", "udp6", "unix": the file names, and the pw_fd types */
extern const char *const net_table_names[NET_TABLE__COUNT];

/* A TCP or UDP socket, one line of tcp, tcp6, udp or udp6. */
struct inet_sock {
	__u64 inode;
	bool ipv6;
	__u8 local_addr[16];        /* network byte order; IPv4 in the first 4 bytes */
	__u8 remote_addr[16];
	__u16 local_port, remote_port;
	__u8 state;                 /* the kernel's TCP_* (tcp_states.h); UDP uses 1 and 7 too */
};

#define NET_UNIX_PATH_MAX 108      /* sun_path */

/* A UNIX socket, one line of unix. */
struct unix_sock {
	__u64 inode;
	bool listening;             /* __SO_ACCEPTCON: it accepts connections */
	__u16 type;                 /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	__u8 state;                 /* SS_UNCONNECTED, SS_CONNECTED, ... */
	char path[NET_UNIX_PATH_MAX + 2]; /* "" unnamed; "@name" abstract */
};

/* One line of tcp/tcp6/udp/udp6 (not the header): 0, or -EINVAL. */
int nettables__parse_inet(const char *line, bool ipv6, struct inet_sock *out);
/* One line of unix (not the header): 0, or -EINVAL. */
int nettables__parse_unix(const char *line, struct unix_sock *out);

/* "ESTABLISHED", "LISTEN", "SYN_SENT", ... as tcp_states.h names them;
 * "UNKNOWN" for a number it doesn't know. */
const char *nettables__tcp_state_name(unsigned state);
#define NET_TCP_LISTEN 10           /* TCP_LISTEN */
/*
 * The one line a dump shows for sock of table: "TCP 10.0.0.1:5432 ->
 * 10.0.0.2:41234 ESTABLISHED", "TCP [::]:8080 LISTEN", "UDP 0.0.0.0:53".
 */
void nettables__format_inet(const struct inet_sock *sock, enum net_table table, char *buf,
			    size_t size);

struct net_tables;

/* The tables under dir ("/proc/PID/task/TID/net"), none read yet; NULL
 * when out of memory. */
struct net_tables *nettables__new(const char *dir);
/* NULL-safe. */
void nettables__free(struct net_tables *tables);
/* The socket with inode in table (tcp ... udp6), reading it the first time;
 * NULL when not there (or unreadable, or out of memory). */
const struct inet_sock *nettables__inet(struct net_tables *tables, enum net_table table,
					__u64 inode);
/* The socket of table whose ends are sock's the other way round: the other
 * end of a connection within the namespace; NULL when there is none. */
const struct inet_sock *nettables__inet_other_end(struct net_tables *tables, enum net_table table,
						  const struct inet_sock *sock);
/* The UNIX socket with inode; NULL when not there. */
const struct unix_sock *nettables__unix(struct net_tables *tables, __u64 inode);

#endif /* PARKWATCH_NETTABLES_H */
