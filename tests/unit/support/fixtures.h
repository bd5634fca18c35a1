/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What the unit tests share, compiled once into a support archive: hand-built
 * symbols, stacks and units for fake pictures (pictures.c), output captured
 * in memory with strstr checks (output.c), and the capture of this
 * process's own registers and stack (capture.c).
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
#include "model/picture.h"

#define SEC 1000000000ULL
#define MS 1000000ULL
#define NOW_NS (1000000 * SEC)

/* ------------------------------------------------------ fake pictures */

/* A symbol with frame_count empty frames and one reference (symbol__put). */
struct symbol *make_symbol(const char *module, __u64 start, __u64 end, const char *build_id,
			   __u64 module_offset, int frame_count);
/* What symbolization gives a pc no mapping covers. */
struct symbol *make_unknown(__u64 pc);
/* Sets (or replaces) frame i of symbol. */
void set_frame(struct symbol *symbol, int i, const char *function, const char *file, int line,
	       __u64 function_offset, bool inlined);
/* The picture's stack of pid with these pcs, leaf first (callers are looked
 * up at pc - 1), and symbols (none NULL). */
const struct pw_stack *make_stack(struct pw_picture *picture, pid_t pid, const __u64 *pcs,
				  const struct symbol *const *symbols, int depth);
/* make_stack of full_depth pcs and symbols whose last full_depth - depth are
 * a tail dumps hide (a goroutine's runtime.goexit); truncated: the walk
 * stopped early. */
const struct pw_stack *make_stack_full(struct pw_picture *picture, pid_t pid, const __u64 *pcs,
				       const struct symbol *const *symbols, int depth,
				       int full_depth, bool truncated);
/* A goroutine's stack: every pc a return address, looked up at pc - 1
 * (the saved pc of a parked goroutine is one too). */
const struct pw_stack *make_go_stack(struct pw_picture *picture, pid_t pid, const __u64 *pcs,
				     const struct symbol *const *symbols, int depth,
				     int full_depth, bool truncated);
/* A process summary. */
struct pw_process *add_proc(struct pw_picture *picture, pid_t pid, const char *comm,
			    const char *exe);
/* A thread parked for park_ns (up to NOW_NS) for reason, or running when
 * reason is NULL; valid until the next unit is added. */
struct pw_unit *add_thread(struct pw_picture *picture, pid_t pid, pid_t tid, const char *reason,
			   bool timeout, __u64 park_ns, const struct pw_stack *stack);
/* A Go process: unit_kind PW_UNIT_GOROUTINE, Go 1.21+ (parent goids known). */
struct pw_process *add_go_proc(struct pw_picture *picture, pid_t pid, const char *comm,
			       const char *exe, const char *go_version);
/* A goroutine of pid (added first) in status ("waiting", "running",
 * "syscall", ...); waiting (parked) for park_ns on wait_reason when status
 * is "waiting".  *go (go may be NULL) is its extras, to set more of; both
 * are valid until the next unit is added. */
struct pw_unit *add_goroutine(struct pw_picture *picture, pid_t pid, __u64 goid,
			      const char *status, const char *wait_reason, __u64 park_ns,
			      const struct pw_stack *stack, struct pw_goroutine **go);
/* Counts and (re)groups the picture after its units changed. */
void regroup(struct pw_picture *picture);

/* ------------------------------------------------------ output checks */

/* A stream into *buf (freed first: earlier output is gone). */
FILE *open_output(char **buf, size_t *len);
/* Closes a stream of open_output; returns what was written. */
const char *close_output(FILE *out, char **buf);
/* strstr that fails the test, printing the whole output, when needle is missing. */
const char *expect(const char *haystack, const char *needle);
void expect_not(const char *haystack, const char *needle);
size_t occurrences(const char *haystack, const char *needle);
bool starts_with(const char *text, const char *prefix);
/* False for a NULL text. */
bool ends_with(const char *text, const char *suffix);

/* ------------------------------------------------ this process's stack */

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

/* Copies the stack above the rsp of regs (CAPTURE_REGS), at most cap bytes,
 * into dst; returns the bytes copied. */
unsigned long copy_stack_above(const __u64 *regs, __u8 *dst, unsigned long cap);

#endif /* PARKWATCH_TESTS_FIXTURES_H */
