// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Go-style text dumps and JSON (dump.h). */
#include <inttypes.h>
#include <string.h>
#include "out/dump.h"
#include "util/format.h"

static const char *timeout_name(bool has_timeout)
{
	return has_timeout ? "finite" : "none";
}

static void print_summary(FILE *out, const struct report *report)
{
	fprintf(out, "parkwatch %s: %zu threads in %zu process%s, %zu parked (", PARKWATCH_VERSION,
		report->thread_count, report->proc_count, report->proc_count == 1 ? "" : "es",
		report->parked_count);
	for (int s = 0, printed = 0; s < REPORT_STATE_COUNT; s++) {
		if (!report->state_counts[s])
			continue;
		fprintf(out, "%s%s %zu", printed++ ? ", " : "", report_state_names[s],
			report->state_counts[s]);
	}
	fputs(")\n", out);
}

static void print_kernel_frames(FILE *out, const struct report *report,
				const struct thread_info *thread)
{
	for (int i = 0; i < thread->kstack_depth; i++) {
		__u64 offset = 0;
		const char *name = ksyms__map_addr(report->ksyms, thread->kstack[i], &offset);

		if (name)
			fprintf(out, "%s+0x%llx [kernel]\n", name, offset);
		else
			fprintf(out, "0x%llx [kernel]\n", thread->kstack[i]);
	}
}

/* Two lines per frame, as in a Go traceback: function, then file:line +0xOFF. */
void dump__text_frames(FILE *out, const struct thread_info *thread)
{
	for (int i = 0; i < thread->stack->depth; i++) {
		const struct symbol *symbol = thread->symbols[i];

		if (!symbol || !symbol->frame_count) {
			fprintf(out, "?\?()\n\t%s +0x%llx\n", symbol && symbol->module ? symbol->module : "?",
				symbol ? symbol->module_offset : thread->stack->frames[i].pc);
			continue;
		}
		for (int j = 0; j < symbol->frame_count; j++) {
			const struct symbol_frame *frame = &symbol->frames[j];

			fprintf(out, "%s(...)\n\t", frame->function ? frame->function : "??");
			if (frame->file)
				fprintf(out, "%s:%d", frame->file, frame->line);
			else
				fprintf(out, "%s", symbol->module);
			if (!frame->inlined)
				fprintf(out, " +0x%llx", frame->function_offset + (thread->stack->frames[i].pc -
										 thread->stack->frames[i].lookup_pc));
			fputc('\n', out);
		}
	}
}

static void dump_threads(FILE *out, const struct report *report, const struct dump_opts *opts)
{
	pid_t current_pid = -1;
	char age[32];

	for (size_t i = 0; i < report->thread_count; i++) {
		const struct thread_info *thread = &report->threads[i];

		if ((pid_t)thread->rec->tgid != current_pid) {
			const struct proc_summary *proc = report__proc(report, thread->rec->tgid);

			current_pid = thread->rec->tgid;
			fprintf(out, "\nprocess %d (%s): %zu threads, %zu parked\n", current_pid, proc->comm,
				proc->threads, proc->parked);
		}
		if (!thread->parked) {
			fprintf(out, "\nthread %u [%s]:\n", thread->rec->tid, thread->state);
			continue;
		}
		format__age(thread->park_ns, age, sizeof(age));
		fprintf(out, "\nthread %u [%s, %s]:\n", thread->rec->tid, thread->wait.reason, age);
		if (opts->kernel_stacks)
			print_kernel_frames(out, report, thread);
		if (thread->stack)
			dump__text_frames(out, thread);
		else
			fputs("\t(no user stack: parked less than --min-park)\n", out);
	}
}

