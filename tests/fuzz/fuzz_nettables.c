// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Fuzzes the parsing of /proc/PID/net/{tcp,tcp6,udp,udp6,unix} lines
 * (proc/nettables.c) and the printing of what they give: the first byte
 * picks the table, the rest is one line. */
#include <stdlib.h>
#include <string.h>
#include "proc/nettables.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct inet_sock inet;
	struct unix_sock unix_sock;
	enum net_table table;
	char *line, buf[256];

	line = fuzz_text_after_choice(data, size);
	if (!line)
		return 0;
	table = data[0] % NET_TABLE__COUNT;
	if (table == NET_TABLE_UNIX) {
		/* the path is terminated inside its field */
		if (!nettables__parse_unix(line, &unix_sock) &&
		    strnlen(unix_sock.path, sizeof(unix_sock.path)) == sizeof(unix_sock.path))
			abort();
	} else if (!nettables__parse_inet(line, table == NET_TABLE_TCP6 || table == NET_TABLE_UDP6,
					  &inet)) {
		nettables__format_inet(&inet, table, buf, sizeof(buf));
		fuzz_use(strlen(buf) + strlen(nettables__tcp_state_name(inet.state)));
	}
	free(line);
	return 0;
}
