// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The JSON document of a picture (render.h): one schema for threads and
 * goroutines, described by parkwatch.schema.json beside this file.  Every
 * unit carries its kind; a goroutine's own fields sit in one "goroutine"
 * object.  One document on one line.
 */
#include <string.h>
#include "model/classify.h"
#include "model/totals.h"
#include "model/waitfor.h"
#include "out/blocked.h"
#include "out/render.h"
#include "util/format.h"

static const char *kind_name(enum pw_unit_kind kind)
{
	return kind == PW_UNIT_GOROUTINE ? "goroutine" : "thread";
}

static const char *json_bool(bool value)
{
	return value ? "true" : "false";
}

/* Frames leaf first, inlined ones expanded. */
void json__frames(FILE *out, const struct pw_stack *stack)
{
	bool first = true;

	fputc('[', out);
	for (int i = 0; stack && i < stack->depth; i++) {
		const struct symbol *symbol = stack->symbols[i];
		int frames = symbol->frame_count ? symbol->frame_count : 1;

		for (int j = 0; j < frames; j++) {
			const struct symbol_frame *frame = symbol->frame_count ? &symbol->frames[j] : NULL;

			fprintf(out, "%s{\"address\":\"0x%llx\"", first ? "" : ",", stack->frames[i].pc);
			first = false;
			if (frame && frame->function) {
				fputs(",\"function\":", out);
				format__json_string(out, frame->function);
			}
			if (frame && frame->system_name) {
				fputs(",\"system_name\":", out);
				format__json_string(out, frame->system_name);
			}
			if (frame && frame->file) {
				fputs(",\"file\":", out);
				format__json_string(out, frame->file);
				fprintf(out, ",\"line\":%d", frame->line);
			}
			if (symbol->module) {
				fputs(",\"module\":", out);
				format__json_string(out, symbol->module);
			}
			fprintf(out, ",\"offset\":\"0x%llx\",\"inlined\":%s%s}", symbol->module_offset,
				json_bool(frame && frame->inlined),
				frame && frame->tail_call ? ",\"tail_call\":true" : "");
		}
	}
	fputc(']', out);
}

static void kernel_frames(FILE *out, const struct pw_context *ctx, const struct pw_unit *unit)
{
	fputc('[', out);
	for (int i = 0; i < unit->kstack_depth; i++) {
		__u64 offset = 0;
		const char *name = ksyms__map_addr(ctx->ksyms, unit->kstack[i], &offset);

		fprintf(out, "%s{\"address\":\"0x%llx\"", i ? "," : "", unit->kstack[i]);
		if (name) {
			fputs(",\"function\":", out);
			format__json_string(out, name);
			fprintf(out, ",\"offset\":\"0x%llx\"", offset);
		}
		fputc('}', out);
	}
	fputc(']', out);
}

static void optional_u64(FILE *out, const char *key, __u64 value)
{
	if (value)
		fprintf(out, ",\"%s\":%llu", key, value);
	else
		fprintf(out, ",\"%s\":null", key);
}

static void goroutine_object(FILE *out, const struct pw_unit *unit)
{
	const struct pw_goroutine *g = unit->go;

	fputs(",\"goroutine\":{\"status\":", out);
	format__json_string(out, g->status);
	fputs(",\"wait_reason\":", out);
	format__json_string(out, g->wait_reason);
	optional_u64(out, "wait_ns", g->wait_ns);
	optional_u64(out, "parent_goid", g->parent_goid);
	optional_u64(out, "tid", (__u64)g->tid);
	fputs(",\"created_by\":", out);
	format__json_string(out, unit->id == 1 ? NULL : symbol__function(g->creator));
	fprintf(out, ",\"system\":%s,\"locked\":%s}", json_bool(g->system), json_bool(g->locked));
}

static void optional_string(FILE *out, const char *key, const char *value)
{
	if (!value)
		return;
	fprintf(out, ",\"%s\":", key);
	format__json_string(out, value);
}

