// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* This process's own stack, captured as the BPF side captures a thread's (fixtures.h). */
#include "support/fixtures.h"

/* Copies live stack words, as the BPF side does: not with memcpy, which
 * AddressSanitizer would (rightly) flag for reading other frames' redzones. */
__attribute__((no_sanitize_address)) static void copy_stack(__u8 *dst,
								      unsigned long src,
								      unsigned long bytes)
{
	const volatile __u64 *from = (const volatile __u64 *)src;
	__u64 *to = (__u64 *)dst;

	for (unsigned long i = 0; i < bytes / 8; i++)
		to[i] = from[i];
}

/* End of the mapping that holds addr (the top of this thread's stack). */
static unsigned long mapping_end(unsigned long addr)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	unsigned long start, end, found = 0;
	char line[512];

	if (!maps)
		return 0;
	while (fgets(line, sizeof(line), maps))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && addr >= start && addr < end)
			found = end;
	fclose(maps);
	return found;
}

/* Copies the stack above the rsp of regs (CAPTURE_REGS), at most cap bytes,
 * into dst; returns the bytes copied. */
unsigned long copy_stack_above(const __u64 *regs, __u8 *dst, unsigned long cap)
{
	unsigned long rsp = regs[PW_REG_SP], end = mapping_end(rsp);
	unsigned long bytes = end > rsp && end - rsp < cap ? end - rsp : cap;

	copy_stack(dst, rsp, bytes);
	return bytes;
}