static void dump_groups(FILE *out, const struct report *report, const struct dump_opts *opts)
{
	struct trend_group_stats stats;

	fprintf(out, "thread profile: total %zu\n", report->parked_count);
	for (size_t g = 0; g < report->group_count; g++) {
		const struct group *group = &report->groups[g];
		const struct thread_info *example = group->members[0];
		const struct proc_summary *proc = report__proc(report, group->pid);

		fprintf(out, "%zu @", group->count);
		for (int i = 0; example->stack && i < example->stack->depth; i++)
			fprintf(out, " 0x%llx", example->stack->frames[i].pc);
		fprintf(out, "\n# labels: {\"pid\":\"%d\", \"comm\":", group->pid);
		format__json_string(out, proc->comm);
		fprintf(out, ", \"reason\":\"%s\", \"timeout\":\"%s\"", group->reason,
			timeout_name(group->has_timeout));
		if (opts->trend && trend__group(opts->trend, group->signature, &stats) == 0)
			fprintf(out, ", \"leak_score\":\"%.2f\", \"trend\":\"%+.1f/min\"", stats.score,
				stats.slope_per_min);
		fputs("}\n", out);
		for (int i = 0; example->stack && i < example->stack->depth; i++) {
			const struct symbol *symbol = example->symbols[i];
			/* as Go: the pc inside the call, which the offsets describe */
			__u64 pc = example->stack->frames[i].lookup_pc;

			if (!symbol || !symbol->frame_count) {
				fprintf(out, "#\t0x%llx\t%s+0x%llx\n", pc,
					symbol && symbol->module ? symbol->module : "?",
					symbol ? symbol->module_offset : pc);
				continue;
			}
			for (int j = 0; j < symbol->frame_count; j++) {
				const struct symbol_frame *frame = &symbol->frames[j];

				fprintf(out, "#\t0x%llx\t%s+0x%llx\t", pc,
					frame->function ? frame->function : "??", frame->function_offset);
				if (frame->file)
					fprintf(out, "%s:%d\n", frame->file, frame->line);
				else
					fprintf(out, "%s\n", symbol->module);
			}
		}
		fputc('\n', out);
	}
}

void dump__text(FILE *out, const struct report *report, const struct dump_opts *opts)
{
	if (opts->debug == 1) {
		dump_groups(out, report, opts);
		return;
	}
	print_summary(out, report);
	dump_threads(out, report, opts);
}

void dump__json_stack(FILE *out, const struct stack_frame *stack, const struct symbol *const *symbols,
		      int depth)
{
	bool first = true;

	fputs("[", out);
	for (int i = 0; i < depth; i++) {
		const struct symbol *symbol = symbols[i];
		__u64 pc = stack[i].pc;
		int frames = symbol && symbol->frame_count ? symbol->frame_count : 1;

		for (int j = 0; j < frames; j++) {
			const struct symbol_frame *frame = symbol && symbol->frame_count ?
								   &symbol->frames[j] : NULL;

			fprintf(out, "%s{\"address\":\"0x%llx\"", first ? "" : ",", pc);
			first = false;
			if (frame && frame->function) {
				fputs(",\"function\":", out);
				format__json_string(out, frame->function);
			}
			if (frame && frame->file) {
				fputs(",\"file\":", out);
				format__json_string(out, frame->file);
				fprintf(out, ",\"line\":%d", frame->line);
			}
			if (symbol && symbol->module) {
				fputs(",\"module\":", out);
				format__json_string(out, symbol->module);
			}
			fprintf(out, ",\"offset\":\"0x%llx\",\"inlined\":%s}",
				symbol ? symbol->module_offset : pc,
				frame && frame->inlined ? "true" : "false");
		}
	}
	fputs("]", out);
}

void dump__json_frames(FILE *out, const struct thread_info *thread)
{
	if (thread->stack)
		dump__json_stack(out, thread->stack->frames, thread->symbols, thread->stack->depth);
	else
		fputs("[]", out);
}

static void json_kernel_frames(FILE *out, const struct report *report,
			       const struct thread_info *thread)
{
	fputs("[", out);
	for (int i = 0; i < thread->kstack_depth; i++) {
		__u64 offset = 0;
		const char *name = ksyms__map_addr(report->ksyms, thread->kstack[i], &offset);

		fprintf(out, "%s{\"address\":\"0x%llx\"", i ? "," : "", thread->kstack[i]);
		if (name) {
			fputs(",\"function\":", out);
			format__json_string(out, name);
			fprintf(out, ",\"offset\":\"0x%llx\"", offset);
		}
		fputs("}", out);
	}
	fputs("]", out);
}

static void json_thread(FILE *out, const struct report *report, const struct thread_info *thread,
			const struct dump_opts *opts)
{
	const struct task_record *rec = thread->rec;

	fprintf(out, "{\"tid\":%u,\"pid\":%u,\"comm\":", rec->tid, rec->tgid);
	format__json_string(out, rec->comm);
	fprintf(out, ",\"state\":\"%s\",\"parked\":%s", thread->state,
		thread->parked ? "true" : "false");
	if (thread->parked) {
		fputs(",\"reason\":", out);
		format__json_string(out, thread->wait.reason);
		fprintf(out, ",\"timeout\":\"%s\",\"syscall\":", timeout_name(thread->wait.has_timeout));
		format__json_string(out, thread->wait.syscall);
		fprintf(out, ",\"park_ns\":%llu,\"park_start_estimated\":%s,\"frames\":",
			thread->park_ns, rec->flags & TASK_REC_ESTIMATED ? "true" : "false");
		dump__json_frames(out, thread);
	} else {
		fputs(",\"reason\":null,\"frames\":[]", out);
	}
	if (opts->kernel_stacks) {
		fputs(",\"kernel_frames\":", out);
		json_kernel_frames(out, report, thread);
	}
	fputs("}", out);
}