static void chan_object(FILE *out, const struct pw_chan *chan)
{
	fprintf(out, ",\"chan\":{\"len\":%llu,\"cap\":%llu,\"closed\":%s,\"sendq\":%u,"
		     "\"recvq\":%u",
		chan->len, chan->cap, json_bool(chan->closed), chan->sendq, chan->recvq);
	optional_string(out, "elem_type", chan->elem_type);
	fputc('}', out);
}

static void fd_object(FILE *out, const struct pw_fd *fd)
{
	fprintf(out, ",\"fd\":{\"fd\":%d,\"type\":", fd->fd);
	format__json_string(out, fd->type ? fd->type : "");
	optional_string(out, "text", fd->text);
	fprintf(out, ",\"listening\":%s", json_bool(fd->listening));
	if (fd->peer_pid)
		fprintf(out, ",\"peer_pid\":%d", fd->peer_pid);
	optional_string(out, "peer_comm", fd->peer_comm);
	fputc('}', out);
}

/* What a unit waits for; the owner's pid resolved (its own when the lock
 * isn't another process's). */
static void blocked_on_object(FILE *out, const struct pw_unit *unit)
{
	const struct pw_blocked_on *on = &unit->blocked_on;

	fprintf(out, ",\"blocked_on\":{\"kind\":\"%s\"", pw_object_kind_names[on->kind]);
	if (on->addr)
		fprintf(out, ",\"addr\":\"0x%llx\"", on->addr);
	optional_string(out, "symbol", on->symbol);
	if (on->owner_tid)
		fprintf(out, ",\"owner_tid\":%d,\"owner_pid\":%d", on->owner_tid,
			waitfor__owner_pid(unit));
	fprintf(out, ",\"owner_unknown\":%s,\"owner_dead\":%s,\"never_wakes\":%s",
		json_bool(on->owner_unknown), json_bool(on->owner_dead), json_bool(on->never_wakes));
	if (on->chan)
		chan_object(out, on->chan);
	if (on->fd)
		fd_object(out, on->fd);
	fputc('}', out);
}

static void unit_object(FILE *out, const struct pw_unit *unit, const struct pw_context *ctx,
			const struct render_opts *opts)
{
	bool has_reason = unit->parked || unit->go;

	fprintf(out, "{\"kind\":\"%s\",\"id\":%llu,\"pid\":%d,\"comm\":", kind_name(unit->kind),
		unit->id, unit->pid);
	format__json_string(out, unit->comm);
	fputs(",\"state\":", out);
	format__json_string(out, unit->state_name);
	fprintf(out, ",\"parked\":%s,\"reason\":", json_bool(unit->parked));
	format__json_string(out, has_reason ? unit->wait.reason : NULL);
	fputs(",\"timeout\":", out);
	format__json_string(out, has_reason ? picture__timeout_name(unit->wait.has_timeout) : NULL);
	fputs(",\"syscall\":", out);
	format__json_string(out, unit->wait.syscall);
	fprintf(out, ",\"park_ns\":%llu,\"park_start_estimated\":%s,\"stack_truncated\":%s,\"frames\":",
		unit->park_ns, json_bool(unit->park_start_estimated),
		json_bool(unit->stack && unit->stack->truncated));
	json__frames(out, unit->stack);
	if (opts->kernel_stacks) {
		fputs(",\"kernel_frames\":", out);
		kernel_frames(out, ctx, unit);
	}
	if (unit->go)
		goroutine_object(out, unit);
	if (unit->blocked_on.kind != PW_OBJECT_NONE)
		blocked_on_object(out, unit);
	fputc('}', out);
}

