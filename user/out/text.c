// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The text dump of threads, in the shapes of Go's goroutine dumps: debug=2
 * one entry per thread in the traceback shape, debug=1 one block per group
 * with counts and pcs (render.h).
 */
#include <inttypes.h>
#include <string.h>
#include "out/blocked.h"
#include "out/render.h"
#include "util/format.h"
#include "util/utf8.h"

static const char *unit_word(const struct pw_unit *unit)
{
	return unit->kind == PW_UNIT_GOROUTINE ? "goroutine" : "thread";
}

/* A comment line, which parsers of the format skip. */
static void cut_note(FILE *out, const struct pw_picture *picture)
{
	if (picture->cut_short)
		fputs("# parkwatch: cut short: parkwatch was asked to stop while taking this "
		      "picture; threads not reached by then are missing\n", out);
}

static void print_summary(FILE *out, const struct pw_picture *picture)
{
	size_t units = 0;

	/* the units the dump shows: runtime goroutines are in no count */
	for (int s = 0; s < PW_STATE__COUNT; s++)
		units += picture->state_counts[s];
	fprintf(out, "parkwatch %s: %zu threads in %zu process%s, %zu parked (", PARKWATCH_VERSION,
		units, picture->proc_count, picture->proc_count == 1 ? "" : "es",
		picture->parked_count);
	for (int s = 0, printed = 0; s < PW_STATE__COUNT; s++) {
		if (!picture->state_counts[s])
			continue;
		fprintf(out, "%s%s %zu", printed++ ? ", " : "", pw_state_names[s],
			picture->state_counts[s]);
	}
	fputs(")\n", out);
	cut_note(out, picture);
}

static void print_kernel_frames(FILE *out, const struct pw_context *ctx, const struct pw_unit *unit)
{
	for (int i = 0; i < unit->kstack_depth; i++) {
		__u64 offset = 0;
		const char *name = ksyms__map_addr(ctx->ksyms, unit->kstack[i], &offset);

		if (name)
			fprintf(out, "%s+0x%llx [kernel]\n", name, offset);
		else
			fprintf(out, "0x%llx [kernel]\n", unit->kstack[i]);
	}
}

/* Two lines per frame, as in a Go traceback: function, then file:line +0xOFF. */
/* A demangled C++ name has its parameter list already: `ns::f(int) const`,
 * but not `operator()` alone. */
static bool has_parameter_list(const char *name)
{
	static const char *const qualifiers[] = { " const", " volatile", " &&", " &" };
	size_t len = strlen(name);
	bool stripped = true;

	while (stripped) {
		stripped = false;
		for (size_t i = 0; i < sizeof(qualifiers) / sizeof(qualifiers[0]); i++) {
			size_t q = strlen(qualifiers[i]);

			if (len > q && !strncmp(name + len - q, qualifiers[i], q)) {
				len -= q;
				stripped = true;
			}
		}
	}
	return len && name[len - 1] == ')' &&
	       !(len >= 10 && !strncmp(name + len - 10, "operator()", 10));
}

void text__frames(FILE *out, const struct pw_stack *stack)
{
	for (int i = 0; i < stack->depth; i++) {
		const struct symbol *symbol = stack->symbols[i];
		const struct stack_frame *pcs = &stack->frames[i];

		if (!symbol->frame_count) {
			fputs("?\?()\n\t", out);
			utf8__escape(out, symbol->module ? symbol->module : "?", 0);
			fprintf(out, " +0x%llx\n", symbol->module ? symbol->module_offset : pcs->pc);
			continue;
		}
		for (int j = 0; j < symbol->frame_count; j++) {
			const struct symbol_frame *frame = &symbol->frames[j];
			const char *name = frame->function ? frame->function : "??";

			/* names from the target's binaries: escaped as thread names are */
			utf8__escape(out, name, 0);
			fprintf(out, "%s%s\n\t", has_parameter_list(name) ? "" : "(...)",
				frame->tail_call ? " [tail call]" : "");
			if (frame->file) {
				utf8__escape(out, frame->file, 0);
				fprintf(out, ":%d", frame->line);
			} else {
				utf8__escape(out, symbol->module, 0);
			}
			if (!frame->inlined)
				fprintf(out, " +0x%llx",
					frame->function_offset + (pcs->pc - pcs->lookup_pc));
			fputc('\n', out);
		}
	}
}

/*
 * "process 4242 (nginx) ns_pid=1 container=3f2a9c0e1b7d: 3 threads, 2 parked":
 * the pid in its own namespace and where it runs only when known.  Names
 * are escaped (util/utf8.h): one can't clear a terminal or forge a line.
 */
static void print_process(FILE *out, pid_t pid, const struct pw_process *proc)
{
	char label[96];

	fprintf(out, "\nprocess %d (", pid);
	utf8__escape(out, proc ? proc->comm : "?", 0);
	fputc(')', out);
	if (proc && proc->ns_pid)
		fprintf(out, " ns_pid=%d", proc->ns_pid);
	if (proc && picture__container_label(proc, label, sizeof(label))) {
		fputs(" container=", out);
		utf8__escape(out, label, 0);
	}
	fprintf(out, ": %zu threads, %zu parked\n", proc ? proc->units : 0,
		proc ? proc->parked : 0);
}

