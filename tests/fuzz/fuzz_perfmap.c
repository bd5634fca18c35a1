// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Fuzzes the reading of a perf map (proc/perfmap.c), the file a JIT
 * process writes in /tmp, and the lookups and symbols made from it. */
#include <stdlib.h>
#include <string.h>
#include "proc/perfmap.h"
#include "fuzz.h"

static void look_around(const struct perfmap *map, __u64 pc)
{

	for (__u64 at = pc - 1; at != pc + 2; at++) {
		const struct perfmap_entry *entry = perfmap__find(map, at);
		struct symbol *symbol = perfmap__symbol(map, at);

		/* an entry holds every pc from its start to its end */
		if (entry && (perfmap__find(map, entry->start) != entry ||
			      perfmap__find(map, entry->end - 1) != entry))
			abort();
		if (entry)
			fuzz_use(strlen(entry->name));
		fuzz_use(symbol && perfmap__is_jit_symbol(symbol));
		symbol__put(symbol);
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct perfmap *map = perfmap__new_path("/nonexistent", 0, "[perf-1.map]");
	char *text = malloc(size + 1);

	if (!map || !text) {
		perfmap__free(map);
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	if (!perfmap__parse(map, text, size)) {
		/* each line's start address and the bytes beside it */
		const char *line = (const char *)data;
		const char *end = line + size;

		for (size_t n = 0; n < 64 && line < end; n++) {
			const char *nl = memchr(line, '\n', (size_t)(end - line));
			char first[24] = "";

			memcpy(first, line, (size_t)(end - line) < sizeof(first) - 1 ?
			       (size_t)(end - line) : sizeof(first) - 1);
			look_around(map, strtoull(first, NULL, 16));
			line = nl ? nl + 1 : end;
		}
		fuzz_use(perfmap__count(map) + perfmap__skipped(map));
	}
	perfmap__free(map);
	return 0;
}
