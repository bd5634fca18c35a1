// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A network namespace's socket tables (nettables.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc/nettables.h"
#include "util/procfs.h"
#include "util/hash.h"
#include "util/u64map.h"

#define NET_LINE_MAX 512            /* a unix line is at most ~170 bytes, an inet one ~170 */
#define NET_TABLE_MAX_ENTRIES (1u << 18)
#define DUPLICATE ((void *)UINTPTR_MAX) /* an inode listed twice: a forged line */

const char *const net_table_names[NET_TABLE__COUNT] = {
	[NET_TABLE_TCP] = "tcp", [NET_TABLE_TCP6] = "tcp6", [NET_TABLE_UDP] = "udp",
	[NET_TABLE_UDP6] = "udp6", [NET_TABLE_UNIX] = "unix",
};

struct table {
	bool read;                  /* tried: not again, even after a failure */
	void *entries;              /* struct inet_sock or struct unix_sock */
	size_t count, capacity;
	struct u64map by_inode;     /* inode -> index + 1, or DUPLICATE */
	struct u64map by_ends;      /* inet: hash of both ends -> index + 1 (built on demand) */
	bool ends_indexed;
};

struct net_tables {
	char dir[96];
	struct table tables[NET_TABLE__COUNT];
};

/* Exactly digits hex digits (any count up to 8 when digits is 0). */
static const char *parse_hex(const char *p, int digits, __u32 *out)
{
	int n = 0;

	*out = 0;
	for (; n < 8 && ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F') ||
			 (*p >= 'a' && *p <= 'f'));
	     p++, n++) {
		int value = *p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10;

		*out = *out << 4 | (__u32)value;
	}
	if (!n || (digits && n != digits))
		return NULL;
	return p;
}

static const char *parse_dec(const char *p, __u64 *out)
{
	int n = 0;

	*out = 0;
	for (; *p >= '0' && *p <= '9' && n < 20; p++, n++)
		*out = *out * 10 + (__u64)(*p - '0');
	return n && n < 20 ? p : NULL;
}

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* "0100007F:1F90" or 32 hex digits and a port: the kernel prints each 32-bit
 * word of the address as a host-order number. */
static const char *parse_end(const char *p, bool ipv6, __u8 addr[16], __u16 *port)
{
	__u32 word, port_value;

	memset(addr, 0, 16);
	for (int i = 0; i < (ipv6 ? 4 : 1); i++) {
		p = parse_hex(p, 8, &word);
		if (!p)
			return NULL;
		memcpy(addr + 4 * i, &word, sizeof(word));
	}
	if (*p++ != ':')
		return NULL;
	p = parse_hex(p, 4, &port_value);
	*port = (__u16)port_value;
	return p;
}

/* hex ":" hex, as the queue and timer columns are */
static const char *parse_hex_pair(const char *p)
{
	__u32 ignored;

	p = parse_hex(skip_spaces(p), 0, &ignored);
	if (!p || *p++ != ':')
		return NULL;
	return parse_hex(p, 0, &ignored);
}

int nettables__parse_inet(const char *line, bool ipv6, struct inet_sock *out)
{
	const char *p = skip_spaces(line);
	__u64 number;
	__u32 hex;

	memset(out, 0, sizeof(*out));
	out->ipv6 = ipv6;
	/* sl: local rem st tx:rx tr:when retrnsmt uid timeout inode */
	if (!(p = parse_dec(p, &number)) || *p++ != ':')
		return -EINVAL;
	if (!(p = parse_end(skip_spaces(p), ipv6, out->local_addr, &out->local_port)))
		return -EINVAL;
	if (*p != ' ' || !(p = parse_end(skip_spaces(p), ipv6, out->remote_addr, &out->remote_port)))
		return -EINVAL;
	if (*p != ' ' || !(p = parse_hex(skip_spaces(p), 2, &hex)))
		return -EINVAL;
	out->state = (__u8)hex;
	if (!(p = parse_hex_pair(p)) || !(p = parse_hex_pair(p)))
		return -EINVAL;
	if (!(p = parse_hex(skip_spaces(p), 0, &hex)))
		return -EINVAL;
	for (int i = 0; i < 3; i++) { /* uid, timeout, inode */
		if (*p != ' ' || !(p = parse_dec(skip_spaces(p), &number)))
			return -EINVAL;
	}
	if (*p != ' ' && *p != '\n' && *p)
		return -EINVAL;
	out->inode = number;
	return number ? 0 : -EINVAL;
}