/* "thread 4193 \"worker-3\"", or "goroutine 7": a goroutine has no name of
 * its own. */
static void print_unit_name(FILE *out, const struct pw_unit *unit)
{
	fprintf(out, "\n%s %llu", unit_word(unit), unit->id);
	if (unit->kind == PW_UNIT_GOROUTINE)
		return;
	fputs(" \"", out);
	utf8__escape(out, unit->comm, '"');
	fputc('"', out);
}

static int render_frames(FILE *out, const void *stack, const void *unused)
{
	(void)unused;
	text__frames(out, stack);
	return 0;
}

static void dump_units(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
		       const struct render_opts *opts)
{
	struct u64map rendered = { 0 };
	pid_t current_pid = -1;
	char age[32];

	for (size_t i = 0; i < picture->unit_count; i++) {
		const struct pw_unit *unit = &picture->units[i];

		if (unit->go && unit->go->system)
			continue;
		if (unit->pid != current_pid) {
			current_pid = unit->pid;
			print_process(out, unit->pid, picture__process(picture, unit->pid));
		}
		print_unit_name(out, unit);
		if (!unit->parked) {
			fprintf(out, " [%s]:\n", unit->state_name);
			continue;
		}
		format__age(unit->park_ns, age, sizeof(age));
		fputs(" [", out);
		utf8__escape(out, unit->wait.reason, 0);
		fprintf(out, ", %s]:\n", age);
		blocked__line(out, picture, unit);
		if (opts->kernel_stacks)
			print_kernel_frames(out, ctx, unit);
		if (unit->stack)
			render__cached(out, &rendered, unit->stack, render_frames, NULL);
		else if (unit->kind == PW_UNIT_GOROUTINE)
			fputs("\tstack unavailable\n", out);
		else if (unit->stack_raced)
			fputs("\t(no user stack: it woke while the stack was copied)\n", out);
		else
			fputs("\t(no user stack: parked less than --min-park)\n", out);
	}
	render__cache_free(&rendered);
}

static void print_group_frames(FILE *out, const struct pw_stack *stack)
{
	for (int i = 0; stack && i < stack->depth; i++) {
		const struct symbol *symbol = stack->symbols[i];
		/* as Go: the pc inside the call, which the offsets describe */
		__u64 pc = stack->frames[i].lookup_pc;

		if (!symbol->frame_count) {
			fprintf(out, "#\t0x%llx\t", pc);
			utf8__escape(out, symbol->module ? symbol->module : "?", 0);
			fprintf(out, "+0x%llx\n", symbol->module ? symbol->module_offset : pc);
			continue;
		}
		for (int j = 0; j < symbol->frame_count; j++) {
			const struct symbol_frame *frame = &symbol->frames[j];

			fprintf(out, "#\t0x%llx\t", pc);
			utf8__escape(out, frame->function ? frame->function : "??", 0);
			fprintf(out, "+0x%llx\t", frame->function_offset);
			if (frame->file) {
				utf8__escape(out, frame->file, 0);
				fprintf(out, ":%d\n", frame->line);
			} else {
				utf8__escape(out, symbol->module, 0);
				fputc('\n', out);
			}
		}
	}
}

static int dump_groups(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx)
{
	struct trend_group_stats stats;
	char label[96];
	int err = 0;

	fprintf(out, "thread profile: total %zu\n", picture->parked_count);
	cut_note(out, picture);
	blocked__findings(out, picture, false);
	for (size_t g = 0; g < picture->group_count && !err; g++) {
		const struct pw_group *group = &picture->groups[g];
		const struct pw_process *proc = picture__process(picture, group->pid);

		if (!group->parked)
			continue;
		fprintf(out, "%zu @", group->count);
		for (int i = 0; group->stack && i < group->stack->depth; i++)
			fprintf(out, " 0x%llx", group->stack->frames[i].pc);
		fprintf(out, "\n# labels: {\"pid\":\"%d\", \"comm\":", group->pid);
		format__json_string(out, proc ? proc->comm : "");
		if (proc && proc->ns_pid)
			fprintf(out, ", \"ns_pid\":\"%d\"", proc->ns_pid);
		if (proc && picture__container_label(proc, label, sizeof(label))) {
			fputs(", \"container\":", out);
			format__json_string(out, label);
		}
		fputs(", \"reason\":", out);
		format__json_string(out, group->reason);
		fprintf(out, ", \"timeout\":\"%s\"", picture__timeout_name(group->has_timeout));
		if (ctx->trend && trend__group(ctx->trend, group->signature, &stats) == 0)
			fprintf(out, ", \"leak_score\":\"%.2f\", \"trend\":\"%+.1f/min\"", stats.score,
				stats.slope_per_min);
		fputs("}\n", out);
		err = blocked__comment(out, picture, &group, 1);
		print_group_frames(out, group->stack);
		fputc('\n', out);
	}
	return err;
}

int text__write(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
		const struct render_opts *opts)
{
	if (opts->debug == 1)
		return dump_groups(out, picture, ctx);
	print_summary(out, picture);
	blocked__findings(out, picture, true);
	dump_units(out, picture, ctx, opts);
	return 0;
}
