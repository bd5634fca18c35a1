// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Fuzzes the command line (cli/options.c): the input split at NUL bytes
 * is argv after "parkwatch", parsed as a test parses it (no exit, no
 * messages). */
#include <argp.h>
#include <stdlib.h>
#include <string.h>
#include "cli/options.h"
#include "fuzz.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1), *argv[MAX_ARGS + 2] = { (char *)"parkwatch" };
	int argc = 1;
	struct env env;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t at = 0; at <= size && argc <= MAX_ARGS; at += strlen(text + at) + 1)
		argv[argc++] = text + at;
	argv[argc] = NULL;
	options__parse(argc, argv, &env, ARGP_NO_EXIT | ARGP_NO_ERRS);
	free(text);
	return 0;
}