int nettables__parse_unix(const char *line, struct unix_sock *out)
{
	const char *p = line;
	__u32 hex, flags;
	__u64 inode;
	size_t len;

	memset(out, 0, sizeof(*out));
	/* Num: RefCount Protocol Flags Type St Inode [Path] */
	while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))
		if (++p - line > 16)
			return -EINVAL;
	if (p == line || *p++ != ':')
		return -EINVAL;
	for (int i = 0; i < 2; i++)
		if (*p != ' ' || !(p = parse_hex(p + 1, 8, &hex)))
			return -EINVAL;
	if (*p != ' ' || !(p = parse_hex(p + 1, 8, &flags)))
		return -EINVAL;
	if (*p != ' ' || !(p = parse_hex(p + 1, 4, &hex)))
		return -EINVAL;
	out->type = (__u16)hex;
	if (*p != ' ' || !(p = parse_hex(p + 1, 2, &hex)))
		return -EINVAL;
	out->state = (__u8)hex;
	if (*p != ' ' || !(p = parse_dec(skip_spaces(p), &inode)) || !inode)
		return -EINVAL;
	out->inode = inode;
	out->listening = flags & (1u << 16); /* __SO_ACCEPTCON */
	if (*p == ' ') {
		len = strcspn(p + 1, "\n");
		if (!len || len > NET_UNIX_PATH_MAX)
			return -EINVAL;
		memcpy(out->path, p + 1, len);
		out->path[len] = '\0';
	} else if (*p && *p != '\n') {
		return -EINVAL;
	}
	return 0;
}

const char *nettables__tcp_state_name(unsigned state)
{
	static const char *const names[] = {
		[1] = "ESTABLISHED", [2] = "SYN_SENT",   [3] = "SYN_RECV",   [4] = "FIN_WAIT1",
		[5] = "FIN_WAIT2",   [6] = "TIME_WAIT",  [7] = "CLOSE",      [8] = "CLOSE_WAIT",
		[9] = "LAST_ACK",    [10] = "LISTEN",    [11] = "CLOSING",   [12] = "NEW_SYN_RECV",
	};

	if (state >= sizeof(names) / sizeof(names[0]) || !names[state])
		return "UNKNOWN";
	return names[state];
}