void dump__json_trend(FILE *out, const struct trend_group_stats *stats)
{
	fprintf(out, "{\"score\":%.3f,\"suspect\":%s,\"slope_per_min\":%.3f,\"fit_r2\":%.3f,"
		     "\"survivor_fraction\":%.3f,\"age_growth\":%.3f,\"count_now\":%zu,"
		     "\"count_first\":%zu,\"span_ns\":%llu,\"oldest_age_ns\":%llu,\"seen\":%llu,"
		     "\"woke\":%llu,\"explanation\":",
		stats->score, stats->suspect ? "true" : "false", stats->slope_per_min, stats->fit_r2,
		stats->survivor_fraction, stats->age_growth, stats->count_now, stats->count_first,
		stats->span_ns, stats->oldest_age_ns, stats->seen_total, stats->woke_total);
	format__json_string(out, stats->explanation);
	fputs("}", out);
}

void dump__json(FILE *out, const struct report *report, const struct dump_opts *opts)
{
	struct trend_group_stats stats;

	fprintf(out, "{\"version\":\"%s\",\"time_unix_ns\":%llu,\"threads_total\":%zu,"
		     "\"parked_total\":%zu,\"states\":{",
		PARKWATCH_VERSION, report->time_unix_ns, report->thread_count, report->parked_count);
	for (int s = 0; s < REPORT_STATE_COUNT; s++)
		fprintf(out, "%s\"%s\":%zu", s ? "," : "", report_state_names[s], report->state_counts[s]);
	fputs("},\"processes\":[", out);
	for (size_t i = 0; i < report->proc_count; i++) {
		const struct proc_summary *proc = &report->procs[i];

		fprintf(out, "%s{\"pid\":%d,\"comm\":", i ? "," : "", proc->pid);
		format__json_string(out, proc->comm);
		fprintf(out, ",\"threads\":%zu,\"parked\":%zu}", proc->threads, proc->parked);
	}
	fputs("],\"exited\":[", out);
	for (size_t i = 0; i < opts->exited_count; i++)
		fprintf(out, "%s%d", i ? "," : "", opts->exited_pids[i]);
	fputs("],\"threads\":[", out);
	for (size_t i = 0; i < report->thread_count; i++) {
		if (i)
			fputc(',', out);
		json_thread(out, report, &report->threads[i], opts);
	}
	fputs("],\"park_totals\":[", out);
	for (size_t i = 0; i < opts->totals_count; i++) {
		const struct park_totals *totals = &opts->totals[i];

		fprintf(out, "%s{\"pid\":%u,\"reason\":\"%s\",\"count\":%llu,\"total_ns\":%llu}",
			i ? "," : "", totals->key.tgid, classify__park_reason_name(totals->key.reason),
			totals->count, totals->total_ns);
	}
	fputs("],\"park_histograms\":[", out);
	for (int reason = 0, printed = 0; opts->reason_hists && reason < PARK_REASON__COUNT;
	     reason++) {
		const struct park_hist *hist = &opts->reason_hists[reason];
		int last = PARK_HIST_SLOTS - 1;

		if (!hist->count)
			continue;
		while (last > 0 && !hist->slots[last])
			last--;
		fprintf(out, "%s{\"reason\":\"%s\",\"count\":%llu,\"total_ns\":%llu,"
			     "\"log2_ns_counts\":[",
			printed++ ? "," : "", classify__park_reason_name(reason), hist->count,
			hist->total_ns);
		for (int slot = 0; slot <= last; slot++)
			fprintf(out, "%s%llu", slot ? "," : "", hist->slots[slot]);
		fputs("]}", out);
	}
	fputs("],\"groups\":[", out);
	for (size_t g = 0; g < report->group_count; g++) {
		const struct group *group = &report->groups[g];

		fprintf(out, "%s{\"pid\":%d,\"reason\":", g ? "," : "", group->pid);
		format__json_string(out, group->reason);
		fprintf(out, ",\"timeout\":\"%s\",\"count\":%zu,\"oldest_park_ns\":%llu,\"tids\":[",
			timeout_name(group->has_timeout), group->count, group->oldest_park_ns);
		for (size_t m = 0; m < group->count; m++)
			fprintf(out, "%s%u", m ? "," : "", group->members[m]->rec->tid);
		fputs("],\"frames\":", out);
		dump__json_frames(out, group->members[0]);
		if (opts->trend && trend__group(opts->trend, group->signature, &stats) == 0) {
			fputs(",\"trend\":", out);
			dump__json_trend(out, &stats);
		}
		fputs("}", out);
	}
	fputs("]}\n", out);
}