void json__trend(FILE *out, const struct trend_group_stats *stats)
{
	fprintf(out, "{\"score\":%.3f,\"suspect\":%s,\"slope_per_min\":%.3f,\"fit_r2\":%.3f,"
		     "\"survivor_fraction\":%.3f,\"age_growth\":%.3f,\"count_now\":%zu,"
		     "\"count_first\":%zu,\"span_ns\":%llu,\"oldest_age_ns\":%llu,\"seen\":%llu,"
		     "\"woke\":%llu,\"explanation\":",
		stats->score, json_bool(stats->suspect), stats->slope_per_min, stats->fit_r2,
		stats->survivor_fraction, stats->age_growth, stats->count_now, stats->count_first,
		stats->span_ns, stats->oldest_age_ns, stats->seen_total, stats->woke_total);
	format__json_string(out, stats->explanation);
	fputc('}', out);
}

static void cgroup_object(FILE *out, const struct pw_cgroup *cg)
{
	const struct {
		const char *key, *value;
	} fields[] = {
		{ "path", cg->path },   { "runtime", cg->runtime }, { "container", cg->container },
		{ "pod", cg->pod },     { "qos", cg->qos },         { "unit", cg->unit },
	};

	fputs(",\"cgroup\":{", out);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		fprintf(out, "%s\"%s\":", i ? "," : "", fields[i].key);
		format__json_string(out, fields[i].value);
	}
	fputc('}', out);
}

static void process_object(FILE *out, const struct pw_process *proc)
{
	fprintf(out, "{\"pid\":%d,\"comm\":", proc->pid);
	format__json_string(out, proc->comm);
	fputs(",\"exe\":", out);
	format__json_string(out, proc->exe);
	fprintf(out, ",\"unit_kind\":\"%s\",\"units\":%zu,\"parked\":%zu", kind_name(proc->unit_kind),
		proc->units, proc->parked);
	if (proc->ns_pid)
		fprintf(out, ",\"ns_pid\":%d", proc->ns_pid);
	cgroup_object(out, &proc->cgroup);
	if (proc->unit_kind == PW_UNIT_GOROUTINE) {
		fputs(",\"goroutine\":{\"go_version\":", out);
		format__json_string(out, proc->go_version);
		fprintf(out, ",\"system_goroutines\":%zu,\"dropped\":%zu,\"cut_short\":",
			proc->system_units, proc->dropped);
		format__json_string(out, picture__cut_name(proc->cut_short));
		fputc('}', out);
	}
	fputc('}', out);
}