static void format_end(const __u8 addr[16], __u16 port, bool ipv6, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(ipv6 ? AF_INET6 : AF_INET, addr, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	snprintf(buf, size, ipv6 ? "[%s]:%u" : "%s:%u", text, port);
}

static bool is_zero(const __u8 *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (bytes[i])
			return false;
	return true;
}

void nettables__format_inet(const struct inet_sock *sock, enum net_table table, char *buf,
			    size_t size)
{
	bool tcp = table == NET_TABLE_TCP || table == NET_TABLE_TCP6;
	char local[INET6_ADDRSTRLEN + 8], remote[INET6_ADDRSTRLEN + 8];

	format_end(sock->local_addr, sock->local_port, sock->ipv6, local, sizeof(local));
	format_end(sock->remote_addr, sock->remote_port, sock->ipv6, remote, sizeof(remote));
	if (tcp && sock->state == NET_TCP_LISTEN)
		snprintf(buf, size, "TCP %s LISTEN", local);
	else if (tcp)
		snprintf(buf, size, "TCP %s -> %s %s", local, remote,
			 nettables__tcp_state_name(sock->state));
	else if (!sock->remote_port && is_zero(sock->remote_addr, sizeof(sock->remote_addr)))
		snprintf(buf, size, "UDP %s", local);
	else
		snprintf(buf, size, "UDP %s -> %s", local, remote);
}

struct net_tables *nettables__new(const char *dir)
{
	struct net_tables *tables = calloc(1, sizeof(*tables));

	if (!tables)
		return NULL;
	if ((size_t)snprintf(tables->dir, sizeof(tables->dir), "%s", dir) >= sizeof(tables->dir)) {
		free(tables);
		return NULL;
	}
	return tables;
}

void nettables__free(struct net_tables *tables)
{
	if (!tables)
		return;
	for (int i = 0; i < NET_TABLE__COUNT; i++) {
		free(tables->tables[i].entries);
		u64map__clear(&tables->tables[i].by_inode);
		u64map__clear(&tables->tables[i].by_ends);
	}
	free(tables);
}

static size_t entry_size(enum net_table which)
{
	return which == NET_TABLE_UNIX ? sizeof(struct unix_sock) : sizeof(struct inet_sock);
}

/* Appends the parsed line; 0, 1 (not a socket line: skipped) or -ENOMEM. */
static int add_line(struct table *table, enum net_table which, const char *line)
{
	size_t size = entry_size(which);
	void *entry, *slot;
	__u64 inode;

	if (table->count == table->capacity) {
		size_t capacity = table->capacity ? 2 * table->capacity : 64;
		void *grown = realloc(table->entries, capacity * size);

		if (!grown)
			return -ENOMEM;
		table->entries = grown;
		table->capacity = capacity;
	}
	entry = (char *)table->entries + table->count * size;
	if (which == NET_TABLE_UNIX ?
		    nettables__parse_unix(line, entry) :
		    nettables__parse_inet(line, which == NET_TABLE_TCP6 || which == NET_TABLE_UDP6,
					  entry))
		return 1;
	inode = which == NET_TABLE_UNIX ? ((struct unix_sock *)entry)->inode :
					  ((struct inet_sock *)entry)->inode;
	slot = u64map__get(&table->by_inode, inode);
	table->count++;
	return u64map__put(&table->by_inode, inode,
			   slot ? DUPLICATE : (void *)(uintptr_t)table->count);
}

/* Reads the table once; a line too long to be the kernel's is skipped whole. */
static struct table *table_of(struct net_tables *tables, enum net_table which)
{
	struct table *table = &tables->tables[which];
	char path[128], line[NET_LINE_MAX];
	bool skipping = false, header = true;
	FILE *file;

	if (table->read)
		return table;
	table->read = true;
	snprintf(path, sizeof(path), "%s/%s", tables->dir, net_table_names[which]);
	file = procfs__fopen(path);
	if (!file)
		return table;
	while (fgets(line, sizeof(line), file) && table->count < NET_TABLE_MAX_ENTRIES) {
		bool whole = strchr(line, '\n') || feof(file);
		bool skip = skipping || !whole;

		skipping = !whole;
		if (header || skip) {
			header = header && !whole;
			continue;
		}
		if (add_line(table, which, line) < 0)
			break;
	}
	fclose(file);
	return table;
}

static const void *lookup(struct net_tables *tables, enum net_table which, __u64 inode)
{
	struct table *table = table_of(tables, which);
	void *slot = u64map__get(&table->by_inode, inode);

	if (!slot || slot == DUPLICATE)
		return NULL;
	return (const char *)table->entries + ((uintptr_t)slot - 1) * entry_size(which);
}

const struct inet_sock *nettables__inet(struct net_tables *tables, enum net_table table,
					__u64 inode)
{
	if (table == NET_TABLE_UNIX || table >= NET_TABLE__COUNT)
		return NULL;
	return lookup(tables, table, inode);
}

const struct unix_sock *nettables__unix(struct net_tables *tables, __u64 inode)
{
	return lookup(tables, NET_TABLE_UNIX, inode);
}

/* Never 0, the map's empty key. */
static __u64 ends_hash(const __u8 *local, __u16 local_port, const __u8 *remote, __u16 remote_port)
{
	__u64 hash = hash__bytes(local, 16, local_port);

	return hash__bytes(remote, 16, hash ^ remote_port) | 1;
}

const struct inet_sock *nettables__inet_other_end(struct net_tables *tables, enum net_table which,
						  const struct inet_sock *sock)
{
	struct table *table = table_of(tables, which);
	const struct inet_sock *socks = table->entries, *other;
	void *slot;

	if (which == NET_TABLE_UNIX || which >= NET_TABLE__COUNT)
		return NULL;
	if (!table->ends_indexed) {
		table->ends_indexed = true;
		for (size_t i = 0; i < table->count; i++) {
			__u64 key = ends_hash(socks[i].local_addr, socks[i].local_port,
					      socks[i].remote_addr, socks[i].remote_port);

			/* a listener shares its local end with its connections: not one */
			if (socks[i].state != NET_TCP_LISTEN && !u64map__get(&table->by_ends, key) &&
			    u64map__put(&table->by_ends, key, (void *)(uintptr_t)(i + 1)))
				break;
		}
	}
	slot = u64map__get(&table->by_ends, ends_hash(sock->remote_addr, sock->remote_port,
						      sock->local_addr, sock->local_port));
	if (!slot)
		return NULL;
	other = &socks[(uintptr_t)slot - 1];
	if (memcmp(other->local_addr, sock->remote_addr, 16) || other->local_port != sock->remote_port ||
	    memcmp(other->remote_addr, sock->local_addr, 16) || other->remote_port != sock->local_port ||
	    other->inode == sock->inode)
		return NULL;
	return other;
}
