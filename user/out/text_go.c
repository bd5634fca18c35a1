// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A goroutine process's picture as Go's runtime writes its own
 * /debug/pprof/goroutine (render.h), to the character where it can:
 * debug=1 is printCountProfile's grouped shape, debug=2 the traceback of
 * every goroutine.  What the runtime would show and a reader from outside
 * can't know (the stack of a goroutine running on another thread,
 * arguments) is said so instead.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "out/render.h"
#include "util/text.h"
#include "util/units.h"
#include "util/u64map.h"

#define TAB_WIDTH 8

/* ------------------------------------------------------------ debug=1 */

/* One "N @ pc pc ..." block: the groups of one stack, whatever their reason. */
struct stack_block {
	const struct pw_stack *stack; /* NULL: stackless goroutines of one reason */
	const char *reason;
	size_t count;
	char *key;                  /* "@ 0x... 0x...", what the runtime sorts ties by */
};

/* One "#" line, in cells as Go's text/tabwriter sees them. */
struct hash_line {
	__u64 pc;
	const char *function;       /* NULL: a pc without a name, printed alone */
	__u64 offset;
	const char *file;
	int line;
	bool runtime;               /* a runtime.* function: hidden at the top of the stack */
};

static int by_count_then_key(const void *a, const void *b)
{
	const struct stack_block *x = a, *y = b;

	if (!x->stack != !y->stack)
		return x->stack ? -1 : 1; /* stackless ones last, as comments */
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

static char *block_key(const struct pw_stack *stack)
{
	char *key = NULL;
	size_t len = 0;
	FILE *text = open_memstream(&key, &len);

	if (!text)
		return NULL;
	fputc('@', text);
	/* the runtime's "return pcs", one per frame inlined ones included:
	 * each frame's pc plus one */
	for (int i = 0; i < stack->full_depth; i++) {
		const struct symbol *symbol = stack->symbols[i];

		if (!symbol->frame_count)
			fprintf(text, " %#llx", stack->frames[i].lookup_pc + 1);
		for (int j = 0; j < symbol->frame_count; j++)
			fprintf(text, " %#llx", symbol->frames[j].pc + 1);
	}
	if (fclose(text)) {
		free(key);
		return NULL;
	}
	return key;
}

/* Pads a cell to its column's width with tabs, as text/tabwriter does with
 * padchar '\t': the column is its widest cell plus one, rounded up to a tab
 * stop. */
static void pad_cell(FILE *out, size_t cell_width, size_t column_width)
{
	for (size_t at = cell_width; at < column_width; at += TAB_WIDTH)
		fputc('\t', out);
}

static size_t column_width(size_t widest)
{
	return (widest + 1 + TAB_WIDTH - 1) / TAB_WIDTH * TAB_WIDTH;
}

/*
 * Prints lines[first, count): the pc, name and place columns are aligned
 * over each run of consecutive named lines (a line with a bare pc has one
 * cell less and ends the run), which is how tabwriter blocks columns.
 */
static void print_hash_lines(FILE *out, const struct hash_line *lines, int first, int count)
{
	for (int run = first; run < count;) {
		size_t pc_widest = 0, function_widest = 0;
		char pc[24], function[600];
		int end = run;

		if (!lines[run].function) {
			fprintf(out, "#\t%#llx\n", lines[run].pc);
			run++;
			continue;
		}
		for (; end < count && lines[end].function; end++) {
			size_t pc_len = snprintf(pc, sizeof(pc), "%#llx", lines[end].pc);
			size_t function_len = snprintf(function, sizeof(function), "%s+%#llx",
						       lines[end].function, lines[end].offset);

			pc_widest = pc_len > pc_widest ? pc_len : pc_widest;
			function_widest = function_len > function_widest ? function_len :
									   function_widest;
		}
		for (; run < end; run++) {
			size_t pc_len = snprintf(pc, sizeof(pc), "%#llx", lines[run].pc);
			size_t function_len = snprintf(function, sizeof(function), "%s+%#llx",
						       lines[run].function, lines[run].offset);

			fprintf(out, "#\t%s", pc);
			pad_cell(out, pc_len, column_width(pc_widest));
			fputs(function, out);
			pad_cell(out, function_len, column_width(function_widest));
			fprintf(out, "%s:%d\n", lines[run].file ? lines[run].file : "?",
				lines[run].line);
		}
	}
}

/* The "#" lines of a stack: inlined calls expanded, leading runtime frames
 * hidden unless that would hide them all (runtime/pprof's printStackRecord). */
static int print_block_frames(FILE *out, const struct pw_stack *stack)
{
	int max = 0, count = 0, first = 0;
	struct hash_line *lines;

	for (int i = 0; i < stack->depth; i++)
		max += stack->symbols[i]->frame_count ? stack->symbols[i]->frame_count : 1;
	lines = calloc(max ? max : 1, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	for (int i = 0; i < stack->depth; i++) {
		const struct symbol *symbol = stack->symbols[i];
		__u64 pc = stack->frames[i].lookup_pc, entry;

		if (!symbol->frame_count) {
			lines[count++] = (struct hash_line){ .pc = pc };
			continue;
		}
		entry = pc - symbol->frames[symbol->frame_count - 1].function_offset;
		for (int j = 0; j < symbol->frame_count; j++) {
			const struct symbol_frame *frame = &symbol->frames[j];
			struct hash_line *line = &lines[count++];

			/* the runtime prints each inlined frame at its own pc, against
			 * the entry of the function it was inlined into */
			*line = (struct hash_line){
				.pc = frame->pc,
				.function = frame->function,
				.offset = frame->pc - entry,
				.file = frame->file,
				.line = frame->line,
				.runtime = text__has_prefix(frame->function, "runtime."),
			};
		}
	}
	while (first < count && lines[first].runtime)
		first++;
	print_hash_lines(out, lines, first < count ? first : 0, count);
	free(lines);
	return 0;
}

static __u64 block_index_key(const struct pw_group *group)
{
	if (group->stack)
		return (uintptr_t)group->stack;
	/* user addresses stay below bit 47: a reason's hash can't meet one */
	return hash__bytes(group->reason, strlen(group->reason), 0) | 1ULL << 63;
}

static int write_debug1(FILE *out, const struct pw_picture *picture, const struct pw_process *proc)
{
	const struct pw_group *groups = picture->groups;
	size_t group_count = picture->group_count, block_count = 0;
	struct stack_block *blocks = calloc(group_count ? group_count : 1, sizeof(*blocks));
	struct u64map index = { 0 };
	int err = -ENOMEM;

	if (!blocks)
		return -ENOMEM;
	for (size_t g = 0; g < group_count; g++) {
		__u64 key = block_index_key(&groups[g]);
		uintptr_t slot = (uintptr_t)u64map__get(&index, key);

		if (!slot) {
			struct stack_block *block = &blocks[block_count];

			block->stack = groups[g].stack;
			block->reason = groups[g].reason;
			block->key = block->stack ? block_key(block->stack) : strdup("");
			slot = ++block_count;
			if (!block->key || u64map__put(&index, key, (void *)slot))
				goto out;
		}
		blocks[slot - 1].count += groups[g].count;
	}
	qsort(blocks, block_count, sizeof(*blocks), by_count_then_key);
	fprintf(out, "goroutine profile: total %zu\n", proc->units);
	for (size_t b = 0; b < block_count; b++) {
		if (!blocks[b].stack) {
			/* the runtime stops the world and has every stack; from outside a
			 * running goroutine has none.  A comment keeps pprof's parser happy. */
			fprintf(out, "# %zu [%s]: stack unavailable\n\n", blocks[b].count,
				blocks[b].reason);
			continue;
		}
		fprintf(out, "%zu %s\n", blocks[b].count, blocks[b].key);
		err = print_block_frames(out, blocks[b].stack);
		if (err)
			goto out;
		fputc('\n', out);
	}
	err = 0;
out:
	for (size_t b = 0; b < block_count; b++)
		free(blocks[b].key);
	free(blocks);
	u64map__clear(&index);
	return err;
}

/* ------------------------------------------------------------ debug=2 */

/* What Go's traceback prints at the default level: names with a dot, and
 * of the runtime's only the exported ones. */
static bool shown_in_traceback(const char *name)
{
	if (!name || !strchr(name, '.'))
		return false;
	if (!text__has_prefix(name, "runtime."))
		return true;
	return name[8] >= 'A' && name[8] <= 'Z';
}

static void print_traceback_frames(FILE *out, const struct pw_stack *stack)
{
	for (int i = 0; i < stack->depth; i++) {
		const struct symbol *symbol = stack->symbols[i];
		const struct stack_frame *pcs = &stack->frames[i];

		for (int j = 0; j < symbol->frame_count; j++) {
			const struct symbol_frame *frame = &symbol->frames[j];

			if (!shown_in_traceback(frame->function))
				continue;
			fprintf(out, "%s(...)\n\t%s:%d", frame->function, frame->file ? frame->file : "?",
				frame->line);
			/* Go's +0x is from the return address, not from inside the
			 * call, and there is none at the entry (a goroutine not yet run) */
			if (!frame->inlined && frame->function_offset + (pcs->pc - pcs->lookup_pc))
				fprintf(out, " +%#llx", frame->function_offset + (pcs->pc - pcs->lookup_pc));
			fputc('\n', out);
		}
	}
	if (stack->truncated)
		fputs("...additional frames elided...\n", out);
}

static void print_created_by(FILE *out, const struct pw_process *proc, const struct pw_unit *unit)
{
	const struct pw_goroutine *g = unit->go;
	const struct symbol *creator = g->creator;
	const struct symbol_frame *outer, *inner;

	if (!creator || !creator->frame_count || unit->id == 1)
		return;
	outer = &creator->frames[creator->frame_count - 1];
	inner = &creator->frames[0];
	if (!shown_in_traceback(outer->function))
		return;
	fprintf(out, "created by %s", outer->function);
	if (proc->has_parent_goid && g->parent_goid)
		fprintf(out, " in goroutine %llu", g->parent_goid);
	/* gopc is a return address: one past the call the lookup named */
	fprintf(out, "\n\t%s:%d +%#llx\n", inner->file ? inner->file : "?", inner->line,
		outer->function_offset + 1);
}

static void print_goroutine(FILE *out, const struct pw_process *proc, const struct pw_unit *unit)
{
	const struct pw_goroutine *g = unit->go;

	fprintf(out, "goroutine %llu [%s", unit->id, unit->wait.reason);
	if ((!strcmp(g->status, "waiting") || !strcmp(g->status, "syscall")) &&
	    g->wait_ns >= NSEC_PER_MIN)
		fprintf(out, ", %llu minutes", g->wait_ns / NSEC_PER_MIN);
	if (g->locked)
		fputs(", locked to thread", out);
	fputs("]:\n", out);
	if (unit->stack)
		print_traceback_frames(out, unit->stack);
	else if (!strcmp(g->status, "running"))
		fputs("\tgoroutine running on other thread; stack unavailable\n", out);
	else if (!strcmp(g->status, "syscall"))
		fputs("\tgoroutine in a system call; stack unavailable\n", out);
	else
		fputs("\tstack unavailable\n", out);
	print_created_by(out, proc, unit);
	fputc('\n', out);
}

static void write_debug2(FILE *out, const struct pw_picture *picture, const struct pw_process *proc)
{
	for (size_t i = 0; i < picture->unit_count; i++)
		if (!picture->units[i].go->system)
			print_goroutine(out, proc, &picture->units[i]);
}

int text_go__write(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
		   const struct render_opts *opts)
{
	const struct pw_process *proc = picture__goroutine_process(picture);

	(void)ctx;
	if (!proc)
		return -EINVAL;
	if (opts->debug == 1)
		return write_debug1(out, picture, proc);
	write_debug2(out, picture, proc);
	return 0;
}
