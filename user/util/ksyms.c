// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* /proc/kallsyms, sorted for binary search (ksyms.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/ksyms.h"

struct ksym {
	__u64 addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t count;
};

static int by_addr(const void *a, const void *b)
{
	const struct ksym *left = a, *right = b;

	return left->addr < right->addr ? -1 : left->addr > right->addr;
}

int ksyms__load(const char *path, struct ksyms **out)
{
	struct ksyms *ksyms = calloc(1, sizeof(*ksyms));
	char line[512], name[256], type;
	unsigned long long addr;
	size_t cap = 0;
	FILE *file;

	if (!ksyms)
		return -ENOMEM;
	file = fopen(path, "re");
	if (!file) {
		int err = -errno;

		free(ksyms);
		return err;
	}
	while (fgets(line, sizeof(line), file)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (ksyms->count == cap) {
			struct ksym *grown;

			cap = cap ? cap * 2 : 65536;
			grown = realloc(ksyms->syms, cap * sizeof(*grown));
			if (!grown)
				break;
			ksyms->syms = grown;
		}
		ksyms->syms[ksyms->count].addr = addr;
		ksyms->syms[ksyms->count].name = strdup(name);
		if (ksyms->syms[ksyms->count].name)
			ksyms->count++;
	}
	fclose(file);
	if (!ksyms->count) {
		/* kptr_restrict hides addresses: treat as unavailable */
		ksyms__free(ksyms);
		return -EPERM;
	}
	qsort(ksyms->syms, ksyms->count, sizeof(*ksyms->syms), by_addr);
	*out = ksyms;
	return 0;
}

void ksyms__free(struct ksyms *ksyms)
{
	if (!ksyms)
		return;
	for (size_t i = 0; i < ksyms->count; i++)
		free(ksyms->syms[i].name);
	free(ksyms->syms);
	free(ksyms);
}

const char *ksyms__map_addr(const struct ksyms *ksyms, __u64 addr, __u64 *offset)
{
	size_t low = 0, high;

	if (!ksyms || !ksyms->count || addr < ksyms->syms[0].addr)
		return NULL;
	high = ksyms->count;
	while (high - low > 1) {
		size_t mid = low + (high - low) / 2;

		if (ksyms->syms[mid].addr <= addr)
			low = mid;
		else
			high = mid;
	}
	*offset = addr - ksyms->syms[low].addr;
	return ksyms->syms[low].name;
}
