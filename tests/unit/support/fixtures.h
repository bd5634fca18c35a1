/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Helpers shared by the unit tests: hand-built stacks, symbols and threads
 * for fake reports, output captured in memory with strstr checks, the
 * capture of this process's own registers and stack, and a procs session
 * on this process.  Each test is built from its one .c file, so these are
 * static functions in a header, marked unused for the tests that need only
 * some of them.
 */
#ifndef PARKWATCH_TESTS_FIXTURES_H
#define PARKWATCH_TESTS_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "model/report.h"

#define FX_UNUSED __attribute__((unused))

#define SEC 1000000000ULL
#define MS 1000000ULL
#define NOW_NS (1000000 * SEC)

/* ------------------------------------------------------ fake reports */

/* A stack of the given pcs, leaf first; callers are looked up at pc - 1. */
FX_UNUSED static struct stack *make_stack(const __u64 *pcs, int depth)
{
	struct stack *stack = calloc(1, sizeof(*stack) + depth * sizeof(stack->frames[0]));

	assert_non_null(stack);
	stack->depth = depth;
	for (int i = 0; i < depth; i++) {
		stack->frames[i].pc = pcs[i];
		stack->frames[i].lookup_pc = i ? pcs[i] - 1 : pcs[i];
	}
	return stack;
}

/* A symbol with frame_count empty frames, freed with symbol__free. */
FX_UNUSED static struct symbol *make_symbol(const char *module, __u64 start, __u64 end,
					    const char *build_id, __u64 module_offset,
					    int frame_count)
{
	struct symbol *symbol = calloc(1, sizeof(*symbol) + frame_count * sizeof(symbol->frames[0]));

	assert_non_null(symbol);
	symbol->module = module ? strdup(module) : NULL;
	symbol->module_start = start;
	symbol->module_end = end;
	symbol->module_offset = module_offset;
	symbol->build_id = build_id ? strdup(build_id) : NULL;
	symbol->frame_count = frame_count;
	return symbol;
}

/* Sets (or replaces) frame i of symbol. */
FX_UNUSED static void set_frame(struct symbol *symbol, int i, const char *function,
				const char *file, int line, __u64 function_offset, bool inlined)
{
	free(symbol->frames[i].function);
	free(symbol->frames[i].file);
	symbol->frames[i].function = function ? strdup(function) : NULL;
	symbol->frames[i].file = file ? strdup(file) : NULL;
	symbol->frames[i].line = line;
	symbol->frames[i].function_offset = function_offset;
	symbol->frames[i].inlined = inlined;
}

/* A thread parked for park_ns (up to NOW_NS) for reason, or running when reason is NULL. */
FX_UNUSED static void set_thread(struct task_record *rec, struct thread_info *thread, __u32 tgid,
				 __u32 tid, const char *reason, bool timeout, __u64 park_ns,
				 const struct stack *stack, const struct symbol **symbols)
{
	rec->tgid = tgid;
	rec->tid = tid;
	rec->now_ns = NOW_NS;
	rec->park_start_ns = reason ? NOW_NS - park_ns : 0;
	thread->rec = rec;
	thread->state = reason ? "sleeping" : "running";
	thread->parked = reason != NULL;
	thread->wait.reason = reason;
	thread->wait.has_timeout = timeout;
	thread->park_ns = reason ? park_ns : 0;
	thread->stack = stack;
	thread->symbols = symbols;
}

/* Points the report at its threads and processes and counts them by state. */
FX_UNUSED static void fill_report(struct report *report, struct thread_info *threads,
				  size_t count, struct proc_summary *procs, size_t proc_count)
{
	report->threads = threads;
	report->thread_count = count;
	report->parked_count = 0;
	memset(report->state_counts, 0, sizeof(report->state_counts));
	for (size_t i = 0; i < count; i++) {
		report->parked_count += threads[i].parked;
		report->state_counts[threads[i].parked ? REPORT_SLEEPING : REPORT_RUNNING]++;
	}
	report->procs = procs;
	report->proc_count = proc_count;
}

/* (Re)builds the report's groups from its threads. */
FX_UNUSED static void regroup(struct report *report)
{
	group__free_all(report->groups, report->group_count);
	report->groups = NULL;
	report->group_count = 0;
	assert_int_equal(group__build(report->threads, report->thread_count, &report->groups,
				      &report->group_count), 0);
}

/* ------------------------------------------------------ output checks */

/* A stream into *buf (freed first: earlier output is gone). */
FX_UNUSED static FILE *open_output(char **buf, size_t *len)
{
	FILE *out;

	free(*buf);
	*buf = NULL;
	out = open_memstream(buf, len);
	assert_non_null(out);
	return out;
}

/* Closes a stream of open_output; returns what was written. */
FX_UNUSED static const char *close_output(FILE *out, char **buf)
{
	assert_int_equal(fclose(out), 0);
	assert_non_null(*buf);
	return *buf;
}

