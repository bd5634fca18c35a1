// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unwinding each distinct parked stack once (unwind_memo.h). */
#include <stdlib.h>
#include <string.h>
#include "proc/unwind_memo.h"

/* Entries of one pc, tried in turn: threads parked at one place that
 * hold different words where the unwinder looks. */
#define MEMO_MAX_CANDIDATES 16

struct memo_entry {
	struct memo_entry *next;    /* same pc */
	struct memo_word regs[PARK_NREGS];
	bool truncated;
	int depth;
	int read_count;
	struct stack_frame *frames; /* depth of them, after reads */
	struct memo_read reads[];
};

static struct memo_word word_of(const struct memo_capture *capture, __u64 value)
{
	__u64 sp = capture->regs[PW_REG_SP];

	if (value >= sp && value - sp < capture->ustack_bytes)
		return (struct memo_word){ .value = value - sp, .in_stack = true };
	return (struct memo_word){ .value = value };
}

/* entry: a memo entry's word; word: a thread's */
static bool same_word(struct memo_word entry, struct memo_word word)
{
	return entry.any || (entry.value == word.value && entry.in_stack == word.in_stack);
}

bool unwind_memo__may_vary(const struct memo_capture *capture, const struct stack_frame *frames,
			   int depth, __u64 value)
{
	if (!value || word_of(capture, value).in_stack)
		return false;
	for (int i = 0; i < depth; i++)
		if (frames[i].pc == value)
			return false;
	return true;
}

bool unwind_memo__same_reads(const struct unwind_trace *first, const struct unwind_trace *varied)
{
	if (!varied->reusable || first->count != varied->count)
		return false;
	for (int i = 0; i < first->count; i++)
		if (first->reads[i].offset != varied->reads[i].offset)
			return false;
	return true;
}

/* The registers as words, and the key of their entries: the pc, the one
 * register that always takes part (the stack pointer always matches). */
static __u64 regs_key(const struct memo_capture *capture, struct memo_word *regs)
{
	for (int i = 0; i < PARK_NREGS; i++)
		regs[i] = word_of(capture, capture->regs[i]);
	return hash__bytes(&capture->regs[PW_REG_IP], sizeof(capture->regs[PW_REG_IP]), 0);
}

static void free_chain(void *value)
{
	for (struct memo_entry *entry = value, *next; entry; entry = next) {
		next = entry->next;
		free(entry);
	}
}

void unwind_memo__clear(struct unwind_memo *memo)
{
	u64map__free_all(&memo->by_regs, free_chain);
	memo->entries = 0;
}

void unwind_memo__trace_start(struct unwind_trace *trace)
{
	trace->reusable = true;
	trace->count = 0;
}

void unwind_memo__read(struct unwind_trace *trace, const struct memo_capture *capture,
		       __u64 addr, __u64 value, bool from_capture)
{
	if (!from_capture || trace->count == UNWIND_MEMO_MAX_READS) {
		trace->reusable = false;
		return;
	}
	trace->reads[trace->count++] = (struct memo_read){
		.offset = addr - capture->regs[PW_REG_SP],
		.word = word_of(capture, value),
	};
}

/* Whether the capture holds, at every offset the entry's walk read, the
 * word that walk saw: then the walk would go the same way on it. */
static bool matches(const struct memo_entry *entry, const struct memo_word *regs,
		    const struct memo_capture *capture)
{
	for (int i = 0; i < PARK_NREGS; i++)
		if (!same_word(entry->regs[i], regs[i]))
			return false;
	for (int i = 0; i < entry->read_count; i++) {
		const struct memo_read *read = &entry->reads[i];
		__u64 value;

		if (read->offset > capture->ustack_bytes ||
		    capture->ustack_bytes - read->offset < sizeof(value))
			return false;
		memcpy(&value, capture->ustack + read->offset, sizeof(value));
		if (!same_word(read->word, word_of(capture, value)))
			return false;
	}
	return true;
}

int unwind_memo__find(struct unwind_memo *memo, const struct memo_capture *capture,
		      struct stack_frame *frames, bool *truncated)
{
	struct memo_word regs[PARK_NREGS];
	const struct memo_entry *entry = u64map__get(&memo->by_regs, regs_key(capture, regs));

	for (; entry; entry = entry->next) {
		if (!matches(entry, regs, capture))
			continue;
		memcpy(frames, entry->frames, entry->depth * sizeof(*frames));
		*truncated = entry->truncated;
		return entry->depth;
	}
	return -1;
}

void unwind_memo__add(struct unwind_memo *memo, const struct memo_capture *capture,
		      const struct unwind_trace *trace, const struct stack_frame *frames,
		      int depth, bool truncated, bool vary_alike)
{
	struct memo_word regs[PARK_NREGS];
	__u64 key = regs_key(capture, regs);
	struct memo_entry *first = u64map__get(&memo->by_regs, key), *entry;
	int candidates = 0;

	if (!trace->reusable || memo->entries >= UNWIND_MEMO_MAX_ENTRIES)
		return;
	/* a pc in the stack itself would be this thread's alone */
	for (int i = 0; i < depth; i++)
		if (word_of(capture, frames[i].pc).in_stack)
			return;
	for (entry = first; entry; entry = entry->next)
		if (++candidates >= MEMO_MAX_CANDIDATES)
			return;
	entry = malloc(sizeof(*entry) + trace->count * sizeof(entry->reads[0]) +
		       depth * sizeof(*frames));
	if (!entry)
		return;
	for (int i = 0; i < PARK_NREGS; i++) {
		entry->regs[i] = regs[i];
		entry->regs[i].any = vary_alike && i != PW_REG_IP && i != PW_REG_SP &&
				     unwind_memo__may_vary(capture, frames, depth, capture->regs[i]);
	}
	entry->truncated = truncated;
	entry->depth = depth;
	entry->read_count = trace->count;
	for (int i = 0; i < trace->count; i++) {
		__u64 value = trace->reads[i].word.value;

		entry->reads[i] = trace->reads[i];
		entry->reads[i].word.any = !trace->reads[i].word.in_stack && vary_alike &&
					   unwind_memo__may_vary(capture, frames, depth, value);
	}
	entry->frames = (struct stack_frame *)&entry->reads[trace->count];
	memcpy(entry->frames, frames, depth * sizeof(*frames));
	entry->next = first;
	if (u64map__put(&memo->by_regs, key, entry)) {
		free(entry);
		return;
	}
	memo->entries++;
}
