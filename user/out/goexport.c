// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A goroutine picture in every output format (goreport__write in
 * goreport.h).  The text follows the Go runtime's own /debug/pprof/goroutine
 * to the character where it can: debug=1 is printCountProfile's grouped
 * shape, debug=2 the traceback of every goroutine.  What the runtime would
 * show and a reader from outside can't know (the stack of a goroutine
 * running on another thread, arguments) is said so instead.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "out/dump.h"
#include "out/folded.h"
#include "util/format.h"
#include "collect/goreport.h"
#include "out/pprof.h"
#include "util/u64map.h"

#define MINUTE_NS 60000000000ULL
#define TAB_WIDTH 8

static bool has_prefix(const char *text, const char *prefix)
{
	return text && !strncmp(text, prefix, strlen(prefix));
}

/* ------------------------------------------------------------ debug=1 */

/* One "N @ pc pc ..." block: the groups of one stack, whatever their reason. */
struct stack_block {
	const struct gostack *stack; /* NULL: stackless goroutines of one reason */
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

static char *block_key(const struct gostack *stack)
{
	char *key = NULL;
	size_t len = 0;
	FILE *text = open_memstream(&key, &len);

	if (!text)
		return NULL;
	fputc('@', text);
	for (int i = 0; i < stack->pc_count; i++)
		fprintf(text, " %#llx", stack->frames[i].pc);
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
static int print_block_frames(FILE *out, const struct gostack *stack)
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
		__u64 pc = stack->frames[i].lookup_pc;

		if (!symbol->frame_count) {
			lines[count++] = (struct hash_line){ .pc = pc };
			continue;
		}
		for (int j = 0; j < symbol->frame_count; j++) {
			const struct symbol_frame *frame = &symbol->frames[j];
			struct hash_line *line = &lines[count++];

			/* the runtime prints each inlined frame against the entry of the
			 * function it was inlined into */
			*line = (struct hash_line){
				.pc = pc,
				.function = frame->function,
				.offset = symbol->frames[symbol->frame_count - 1].function_offset,
				.file = frame->file,
				.line = frame->line,
				.runtime = has_prefix(frame->function, "runtime."),
			};
		}
	}
	while (first < count && lines[first].runtime)
		first++;
	print_hash_lines(out, lines, first < count ? first : 0, count);
	free(lines);
	return 0;
}

static __u64 block_index_key(const struct gogroup *group)
{
	if (group->stack)
		return (uintptr_t)group->stack;
	/* user addresses stay below bit 47: a reason's hash can't meet one */
	return hash_bytes(group->reason, strlen(group->reason), 0) | 1ULL << 63;
}

static int write_debug1(FILE *out, const struct goreport *report)
{
	const struct gogroup *groups;
	size_t group_count = goreport__groups(report, &groups), block_count = 0;
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
	fprintf(out, "goroutine profile: total %zu\n", goreport__total(report));
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
	if (!has_prefix(name, "runtime."))
		return true;
	return name[8] >= 'A' && name[8] <= 'Z';
}

static void print_traceback_frames(FILE *out, const struct gostack *stack)
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
			/* Go's +0x is from the return address, not from inside the call */
			if (!frame->inlined)
				fprintf(out, " +%#llx", frame->function_offset + (pcs->pc - pcs->lookup_pc));
			fputc('\n', out);
		}
	}
	if (stack->truncated)
		fputs("...additional frames elided...\n", out);
}

static void print_created_by(FILE *out, const struct goreport *report,
			     const struct goroutine_info *g)
{
	const struct symbol *creator = g->creator;
	const struct symbol_frame *outer, *inner;

	if (!creator || !creator->frame_count || g->goid == 1)
		return;
	outer = &creator->frames[creator->frame_count - 1];
	inner = &creator->frames[0];
	if (!shown_in_traceback(outer->function))
		return;
	fprintf(out, "created by %s", outer->function);
	if (goreport__has_parent_goid(report) && g->parent_goid)
		fprintf(out, " in goroutine %llu", g->parent_goid);
	/* gopc is a return address: one past the call the lookup named */
	fprintf(out, "\n\t%s:%d +%#llx\n", inner->file ? inner->file : "?", inner->line,
		outer->function_offset + 1);
}

