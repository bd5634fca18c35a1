// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Folded-stack output (folded.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "out/folded.h"
#include "out/render.h"
#include "util/u64map.h"
#include "util/utf8.h"

struct folded_line {
	char *stack;
	__u64 weight;               /* threads, or parked ns for a window */
	__u64 signature;            /* of the first group folded into this line */
};

struct folded {
	bool window;
	bool process_root;          /* a root frame "comm (pid)" on every line */
	struct u64map by_stack;     /* hash of the stack text -> struct folded_line * */
};

struct folded *folded__new(bool window, bool process_root)
{
	struct folded *folded = calloc(1, sizeof(*folded));

	if (folded) {
		folded->window = window;
		folded->process_root = process_root;
	}
	return folded;
}

static void free_line(void *value)
{
	struct folded_line *line = value;

	free(line->stack);
	free(line);
}

void folded__free(struct folded *folded)
{
	if (!folded)
		return;
	u64map__free_all(&folded->by_stack, free_line);
	free(folded);
}

/* ';' separates frames and a newline lines: keep them out of names, with
 * other controls and ill-formed UTF-8 (U+FFFD, util/utf8.h). */
static void put_name(FILE *out, const char *name)
{
	size_t length;
	__u32 codepoint;

	for (; (length = utf8__next(name, &codepoint)); name += length) {
		if (codepoint == ';')
			fputc(':', out);
		else if (codepoint == UTF8_ILL_FORMED || utf8__is_control(codepoint))
			utf8__put(out, UTF8_REPLACEMENT);
		else
			fwrite(name, 1, length, out);
	}
}

static void put_frame(FILE *out, const char *name)
{
	put_name(out, name);
	fputc(';', out);
}

/* Root first: the process when asked ("nginx (1234)"), the outermost
 * caller, inlined calls outer to inner, then the reason as a leaf pseudo
 * frame. */
static char *stack_line(const struct folded *folded, const struct pw_picture *picture,
			const struct pw_group *group)
{
	const struct pw_stack *stack = group->stack;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return NULL;
	if (folded->process_root) {
		const struct pw_process *proc = picture__process(picture, group->pid);

		put_name(out, proc ? proc->comm : "?");
		fprintf(out, " (%d);", group->pid);
	}
	for (int i = stack ? stack->depth - 1 : -1; i >= 0; i--) {
		const struct symbol *symbol = stack->symbols[i];
		char unknown[300];

		if (!symbol->frame_count) {
			const char *module = symbol->module ? symbol->module : "[unknown]";
			const char *base = strrchr(module, '/');

			snprintf(unknown, sizeof(unknown), "%s+0x%llx", base ? base + 1 : module,
				 symbol->module_offset);
			put_frame(out, unknown);
			continue;
		}
		/* outermost caller first: inlined frames are listed innermost first */
		for (int j = symbol->frame_count - 1; j >= 0; j--)
			put_frame(out, symbol->frames[j].function ? symbol->frames[j].function : "??");
	}
	fprintf(out, "[%s]", group->reason);
	if (fclose(out)) {
		free(text);
		return NULL;
	}
	return text;
}

/* Adds weight to the line of text, taking text over. */
static int add_line(struct folded *folded, char *text, __u64 weight, __u64 signature)
{
	__u64 key = hash__bytes(text, strlen(text), 0);
	struct folded_line *line = u64map__get(&folded->by_stack, key);

	if (line) {
		free(text);
	} else {
		line = calloc(1, sizeof(*line));
		if (!line || u64map__put(&folded->by_stack, key, line)) {
			free(text);
			free(line);
			return -ENOMEM;
		}
		line->stack = text;
		line->signature = signature;
	}
	line->weight += weight;
	return 0;
}

int folded__add_picture(struct folded *folded, const struct pw_picture *picture, __u64 interval_ns)
{
	for (size_t g = 0; g < picture->group_count; g++) {
		const struct pw_group *group = &picture->groups[g];
		char *text;
		int err;

		/* a window samples parked time; a snapshot of goroutines, like Go's
		 * profile, counts every one */
		if (!group->parked && (folded->window || group->kind != PW_UNIT_GOROUTINE))
			continue;
		/* keyed by text: stacks that differ only in pcs fold into one line */
		text = stack_line(folded, picture, group);
		if (!text)
			return -ENOMEM;
		err = add_line(folded, text, folded->window ? group->count * interval_ns : group->count,
			       group->signature);
		if (err)
			return err;
	}
	return 0;
}

int folded__write_picture(FILE *out, const struct pw_picture *picture,
			  const struct pw_context *ctx, const struct render_opts *opts)
{
	struct folded *folded = folded__new(false, opts && opts->folded_root);
	int err;

	if (!folded)
		return -ENOMEM;
	err = folded__add_picture(folded, picture, 0);
	if (!err)
		err = folded__write(folded, out, ctx->trend);
	folded__free(folded);
	return err;
}

static int by_stack(const void *a, const void *b)
{
	const struct folded_line *left = *(const struct folded_line *const *)a;
	const struct folded_line *right = *(const struct folded_line *const *)b;

	return strcmp(left->stack, right->stack);
}

static bool collect_line(__u64 key, void *value, void *ctx)
{
	struct folded_line ***cursor = ctx;

	(void)key;
	*(*cursor)++ = value;
	return true;
}

int folded__write(struct folded *folded, FILE *out, const struct trend *trend)
{
	struct trend_group_stats stats;

	size_t count = folded->by_stack.count;
	struct folded_line **lines = calloc(count ? count : 1, sizeof(*lines));
	struct folded_line **cursor = lines;

	if (!lines)
		return -ENOMEM;
	u64map__filter(&folded->by_stack, collect_line, &cursor);
	qsort(lines, count, sizeof(*lines), by_stack);
	for (size_t i = 0; i < count; i++) {
		__u64 weight = folded->window ? (lines[i]->weight + 500000) / 1000000 : lines[i]->weight;

		bool suspect = trend && !trend__group(trend, lines[i]->signature, &stats) &&
			       stats.suspect;

		fprintf(out, "%s%s %llu\n", lines[i]->stack, suspect ? ";[leak suspect]" : "", weight);
	}
	free(lines);
	return ferror(out) ? -EIO : 0;
}
