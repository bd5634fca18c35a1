/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Unwinding each distinct parked stack once.  Threads leaked at one place
 * park with the same registers and the same words where the unwinder looks,
 * each at its own stack address.  Unwinding is a function of the registers
 * and of the stack words it reads, so a walk is recorded with the words it
 * read (as offsets from the stack pointer, pointers into the captured stack
 * likewise), and a thread whose registers and those words match takes the
 * recorded frames without a walk.  A walk that read outside the captured
 * copy (process memory, which the copy doesn't pin) is never reused.
 *
 * Registers and saved registers also hold each thread's own data (a
 * request's number, a counter), which CFI restores but never computes an
 * address or a pc from.  A second walk of the same capture with every such
 * word changed (neither zero, nor a pointer into the stack, nor one of the
 * frames' pcs) tells: when it reads the same offsets and finds the same
 * frames, those words are left out of the match.
 *
 * One memo serves one process's threads in one picture.
 */
#ifndef PARKWATCH_UNWIND_MEMO_H
#define PARKWATCH_UNWIND_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include "model/symbol.h"
#include "util/u64map.h"
#include "park.h"

#define UNWIND_MEMO_MAX_READS 512   /* a longer walk is not recorded */
#define UNWIND_MEMO_MAX_ENTRIES 4096 /* per memo: past it, walks are not recorded */

/* One stack word as the unwinder saw it: a pointer into the captured
 * stack is kept as its offset from the stack pointer. */
struct memo_word {
	__u64 value;
	bool in_stack;
	bool any;                   /* in a memo entry: any value will do */
};

/* What the second walk sees in place of a word that may vary. */
#define UNWIND_MEMO_VARIED(value) ((value) ^ 0x5a5a5a5a5a5a5a5aULL)

struct memo_read {
	__u64 offset;               /* from the stack pointer */
	struct memo_word word;
};

/* What one walk read, gathered while it runs. */
struct unwind_trace {
	bool reusable;              /* every read was inside the captured copy */
	int count;
	struct memo_read reads[UNWIND_MEMO_MAX_READS];
};

/* The captured stack a walk runs on. */
struct memo_capture {
	const __u64 *regs;          /* PARK_NREGS */
	const __u8 *ustack;         /* ustack_bytes bytes from regs[PW_REG_SP] */
	size_t ustack_bytes;
};

struct unwind_memo {
	struct u64map by_regs;      /* hash of the pc -> first memo_entry */
	size_t entries;
};

/* A zeroed struct unwind_memo is an empty one. */
/* Forgets every entry (the next process, or the next picture). */
void unwind_memo__clear(struct unwind_memo *memo);

/* Starts a trace; unwind_memo__read records each word the walk reads. */
void unwind_memo__trace_start(struct unwind_trace *trace);
void unwind_memo__read(struct unwind_trace *trace, const struct memo_capture *capture,
		       __u64 addr, __u64 value, bool from_capture);

/* Whether the second walk changes this word (see above). */
bool unwind_memo__may_vary(const struct memo_capture *capture, const struct stack_frame *frames,
			   int depth, __u64 value);
/* Whether the second walk, trace varied, read what the first read. */
bool unwind_memo__same_reads(const struct unwind_trace *first, const struct unwind_trace *varied);

/*
 * The frames a recorded walk found for a capture that matches it: depth
 * (frames copied to frames) and truncated; -1 when none matches.
 */
int unwind_memo__find(struct unwind_memo *memo, const struct memo_capture *capture,
		      struct stack_frame *frames, bool *truncated);
/* Records a finished walk; vary_alike: the second walk found its frames
 * too.  A walk that can't be reused (see above), or no memory, records
 * nothing. */
void unwind_memo__add(struct unwind_memo *memo, const struct memo_capture *capture,
		      const struct unwind_trace *trace, const struct stack_frame *frames,
		      int depth, bool truncated, bool vary_alike);

#endif /* PARKWATCH_UNWIND_MEMO_H */
