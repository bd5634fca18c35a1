// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes the parsers of /proc text: a process shapes its name in stat and
 * status and the paths in its maps.  The first byte picks the parser, the
 * rest is the file: maps as the Go reader's (go/gomem.c) and a PIE's load
 * bias (go/gobinary.c) read it, NSpid in status (util/procfs.c), the state
 * and flags in stat (cli/preflight.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include "cli/preflight.h"
#include "go/gobinary.h"
#include "go/gomem.h"
#include "util/procfs.h"
#include "fuzz.h"

enum parser { MAPS, EXE_START, NS_PID, STAT, PARSER__COUNT };

static void parse_maps(char *text, size_t len, enum parser parser)
{
	/* the executable as the seeds' maps name it */
	struct stat exe = { .st_dev = makedev(8, 1), .st_ino = 1234 };
	FILE *maps = fmemopen(text, len, "r");
	struct range *ranges;
	size_t count;
	__u64 start;

	if (!maps)
		return;
	if (parser == MAPS && !gomem__parse_maps(maps, &ranges, &count)) {
		for (size_t i = 0; i < count; i++)
			if (ranges[i].hi <= ranges[i].lo)
				abort();
		free(ranges);
	} else if (parser == EXE_START && !gobinary__exe_start(maps, &exe, "/usr/bin/app", &start)) {
		fuzz_use(start);
	}
	fclose(maps);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	enum parser parser;
	bool kernel_thread = false;
	char *text;

	text = fuzz_text_after_choice(data, size);
	if (!text)
		return 0;
	parser = data[0] % PARSER__COUNT;
	switch (parser) {
	case MAPS:
	case EXE_START:
		if (size > 1)
			parse_maps(text, size - 1, parser);
		break;
	case NS_PID:
		fuzz_use((unsigned)procfs__parse_ns_pid(text, 42));
		break;
	case STAT:
		fuzz_use((unsigned)preflight__parse_stat(text, &kernel_thread) + kernel_thread);
		break;
	default:
		break;
	}
	free(text);
	return 0;
}