static void print_goroutine(FILE *out, const struct goreport *report,
			    const struct goroutine_info *g)
{
	fprintf(out, "goroutine %llu [%s", g->goid, g->reason);
	if ((!strcmp(g->status, "waiting") || !strcmp(g->status, "syscall")) &&
	    g->wait_ns >= MINUTE_NS)
		fprintf(out, ", %llu minutes", g->wait_ns / MINUTE_NS);
	if (g->locked)
		fputs(", locked to thread", out);
	fputs("]:\n", out);
	if (g->stack)
		print_traceback_frames(out, g->stack);
	else if (!strcmp(g->status, "running"))
		fputs("\tgoroutine running on other thread; stack unavailable\n", out);
	else if (!strcmp(g->status, "syscall"))
		fputs("\tgoroutine in a system call; stack unavailable\n", out);
	else
		fputs("\tstack unavailable\n", out);
	print_created_by(out, report, g);
	fputc('\n', out);
}

static void write_debug2(FILE *out, const struct goreport *report)
{
	const struct goroutine_info *goroutines;
	size_t count = goreport__goroutines(report, &goroutines);

	for (size_t i = 0; i < count; i++)
		if (!goroutines[i].system)
			print_goroutine(out, report, &goroutines[i]);
}

/* --------------------------------------------------------------- JSON */

static void go_json_frames(FILE *out, const struct gostack *stack)
{
	if (stack)
		dump__json_stack(out, stack->frames, stack->symbols, stack->depth);
	else
		fputs("[]", out);
}

static const char *creator_name(const struct symbol *creator)
{
	return creator && creator->frame_count ?
		       creator->frames[creator->frame_count - 1].function : NULL;
}

static void json_goroutine(FILE *out, const struct goroutine_info *g)
{
	fprintf(out, "{\"goid\":%llu,\"status\":\"%s\",\"wait_reason\":", g->goid, g->status);
	format__json_string(out, g->wait_reason);
	if (g->wait_ns)
		fprintf(out, ",\"wait_ns\":%llu", g->wait_ns);
	else
		fputs(",\"wait_ns\":null", out);
	if (g->parent_goid)
		fprintf(out, ",\"parent_goid\":%llu", g->parent_goid);
	else
		fputs(",\"parent_goid\":null", out);
	if (g->tid)
		fprintf(out, ",\"tid\":%d", g->tid);
	else
		fputs(",\"tid\":null", out);
	fputs(",\"created_by\":", out);
	format__json_string(out, g->goid == 1 ? NULL : creator_name(g->creator));
	fprintf(out, ",\"system\":%s,\"locked\":%s,\"stack_truncated\":%s,\"frames\":",
		g->system ? "true" : "false", g->locked ? "true" : "false",
		g->stack && g->stack->truncated ? "true" : "false");
	go_json_frames(out, g->stack);
	fputc('}', out);
}

static void write_json(FILE *out, const struct goreport *report)
{
	const struct goroutine_info *goroutines;
	const struct gogroup *groups;
	size_t count = goreport__goroutines(report, &goroutines);
	size_t group_count = goreport__groups(report, &groups);

	fprintf(out, "{\"version\":\"%s\",\"pid\":%d,\"go_version\":", PARKWATCH_VERSION,
		goreport__pid(report));
	format__json_string(out, goreport__go_version(report));
	fprintf(out, ",\"time_unix_ns\":%llu,\"goroutines_total\":%zu,\"system_goroutines\":%zu,"
		     "\"dropped\":%zu,\"goroutines\":[",
		goreport__time_unix_ns(report), goreport__total(report),
		count - goreport__total(report), goreport__dropped(report));
	for (size_t i = 0; i < count; i++) {
		if (i)
			fputc(',', out);
		json_goroutine(out, &goroutines[i]);
	}
	fputs("],\"groups\":[", out);
	for (size_t g = 0; g < group_count; g++) {
		const struct gogroup *group = &groups[g];

		fprintf(out, "%s{\"count\":%zu,\"reason\":", g ? "," : "", group->count);
		format__json_string(out, group->reason);
		fprintf(out, ",\"has_timeout\":%s,\"oldest_wait_ns\":%llu,\"created_by\":",
			group->has_timeout ? "true" : "false", group->oldest_wait_ns);
		format__json_string(out, creator_name(group->creator));
		fputs(",\"frames\":", out);
		go_json_frames(out, group->stack);
		fputc('}', out);
	}
	fputs("]}\n", out);
}

/* -------------------------------------------------------------- pprof */

/* The goroutines of a group, a sample with their stack (runtime.goexit
 * included, as the runtime's own profile has it) or, stackless, one pseudo
 * frame named like folded output's leaf: "[running]". */