static void totals_arrays(FILE *out, const struct pw_totals *totals)
{
	fputs(",\"park_totals\":[", out);
	for (size_t i = 0; totals && i < totals->count; i++) {
		const struct pw_park_total *entry = &totals->entries[i];

		fprintf(out, "%s{\"pid\":%d,\"reason\":\"%s\",\"count\":%llu,\"total_ns\":%llu}",
			i ? "," : "", entry->pid, classify__park_reason_name(entry->reason),
			entry->count, entry->total_ns);
	}
	fputs("],\"park_histograms\":[", out);
	for (int reason = 0, printed = 0; totals && totals->has_hists && reason < PARK_REASON__COUNT;
	     reason++) {
		const struct park_hist *hist = &totals->hists[reason];
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
	fputc(']', out);
}

static void group_object(FILE *out, const struct pw_group *group, const struct pw_context *ctx)
{
	struct trend_group_stats stats;

	fprintf(out, "{\"kind\":\"%s\",\"pid\":%d,\"reason\":", kind_name(group->kind), group->pid);
	format__json_string(out, group->reason);
	fprintf(out, ",\"timeout\":\"%s\",\"parked\":%s,\"count\":%zu,\"oldest_park_ns\":%llu,\"ids\":[",
		picture__timeout_name(group->has_timeout), json_bool(group->parked), group->count,
		group->oldest_park_ns);
	for (size_t m = 0; m < group->count; m++)
		fprintf(out, "%s%llu", m ? "," : "", group->members[m]->id);
	fputs("],\"frames\":", out);
	json__frames(out, group->stack);
	if (group->kind == PW_UNIT_GOROUTINE) {
		const struct pw_goroutine *first = group->members[0]->go;

		fputs(",\"created_by\":", out);
		format__json_string(out, group->members[0]->id == 1 ? NULL :
					 symbol__function(first->creator));
	}
	fprintf(out, ",\"objects\":%zu,\"deadlocked\":%s,\"convoy\":%s", group->objects,
		json_bool(group->deadlocked), json_bool(group->convoy));
	if (ctx->trend && trend__group(ctx->trend, group->signature, &stats) == 0) {
		fputs(",\"trend\":", out);
		json__trend(out, &stats);
	}
	fputc('}', out);
}

static void finding_tids(FILE *out, const struct pw_finding *finding)
{
	fputc('[', out);
	for (size_t i = 0; i < finding->unit_count; i++)
		fprintf(out, "%s%llu", i ? "," : "", finding->units[i]->id);
	fputc(']', out);
}

/* "deadlocks": the cycles (self-deadlocks too), each its tids in cycle
 * order; "findings": every finding. */
static void findings_arrays(FILE *out, const struct pw_picture *picture)
{
	bool first = true;

	fputs(",\"deadlocks\":[", out);
	for (size_t f = 0; f < picture->finding_count; f++) {
		const struct pw_finding *finding = &picture->findings[f];

		if (finding->kind != PW_FINDING_DEADLOCK && finding->kind != PW_FINDING_SELF_DEADLOCK)
			continue;
		if (!first)
			fputc(',', out);
		first = false;
		finding_tids(out, finding);
	}
	fputs("],\"findings\":[", out);
	for (size_t f = 0; f < picture->finding_count; f++) {
		const struct pw_finding *finding = &picture->findings[f];

		fprintf(out, "%s{\"kind\":\"%s\",\"pid\":%d", f ? "," : "",
			pw_finding_kind_names[finding->kind], finding->pid);
		if (finding->addr)
			fprintf(out, ",\"addr\":\"0x%llx\"", finding->addr);
		if (finding->owner_tid)
			fprintf(out, ",\"owner_tid\":%d", finding->owner_tid);
		fputs(",\"tids\":", out);
		finding_tids(out, finding);
		fputc('}', out);
	}
	fputc(']', out);
}

int json__write(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
		const struct render_opts *opts)
{
	size_t units_total = 0;

	for (size_t i = 0; i < picture->proc_count; i++)
		units_total += picture->procs[i].units;
	fprintf(out, "{\"version\":\"%s\",\"time_unix_ns\":%llu,\"units_total\":%zu,"
		     "\"parked_total\":%zu,\"states\":{",
		PARKWATCH_VERSION, picture->time_unix_ns, units_total, picture->parked_count);
	for (int s = 0; s < PW_STATE__COUNT; s++)
		fprintf(out, "%s\"%s\":%zu", s ? "," : "", pw_state_names[s], picture->state_counts[s]);
	fputs("},\"cut_short\":", out);
	format__json_string(out, picture__cut_name(picture->cut_short));
	fputs(",\"processes\":[", out);
	for (size_t i = 0; i < picture->proc_count; i++) {
		if (i)
			fputc(',', out);
		process_object(out, &picture->procs[i]);
	}
	fputs("],\"exited\":[", out);
	for (size_t i = 0; i < ctx->exited_count; i++)
		fprintf(out, "%s%d", i ? "," : "", ctx->exited[i]);
	fputs("],\"units\":[", out);
	for (size_t i = 0; i < picture->unit_count; i++) {
		if (i)
			fputc(',', out);
		unit_object(out, &picture->units[i], ctx, opts);
	}
	fputc(']', out);
	totals_arrays(out, picture->totals);
	fputs(",\"groups\":[", out);
	for (size_t g = 0; g < picture->group_count; g++) {
		if (g)
			fputc(',', out);
		group_object(out, &picture->groups[g], ctx);
	}
	fputc(']', out);
	findings_arrays(out, picture);
	fputs("}\n", out);
	return 0;
}
