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
#include "out/blocked.h"
#include "out/render.h"
#include "util/text.h"
#include "util/units.h"
#include "util/utf8.h"
#include "util/u64map.h"

#define TAB_WIDTH 8

/* One frame of a goroutine's stack as the runtime lists it: a call
 * inlined into another is a frame of its own. */
struct go_frame {
	const struct symbol_frame *frame; /* NULL: a pc without a name */
	__u64 pc;                   /* the runtime's pc for it: a call's, or an inline mark */
	__u64 entry;                /* of the function holding the code: the base of +0x */
	__u64 return_offset;        /* the code's +0x, from the return address */
};

/*
 * The frames of the first depth physical frames of stack, innermost first,
 * into *out (the caller frees it); returns their count, or -ENOMEM.
 */
static int go_frames(const struct pw_stack *stack, int depth, struct go_frame **out)
{
	int count = 0;

	for (int i = 0; i < depth; i++)
		count += stack->symbols[i]->frame_count ? stack->symbols[i]->frame_count : 1;
	*out = calloc(count ? count : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	count = 0;
	for (int i = 0; i < depth; i++) {
		const struct symbol *symbol = stack->symbols[i];
		const struct stack_frame *at = &stack->frames[i];
		__u64 offset;

		if (!symbol->frame_count) {
			(*out)[count++] = (struct go_frame){ .pc = at->lookup_pc };
			continue;
		}
		offset = symbol->frames[symbol->frame_count - 1].function_offset;
		for (int j = 0; j < symbol->frame_count; j++)
			(*out)[count++] = (struct go_frame){
				.frame = &symbol->frames[j],
				.pc = symbol->frames[j].pc,
				.entry = at->lookup_pc - offset,
				.return_offset = offset + (at->pc - at->lookup_pc),
			};
	}
	return count;
}

static bool named(const struct go_frame *f, const char *function)
{
	return f->frame && f->frame->function && !strcmp(f->frame->function, function);
}

/* ------------------------------------------------------------ debug=1 */

/*
 * How many frames a goroutine profile keeps of a stack, from the leaf:
 * a StackRecord's 32 until Go 1.23, then debug.profstackdepth's default.
 */
static int profile_depth(const struct pw_process *proc)
{
	return proc->go_minor && proc->go_minor < 23 ? 32 : 128;
}

/* One "N @ pc pc ..." block: the groups of one stack, whatever their reason. */
struct stack_block {
	const struct pw_stack *stack; /* NULL: stackless goroutines of one reason */
	const char *reason;
	size_t count;
	char *key;                  /* "@ 0x... 0x...", what the runtime sorts ties by */
	struct go_frame *frames;    /* the profile's frames of the stack */
	int frame_count;
	size_t first_group, last_group; /* its groups: a chain through next_group[] */
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

/* The runtime's "return pcs", one per frame: each frame's pc plus one. */
static char *block_key(const struct go_frame *frames, int count)
{
	char *key = NULL;
	size_t len = 0;
	FILE *text = open_memstream(&key, &len);

	if (!text)
		return NULL;
	fputc('@', text);
	for (int i = 0; i < count; i++)
		fprintf(text, " %#llx", frames[i].pc + 1);
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
		char pc[24], function[600], name[560];
		int end = run;

		if (!lines[run].function) {
			fprintf(out, "#\t%#llx\n", lines[run].pc);
			run++;
			continue;
		}
		for (; end < count && lines[end].function; end++) {
			size_t pc_len = snprintf(pc, sizeof(pc), "%#llx", lines[end].pc);
			size_t function_len = snprintf(function, sizeof(function), "%s+%#llx",
						       utf8__escape_buf(lines[end].function, 0, name,
									sizeof(name)),
						       lines[end].offset);

			pc_widest = pc_len > pc_widest ? pc_len : pc_widest;
			function_widest = function_len > function_widest ? function_len :
									   function_widest;
		}
		for (; run < end; run++) {
			size_t pc_len = snprintf(pc, sizeof(pc), "%#llx", lines[run].pc);
			size_t function_len = snprintf(function, sizeof(function), "%s+%#llx",
						       utf8__escape_buf(lines[run].function, 0, name,
									sizeof(name)),
						       lines[run].offset);

			fprintf(out, "#\t%s", pc);
			pad_cell(out, pc_len, column_width(pc_widest));
			fputs(function, out);
			pad_cell(out, function_len, column_width(function_widest));
			utf8__escape(out, lines[run].file ? lines[run].file : "?", 0);
			fprintf(out, ":%d\n", lines[run].line);
		}
	}
}

/* The "#" lines of a block: runtime.goexit and leading runtime frames
 * hidden unless that would hide them all (runtime/pprof's
 * printStackRecord). */
static int print_block_frames(FILE *out, const struct stack_block *block)
{
	struct hash_line *lines = calloc(block->frame_count ? block->frame_count : 1,
					 sizeof(*lines));
	int count = 0, first = 0;

	if (!lines)
		return -ENOMEM;
	for (int i = 0; i < block->frame_count; i++) {
		const struct go_frame *f = &block->frames[i];

		if (named(f, "runtime.goexit"))
			continue;
		if (!f->frame) {
			lines[count++] = (struct hash_line){ .pc = f->pc };
			continue;
		}
		/* each frame at its own pc, against the entry of the function
		 * holding the code */
		lines[count++] = (struct hash_line){
			.pc = f->pc,
			.function = f->frame->function,
			.offset = f->pc - f->entry,
			.file = f->frame->file,
			.line = f->frame->line,
			.runtime = text__has_prefix(f->frame->function, "runtime."),
		};
	}
	while (first < count && lines[first].runtime)
		first++;
	print_hash_lines(out, lines, first < count ? first : 0, count);
	free(lines);
	return 0;
}

static void free_blocks(struct stack_block *blocks, size_t count)
{
	for (size_t b = 0; b < count; b++) {
		free(blocks[b].key);
		free(blocks[b].frames);
	}
	free(blocks);
}

/*
 * The groups' blocks: one per stack as the profile keeps it (stacks that
 * differ only below its depth are one), one per reason of the stackless;
 * next_group (group_count of them) chains each block's groups.  Returns
 * the count, or -ENOMEM.
 */
static ssize_t make_blocks(const struct pw_picture *picture, const struct pw_process *proc,
			   struct stack_block **out, size_t *next_group)
{
	size_t count = 0;
	struct stack_block *blocks = calloc(picture->group_count ? picture->group_count : 1,
					    sizeof(*blocks));
	struct u64map index = { 0 };

	if (!blocks)
		return -ENOMEM;
	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];
		struct stack_block this = { .stack = group->stack, .reason = group->reason };
		uintptr_t slot;
		__u64 key;

		if (this.stack) {
			this.frame_count = go_frames(this.stack, this.stack->full_depth, &this.frames);
			if (this.frame_count > profile_depth(proc))
				this.frame_count = profile_depth(proc);
			this.key = this.frame_count < 0 ? NULL : block_key(this.frames,
									   this.frame_count);
		} else {
			this.key = strdup("");
		}
		if (!this.key) {
			free(this.frames);
			goto fail;
		}
		/* a stackless block by its reason: user addresses stay below bit 47 */
		key = this.stack ? hash__bytes(this.key, strlen(this.key), 0) & ~(1ULL << 63) :
				   hash__bytes(this.reason, strlen(this.reason), 0) | 1ULL << 63;
		/* colliding keys probe on */
		while ((slot = (uintptr_t)u64map__get(&index, key)) &&
		       (strcmp(blocks[slot - 1].key, this.key) ||
			(!this.stack && strcmp(blocks[slot - 1].reason, this.reason))))
			key = key + 1 ? key + 1 : 1;
		next_group[g] = SIZE_MAX;
		if (slot) {
			blocks[slot - 1].count += group->count;
			next_group[blocks[slot - 1].last_group] = g;
			blocks[slot - 1].last_group = g;
			free(this.key);
			free(this.frames);
			continue;
		}
		this.count = group->count;
		this.first_group = this.last_group = g;
		blocks[count++] = this;
		if (u64map__put(&index, key, (void *)(uintptr_t)count))
			goto fail;
	}
	u64map__clear(&index);
	*out = blocks;
	return (ssize_t)count;