/* strstr that fails the test, printing the whole output, when needle is missing. */
FX_UNUSED static const char *expect(const char *haystack, const char *needle)
{
	const char *found = strstr(haystack, needle);

	if (!found)
		print_message("--- missing:\n%s\n--- in:\n%s\n---\n", needle, haystack);
	assert_non_null(found);
	return found;
}

FX_UNUSED static void expect_not(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		print_message("--- unexpected:\n%s\n--- in:\n%s\n---\n", needle, haystack);
	assert_null(strstr(haystack, needle));
}

FX_UNUSED static size_t occurrences(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

FX_UNUSED static bool starts_with(const char *text, const char *prefix)
{
	bool ok = !strncmp(text, prefix, strlen(prefix));

	if (!ok)
		print_message("--- expected a start:\n%s\n--- in:\n%s\n---\n", prefix, text);
	return ok;
}

/* False for a NULL text. */
FX_UNUSED static bool ends_with(const char *text, const char *suffix)
{
	size_t len = text ? strlen(text) : 0, suffix_len = strlen(suffix);
	bool ok = text && len >= suffix_len && !strcmp(text + len - suffix_len, suffix);

	if (!ok)
		print_message("--- expected an end:\n%s\n--- in:\n%s\n---\n", suffix,
			      text ? text : "(null)");
	return ok;
}

/* ------------------------------------------------ this process's stack */

/*
 * Stores rbx, rbp, rsp, r12-r15 and rip at the same instruction boundary
 * into regs (PARK_NREGS words, in the iterator's layout), the rest zeroed.
 * A macro: rip must be a pc of the function that expands it.
 */
#define CAPTURE_REGS(regs)                                                   \
	do {                                                                 \
		__u64 *regs_ = (regs);                                       \
									     \
		memset(regs_, 0, PARK_NREGS * sizeof(__u64));                \
		__asm__ volatile("movq %%rbx, %c[bx](%[r])\n\t"              \
				 "movq %%rbp, %c[bp](%[r])\n\t"              \
				 "movq %%rsp, %c[sp](%[r])\n\t"              \
				 "movq %%r12, %c[r12](%[r])\n\t"             \
				 "movq %%r13, %c[r13](%[r])\n\t"             \
				 "movq %%r14, %c[r14](%[r])\n\t"             \
				 "movq %%r15, %c[r15](%[r])\n\t"             \
				 "leaq 0(%%rip), %%rax\n\t"                  \
				 "movq %%rax, %c[ip](%[r])\n\t"              \
				 :                                           \
				 : [r] "r"(regs_),                           \
				   [bx] "i"(8 * PW_REG_BX),                  \
				   [bp] "i"(8 * PW_REG_BP),                  \
				   [sp] "i"(8 * PW_REG_SP),                  \
				   [r12] "i"(8 * PW_REG_R12),                \
				   [r13] "i"(8 * PW_REG_R13),                \
				   [r14] "i"(8 * PW_REG_R14),                \
				   [r15] "i"(8 * PW_REG_R15),                \
				   [ip] "i"(8 * PW_REG_IP)                   \
				 : "rax", "memory");                         \
	} while (0)

/* Copies live stack words, as the BPF side does: not with memcpy, which
 * AddressSanitizer would (rightly) flag for reading other frames' redzones. */
FX_UNUSED __attribute__((no_sanitize_address)) static void copy_stack(__u8 *dst,
								      unsigned long src,
								      unsigned long bytes)
{
	const volatile __u64 *from = (const volatile __u64 *)src;
	__u64 *to = (__u64 *)dst;

	for (unsigned long i = 0; i < bytes / 8; i++)
		to[i] = from[i];
}

/* End of the mapping that holds addr (the top of this thread's stack). */
FX_UNUSED static unsigned long mapping_end(unsigned long addr)
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
FX_UNUSED static unsigned long copy_stack_above(const __u64 *regs, __u8 *dst, unsigned long cap)
{
	unsigned long rsp = regs[PW_REG_SP], end = mapping_end(rsp);
	unsigned long bytes = end > rsp && end - rsp < cap ? end - rsp : cap;

	copy_stack(dst, rsp, bytes);
	return bytes;
}

/* A procs session with this process in it, for group setups. */
FX_UNUSED static int procs_self_open(struct procs **procs, struct proc **self)
{
	*procs = procs__new();
	if (!*procs)
		return -1;
	procs__begin(*procs);
	*self = procs__get(*procs, getpid());
	return *self ? 0 : -1;
}

FX_UNUSED static void procs_self_close(struct procs *procs)
{
	procs__end(procs);
	procs__free(procs);
}

#endif /* PARKWATCH_TESTS_FIXTURES_H */