static int add_group_sample(struct pprof *pprof, const struct gogroup *group)
{
	const struct pprof_label labels[] = {
		{ .key = "reason", .str = group->reason },
		{ .key = "pid", .num = group->pid },
	};
	__s64 count = (__s64)group->count;
	struct stack_frame pseudo_frame = { 0 };
	const struct symbol *pseudo_symbol;
	struct symbol *pseudo;
	char name[96];
	int err;

	if (group->stack)
		return pprof__add_stack(pprof, group->pid, group->stack->frames,
					group->stack->symbols, group->stack->pc_count, &count,
					labels, 2, group->signature);
	pseudo = calloc(1, sizeof(*pseudo) + sizeof(pseudo->frames[0]));
	if (!pseudo)
		return -ENOMEM;
	snprintf(name, sizeof(name), "[%s]", group->reason);
	pseudo->frame_count = 1;
	pseudo->frames[0].function = name;
	pseudo_symbol = pseudo;
	err = pprof__add_stack(pprof, group->pid, &pseudo_frame, &pseudo_symbol, 1, &count, labels,
			       2, group->signature);
	free(pseudo);
	return err;
}

static int write_pprof(FILE *out, const struct goreport *report, const struct trend *trend)
{
	struct pprof *pprof = pprof__new(PPROF_GOROUTINE, 1);
	const struct gogroup *groups;
	size_t group_count = goreport__groups(report, &groups);
	int err;

	if (!pprof)
		return -ENOMEM;
	err = pprof__set_main_binary(pprof, goreport__exe(report));
	for (size_t g = 0; g < group_count && !err; g++)
		err = add_group_sample(pprof, &groups[g]);
	if (!err)
		err = pprof__write(pprof, out, goreport__time_unix_ns(report), 0, trend);
	pprof__free(pprof);
	return err;
}

/* ------------------------------------------------------------- folded */

static void put_folded_frame(FILE *text, const char *name)
{
	for (const char *c = name; *c; c++)
		fputc(*c == ';' ? ':' : *c, text);
	fputc(';', text);
}

/* Root first: the outermost caller, inlined calls outer to inner, then the
 * reason as the leaf. */
static char *folded_line(const struct gogroup *group)
{
	const struct gostack *stack = group->stack;
	char *line = NULL;
	size_t len = 0;
	FILE *text = open_memstream(&line, &len);

	if (!text)
		return NULL;
	for (int i = stack ? stack->depth - 1 : -1; i >= 0; i--) {
		const struct symbol *symbol = stack->symbols[i];

		if (!symbol->frame_count) {
			const char *module = symbol->module ? symbol->module : "[unknown]";
			const char *base = strrchr(module, '/');
			char unknown[300];

			snprintf(unknown, sizeof(unknown), "%s+%#llx", base ? base + 1 : module,
				 symbol->module ? symbol->module_offset : stack->frames[i].pc);
			put_folded_frame(text, unknown);
			continue;
		}
		for (int j = symbol->frame_count - 1; j >= 0; j--)
			put_folded_frame(text, symbol->frames[j].function ? symbol->frames[j].function :
									   "??");
	}
	fprintf(text, "[%s]", group->reason);
	if (fclose(text)) {
		free(line);
		return NULL;
	}
	return line;
}

static int write_folded(FILE *out, const struct goreport *report, const struct trend *trend)
{
	struct folded *folded = folded__new(false);
	const struct gogroup *groups;
	size_t group_count = goreport__groups(report, &groups);
	int err = 0;

	if (!folded)
		return -ENOMEM;
	for (size_t g = 0; g < group_count && !err; g++) {
		char *line = folded_line(&groups[g]);

		err = line ? folded__add(folded, line, groups[g].count, groups[g].signature) : -ENOMEM;
		free(line);
	}
	if (!err)
		err = folded__write(folded, out, trend);
	folded__free(folded);
	return err;
}

/* -------------------------------------------------------------- entry */

int goreport__write(FILE *out, enum output_format format, int debug,
		    const struct goreport *report, const struct trend *trend)
{
	int err = 0;

	switch (format) {
	case FORMAT_JSON:
		write_json(out, report);
		break;
	case FORMAT_PPROF:
		return write_pprof(out, report, trend);
	case FORMAT_FOLDED:
		return write_folded(out, report, trend);
	default:
		if (debug == 1)
			err = write_debug1(out, report);
		else
			write_debug2(out, report);
		break;
	}
	if (err)
		return err;
	return ferror(out) ? -EIO : 0;
}
