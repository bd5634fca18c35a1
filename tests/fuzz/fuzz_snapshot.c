// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Fuzzes the parsing of the snapshot iterator's output (kernel/snapshot.c):
 * the records and the stacks after them, at any alignment. */
#include <stdlib.h>
#include <string.h>
#include "kernel/snapshot.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct snapshot *snap = NULL;
	void *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (snapshot__parse(buf, size, &snap))
		return 0;
	/* every sample's last kernel address and stack byte: inside the buffer */
	for (size_t i = 0; i < snap->count; i++) {
		const struct thread_sample *t = &snap->threads[i];

		fuzz_use(t->rec->tid + t->rec->regs[PW_REG_SP]);
		if (t->kstack)
			fuzz_use(t->kstack[t->rec->kstack_depth - 1]);
		if (t->ustack)
			fuzz_use(t->ustack[t->rec->ustack_bytes - 1]);
	}
	snapshot__free(snap);
	return 0;
}