fail:
	u64map__clear(&index);
	free_blocks(blocks, count);
	return -ENOMEM;
}

/* The "# blocked on" or "# objects" line of a block: over all its groups. */
static int print_block_objects(FILE *out, const struct pw_picture *picture,
			       const struct stack_block *block, const size_t *next_group,
			       const struct pw_group **scratch)
{
	size_t count = 0;

	for (size_t g = block->first_group; g != SIZE_MAX; g = next_group[g])
		scratch[count++] = &picture->groups[g];
	return blocked__comment(out, picture, scratch, count);
}

static int write_debug1(FILE *out, const struct pw_picture *picture, const struct pw_process *proc)
{
	size_t groups = picture->group_count ? picture->group_count : 1;
	size_t *next_group = malloc(groups * sizeof(*next_group));
	const struct pw_group **scratch = malloc(groups * sizeof(*scratch));
	struct stack_block *blocks;
	ssize_t count = next_group && scratch ? make_blocks(picture, proc, &blocks, next_group) :
						-ENOMEM;
	int err = 0;

	if (count < 0) {
		free(next_group);
		free(scratch);
		return (int)count;
	}
	qsort(blocks, count, sizeof(*blocks), by_count_then_key);
	fprintf(out, "goroutine profile: total %zu\n", proc->units);
	for (ssize_t b = 0; b < count && !err; b++) {
		if (!blocks[b].stack) {
			/* the runtime stops the world and has every stack; from outside a
			 * running goroutine has none.  A comment keeps pprof's parser happy. */
			fprintf(out, "# %zu [", blocks[b].count);
			utf8__escape(out, blocks[b].reason, 0);
			fputs("]: stack unavailable\n", out);
			err = print_block_objects(out, picture, &blocks[b], next_group, scratch);
			fputc('\n', out);
			continue;
		}
		fprintf(out, "%zu %s\n", blocks[b].count, blocks[b].key);
		err = print_block_objects(out, picture, &blocks[b], next_group, scratch);
		if (!err)
			err = print_block_frames(out, &blocks[b]);
		fputc('\n', out);
	}
	free_blocks(blocks, count);
	free(next_group);
	free(scratch);
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

static void print_traceback_frame(FILE *out, const struct go_frame *f)
{
	const struct symbol_frame *frame = f->frame;

	utf8__escape(out, frame->function, 0);
	fputs("(...)\n\t", out);
	utf8__escape(out, frame->file ? frame->file : "?", 0);
	fprintf(out, ":%d", frame->line);
	/* Go's +0x is from the return address, not from inside the call, and
	 * there is none at the entry (a goroutine not yet run) */
	if (!frame->inlined && f->return_offset)
		fprintf(out, " +%#llx", f->return_offset);
	fputc('\n', out);
}

/*
 * The frames of a traceback, as Go's prints them: of the runtime's own
 * frames only the exported ones, unless that leaves none.  A deep stack is
 * cut as the release cuts it: since Go 1.21 the first and the last 50
 * frames around "...N frames elided..."; before, what the first 100
 * frames of the stack show, said elided only when that is 100 frames.
 */
static int print_traceback_frames(FILE *out, const void *key, const void *arg)
{
	const struct pw_stack *stack = key;
	const struct pw_process *proc = arg;
	bool before_121 = proc->go_minor && proc->go_minor < 21;
	int depth = before_121 && stack->full_depth > 100 ? 100 : stack->full_depth;
	struct go_frame *frames;
	int count = go_frames(stack, depth, &frames), shown = 0;

	if (count < 0)
		return count;
	for (int i = 0; i < count; i++)
		if (frames[i].frame && shown_in_traceback(frames[i].frame->function))
			frames[shown++] = frames[i];
	if (!shown) /* runtime frames alone: all of them */
		for (int i = 0; i < count; i++)
			if (frames[i].frame)
				frames[shown++] = frames[i];
	for (int i = 0; i < shown; i++) {
		if (!before_121 && shown > 100 && i == 50) {
			fprintf(out, "...%d frames elided...\n", shown - 100);
			i = shown - 50;
		}
		print_traceback_frame(out, &frames[i]);
	}
	if (before_121 ? shown == 100 : stack->truncated)
		fputs("...additional frames elided...\n", out);
	free(frames);
	return 0;
}

bool text_go__created_by(FILE *out, const struct pw_process *proc, const struct pw_unit *unit,
			 bool with_parent)
{
	const struct pw_goroutine *g = unit->go;
	const struct symbol *creator = g ? g->creator : NULL;
	const struct symbol_frame *outer, *inner;

	if (!creator || !creator->frame_count || unit->id == 1)
		return false;
	outer = &creator->frames[creator->frame_count - 1];
	inner = &creator->frames[0];
	if (!shown_in_traceback(outer->function))
		return false;
	fputs("created by ", out);
	utf8__escape(out, outer->function, 0);
	if (with_parent && proc && proc->has_parent_goid && g->parent_goid)
		fprintf(out, " in goroutine %llu", g->parent_goid);
	/* gopc is a return address: one past the call the lookup named */
	fputs("\n\t", out);
	utf8__escape(out, inner->file ? inner->file : "?", 0);
	fprintf(out, ":%d +%#llx\n", inner->line, outer->function_offset + 1);
	return true;
}

static int print_goroutine(FILE *out, const struct pw_picture *picture,
			   const struct pw_process *proc, struct u64map *rendered,
			   const struct pw_unit *unit)
{
	const struct pw_goroutine *g = unit->go;
	int err = 0;

	fprintf(out, "goroutine %llu [", unit->id);
	utf8__escape(out, unit->wait.reason, 0);
	if ((!strcmp(g->status, "waiting") || !strcmp(g->status, "syscall")) &&
	    g->wait_ns >= NSEC_PER_MIN)
		fprintf(out, ", %llu minutes", g->wait_ns / NSEC_PER_MIN);
	if (g->locked)
		fputs(", locked to thread", out);
	fputs("]:\n", out);
	blocked__line(out, picture, unit);
	if (unit->stack)
		err = render__cached(out, rendered, unit->stack, print_traceback_frames, proc);
	else if (!strcmp(g->status, "running"))
		fputs("\tgoroutine running on other thread; stack unavailable\n", out);
	else if (!strcmp(g->status, "syscall"))
		fputs("\tgoroutine in a system call; stack unavailable\n", out);
	else
		fputs("\tstack unavailable\n", out);
	text_go__created_by(out, proc, unit, true);
	fputc('\n', out);
	return err;
}

static int write_debug2(FILE *out, const struct pw_picture *picture, const struct pw_process *proc)
{
	struct u64map rendered = { 0 };
	int err = 0;

	for (size_t i = 0; i < picture->unit_count && !err; i++)
		if (!picture->units[i].go->system)
			err = print_goroutine(out, picture, proc, &rendered, &picture->units[i]);
	render__cache_free(&rendered);
	return err;
}

int text_go__write(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
		   const struct render_opts *opts)
{
	static const char *const cut_why[] = {
		[BUDGET_CUT_STOPPED] = "parkwatch was asked to stop",
		[BUDGET_CUT_TIME] = "its time budget (--go-time-budget) was spent",
		[BUDGET_CUT_MEMORY] = "its memory budget (--go-memory-budget) was spent",
	};
	const struct pw_process *proc = picture__goroutine_process(picture);
	int err;

	(void)ctx;
	if (!proc)
		return -EINVAL;
	err = opts->debug == 1 ? write_debug1(out, picture, proc) : write_debug2(out, picture, proc);
	/* last, a comment: the dump above stays in the runtime's own format */
	if (!err && proc->cut_short)
		fprintf(out, "# parkwatch: cut short: %s; goroutines not read by then are missing\n",
			cut_why[proc->cut_short]);
	return err;
}
