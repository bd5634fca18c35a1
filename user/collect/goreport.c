// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A Go process's goroutines, symbolized and grouped (goreport.h). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "util/clock.h"
#include "collect/goreport.h"
#include "go/goruntime.h"
#include "util/u64map.h"

struct goreport {
	pid_t pid;
	char *exe;
	char *version;
	bool has_parent_goid;
	__u64 time_unix_ns;
	size_t dropped;
	struct goroutine_info *goroutines;
	size_t goroutine_count, user_count;
	struct gostack **stacks;
	size_t stack_count;
	struct gogroup *groups;
	size_t group_count;
	const struct goroutine_info **members; /* every group's, one after the other */
	struct u64map symbols;      /* lookup pc -> struct symbol *, our copies */
	struct symbol *no_symbol;   /* for pc 0, which the map can't key */
	struct u64map reasons;      /* the goproc's wait-reason text -> our copy */
	char *goroot_src;           /* "/usr/lib/go-1.19/src/": std library files start so */
};

/* runtime2.go's _G* names; 10 is Go 1.26's leaked goroutine. */
static const char *const status_names[] = {
	"idle", "runnable", "running", "syscall", "waiting", "moribund", "dead",
	"enqueue", "copystack", "preempted", "leaked",
};

static const char *status_name(__u32 status)
{
	return status < sizeof(status_names) / sizeof(status_names[0]) ? status_names[status] :
									  "unknown";
}

static bool has_prefix(const char *text, const char *prefix)
{
	return text && !strncmp(text, prefix, strlen(prefix));
}

/* ------------------------------------------------------------ symbols */

/* Assembly functions are NAME.abi0 in .symtab; Go's dumps print NAME. */
static char *go_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (!name)
		return NULL;
	if (len > 5 && !strcmp(name + len - 5, ".abi0"))
		return strndup(name, len - 5);
	return strdup(name);
}

/* Our copy of a symbol, with Go's names (no .abi0); an empty one for NULL. */
static struct symbol *copy_symbol(const struct symbol *from)
{
	struct symbol *to = from ? symbol__clone(from) : calloc(1, sizeof(*to));

	for (int i = 0; to && i < to->frame_count; i++) {
		char *name = to->frames[i].function;

		if (!name)
			continue;
		to->frames[i].function = go_name(name);
		free(name);
		if (!to->frames[i].function) {
			symbol__free(to);
			return NULL;
		}
	}
	return to;
}

/* Our copy of the symbol at lookup_pc; NULL only when out of memory. */
static const struct symbol *symbol_at(struct goreport *report, struct proc *proc, __u64 lookup_pc)
{
	struct symbol *symbol;

	/* 0 is the map's empty key: no frame has it, but be safe */
	if (!lookup_pc) {
		if (!report->no_symbol)
			report->no_symbol = copy_symbol(NULL);
		return report->no_symbol;
	}
	symbol = u64map__get(&report->symbols, lookup_pc);
	if (symbol)
		return symbol;
	symbol = copy_symbol(symbolize__user(proc, lookup_pc));
	if (symbol && u64map__put(&report->symbols, lookup_pc, symbol)) {
		symbol__free(symbol);
		return NULL;
	}
	return symbol;
}

static const char *outer_function(const struct symbol *symbol)
{
	return symbol && symbol->frame_count ? symbol->frames[symbol->frame_count - 1].function :
					       NULL;
}

/* ------------------------------------------------------------- stacks */

/* The visible frames of g: indexes into g->pcs, wrappers left out. */
static int visible_frames(const struct goproc *gp, const struct goroutine *g, int *index)
{
	int count = 0;

	for (int i = 0; i < g->depth; i++)
		if (!goproc__is_wrapper(gp, goroutine__lookup_pc(g, i)))
			index[count++] = i;
	return count;
}

static bool same_stack(const struct gostack *stack, const struct goroutine *g, const int *index,
		       int count)
{
	if (stack->pc_count != count || stack->truncated != g->truncated)
		return false;
	for (int k = 0; k < count; k++)
		if (stack->frames[k].pc != g->pcs[index[k]] ||
		    stack->frames[k].lookup_pc != goroutine__lookup_pc(g, index[k]))
			return false;
	return true;
}

static void free_stack(struct gostack *stack)
{
	if (!stack)
		return;
	free(stack->frames);
	free(stack->symbols);
	free(stack);
}

static struct gostack *new_stack(struct goreport *report, struct proc *proc,
				 const struct goroutine *g, const int *index, int count,
				 __u64 signature)
{
	struct gostack *stack = calloc(1, sizeof(*stack));

	if (!stack)
		return NULL;
	stack->signature = signature;
	stack->pc_count = stack->depth = count;
	stack->truncated = g->truncated;
	stack->frames = calloc(count ? count : 1, sizeof(*stack->frames));
	stack->symbols = calloc(count ? count : 1, sizeof(*stack->symbols));
	if (!stack->frames || !stack->symbols)
		goto fail;
	for (int k = 0; k < count; k++) {
		stack->frames[k].pc = g->pcs[index[k]];
		stack->frames[k].lookup_pc = goroutine__lookup_pc(g, index[k]);
		stack->symbols[k] = symbol_at(report, proc, stack->frames[k].lookup_pc);
		if (!stack->symbols[k])
			goto fail;
	}
	/* the bottom of every complete goroutine stack: Go never shows it */
	if (count) {
		const char *name = outer_function(stack->symbols[count - 1]);

		if (name && !strcmp(name, "runtime.goexit"))
			stack->depth--;
	}
	return stack;
fail:
	free_stack(stack);
	return NULL;
}

/*
 * The shared stack of g, made on first sight (*out NULL for a stackless
 * g).  Keyed by a hash of the visible pcs; a different stack with the
 * same hash probes the next seed.
 */
static int stack_of(struct goreport *report, struct u64map *by_signature, struct proc *proc,
		    const struct goproc *gp, const struct goroutine *g, const struct gostack **out)
{
	int index[GO_MAX_DEPTH];
	int count;

	*out = NULL;
	if (!g->depth)
		return 0;
	count = visible_frames(gp, g, index);
	for (__u64 seed = g->truncated;; seed += 2) {
		__u64 signature = seed;
		struct gostack *stack;

		for (int k = 0; k < count; k++) {
			__u64 pcs[2] = { g->pcs[index[k]], goroutine__lookup_pc(g, index[k]) };

			signature = hash_bytes(pcs, sizeof(pcs), signature);
		}
		signature = signature ? signature : 1;
		stack = u64map__get(by_signature, signature);
		if (stack && !same_stack(stack, g, index, count))
			continue;
		if (!stack) {
			stack = new_stack(report, proc, g, index, count, signature);
			if (!stack)
				return -ENOMEM;
			report->stacks[report->stack_count++] = stack;
			if (u64map__put(by_signature, signature, stack))
				return -ENOMEM;
		}
		*out = stack;
		return 0;
	}
}

/* ------------------------------------------------------------- groups */

/* Waits that end by themselves: time.Sleep and the runtime's timers. */
static bool reason_has_timeout(const char *reason)
{
	return !strcmp(reason, "sleep") || strstr(reason, "timer");
}

/*
 * Where GOROOT's sources are, from a runtime function's file
 * (".../src/runtime/proc.go" -> ".../src/"): frames with files below it
 * are the standard library's.
 */
static void find_goroot(struct goreport *report)
{
	for (size_t s = 0; s < report->stack_count && !report->goroot_src; s++) {
		const struct gostack *stack = report->stacks[s];

		for (int i = 0; i < stack->pc_count && !report->goroot_src; i++) {
			const struct symbol *symbol = stack->symbols[i];

			for (int j = 0; j < symbol->frame_count; j++) {
				const char *file = symbol->frames[j].file;
				const char *at = file ? strstr(file, "/src/runtime/") : NULL;

				if (has_prefix(symbol->frames[j].function, "runtime.") && at) {
					report->goroot_src = strndup(file, at - file + 5);
					break;
				}
			}
		}
	}
}

/* Without file names: an import path whose first element has no dot is
 * the standard library's (main aside), by Go's own convention. */
static bool std_package(const char *function)
{
	const char *slash = strchr(function, '/');

	if (has_prefix(function, "main."))
		return false;
	return !slash || !memchr(function, '.', slash - function);
}

static bool user_frame(const struct goreport *report, const struct symbol_frame *frame)
{
	if (!frame->function)
		return false;
	if (frame->file && report->goroot_src)
		return !has_prefix(frame->file, report->goroot_src) &&
		       !has_prefix(frame->function, "runtime.");
	return !std_package(frame->function);
}

static const struct symbol_frame *where_of(const struct goreport *report,
					   const struct gostack *stack)
{
	const struct symbol_frame *first_shown = NULL;

	for (int i = 0; stack && i < stack->depth; i++) {
		const struct symbol *symbol = stack->symbols[i];

		for (int j = 0; j < symbol->frame_count; j++) {
			const struct symbol_frame *frame = &symbol->frames[j];

			if (user_frame(report, frame))
				return frame;
			if (!first_shown && frame->function &&
			    !has_prefix(frame->function, "runtime."))
				first_shown = frame;
		}
	}
	if (first_shown || !stack || !stack->depth || !stack->symbols[0]->frame_count)
		return first_shown;
	return &stack->symbols[0]->frames[0];
}

static __u64 group_signature(pid_t pid, const char *reason, const struct gostack *stack,
			     __u64 seed)
{
	__u64 key[3] = { (__u64)pid, stack ? stack->signature : 0, seed };
	__u64 signature = hash_bytes(reason, strlen(reason), hash_bytes(key, sizeof(key), 0));

	return signature ? signature : 1;
}

/* Scratch space of build_groups. */
struct grouping {
	struct gogroup *found;      /* in order of first sight */
	size_t *first_member;       /* per found group */
	size_t *group_of;           /* per goroutine: found group + 1, 0 for a system one */
	size_t *rank;               /* per found group: its place once sorted */
};

static int by_size(const void *a, const void *b, void *ctx)
{
	const struct grouping *work = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (work->found[x].count != work->found[y].count)
		return work->found[x].count < work->found[y].count ? 1 : -1;
	return work->first_member[x] < work->first_member[y] ? -1 :
	       work->first_member[x] > work->first_member[y];
}

/* The group of g among those found so far, added when new: (pid, reason,
 * stack) through a hash, a different group with the same hash probing the
 * next seed.  Returns its index + 1, or 0 when out of memory. */
static size_t group_slot(struct goreport *report, struct grouping *work, size_t *found_count,
			 struct u64map *by_signature, size_t i)
{
	const struct goroutine_info *g = &report->goroutines[i];

	for (__u64 seed = 0;; seed++) {
		__u64 signature = group_signature(report->pid, g->reason, g->stack, seed);
		uintptr_t slot = (uintptr_t)u64map__get(by_signature, signature);
		struct gogroup *group;

		if (slot) {
			group = &work->found[slot - 1];
			if (group->stack == g->stack && !strcmp(group->reason, g->reason))
				return slot;
			continue;
		}
		slot = ++*found_count;
		group = &work->found[slot - 1];
		group->signature = signature;
		group->pid = report->pid;
		group->reason = g->reason;
		group->has_timeout = reason_has_timeout(g->reason);
		group->stack = g->stack;
		group->creator = g->creator;
		work->first_member[slot - 1] = i;
		return u64map__put(by_signature, signature, (void *)slot) ? 0 : slot;
	}
}

/* User goroutines by (reason, stack), largest group first, each group's
 * members in allgs order in one array. */
static int build_groups(struct goreport *report)
{
	size_t users = report->user_count ? report->user_count : 1;
	struct u64map by_signature = { 0 };
	struct grouping work = {
		.found = calloc(users, sizeof(*work.found)),
		.first_member = calloc(users, sizeof(*work.first_member)),
		.group_of = calloc(report->goroutine_count + 1, sizeof(*work.group_of)),
		.rank = calloc(users, sizeof(*work.rank)),
	};
	size_t *order = calloc(users, sizeof(*order)), *fill = calloc(users, sizeof(*fill));
	size_t found_count = 0, at = 0;
	int err = -ENOMEM;

	report->groups = calloc(users, sizeof(*report->groups));
	report->members = calloc(users, sizeof(*report->members));
	if (!work.found || !work.first_member || !work.group_of || !work.rank || !order || !fill ||
	    !report->groups || !report->members)
		goto out;
	for (size_t i = 0; i < report->goroutine_count; i++) {
		const struct goroutine_info *g = &report->goroutines[i];
		struct gogroup *group;
		size_t slot;

		if (g->system)
			continue;
		slot = group_slot(report, &work, &found_count, &by_signature, i);
		if (!slot)
			goto out;
		group = &work.found[slot - 1];
		group->count++;
		if (g->wait_ns > group->oldest_wait_ns)
			group->oldest_wait_ns = g->wait_ns;
		work.group_of[i] = slot;
	}
	for (size_t k = 0; k < found_count; k++)
		order[k] = k;
	qsort_r(order, found_count, sizeof(*order), by_size, &work);
	for (size_t k = 0; k < found_count; k++) {
		struct gogroup *group = &report->groups[k];

		*group = work.found[order[k]];
		work.rank[order[k]] = k;
		group->members = report->members + at;
		group->where = where_of(report, group->stack);
		fill[k] = at;
		at += group->count;
	}
	report->group_count = found_count;
	for (size_t i = 0; i < report->goroutine_count; i++) {
		size_t k;

		if (!work.group_of[i])
			continue;
		k = work.rank[work.group_of[i] - 1];
		report->members[fill[k]++] = &report->goroutines[i];
		report->goroutines[i].group = &report->groups[k];
	}
	err = 0;
out:
	u64map__clear(&by_signature);
	free(work.found);
	free(work.first_member);
	free(work.group_of);
	free(work.rank);
	free(order);
	free(fill);
	return err;
}

/* ------------------------------------------------------------- build */

/* Our copy of a wait reason, shared by every goroutine that has it. */
static const char *reason_copy(struct goreport *report, const char *text)
{
	char *copy = u64map__get(&report->reasons, (uintptr_t)text);

	if (copy)
		return copy;
	copy = strdup(text);
	if (copy && u64map__put(&report->reasons, (uintptr_t)text, copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

static int fill_goroutine(struct goreport *report, struct u64map *stacks, struct proc *proc,
			  const struct goproc *gp, const struct goroutine *g,
			  struct goroutine_info *info)
{
	int err;

	info->goid = g->goid;
	info->parent_goid = g->parent_goid;
	info->status = status_name(g->status);
	info->reason = info->status;
	if ((g->status == GO_STATUS_WAITING || g->status == 10) && g->wait_reason &&
	    g->wait_reason[0]) {
		info->wait_reason = reason_copy(report, g->wait_reason);
		if (!info->wait_reason)
			return -ENOMEM;
		info->reason = info->wait_reason;
	}
	info->wait_ns = g->wait_ns;
	info->tid = g->tid;
	info->system = g->system;
	info->locked = g->locked;
	info->gopc = g->gopc;
	if (g->gopc) {
		info->creator = symbol_at(report, proc, g->gopc - 1);
		if (!info->creator)
			return -ENOMEM;
	}
	err = stack_of(report, stacks, proc, gp, g, &info->stack);
	return err;
}

int goreport__read(struct procs *procs, pid_t pid, struct goreport **out)
{
	struct proc *proc = procs__get(procs, pid);

	return proc ? goreport__build(proc, out) : -ENOMEM;
}

int goreport__build(struct proc *proc, struct goreport **out)
{
	struct goroutine *gs = NULL;
	struct u64map stacks = { 0 };
	struct goreport *report;
	struct goproc *gp;
	size_t count = 0;
	int err;

	*out = NULL;
	err = proc__goproc(proc, &gp);
	if (err)
		return err;
	report = calloc(1, sizeof(*report));
	if (!report)
		return -ENOMEM;
	report->pid = proc->pid;
	report->time_unix_ns = clock__unix_ns();
	err = goproc__read(gp, &gs, &count);
	if (err)
		goto fail;
	report->dropped = goproc__dropped(gp);
	report->has_parent_goid = goproc__has_parent_goid(gp);
	report->version = strdup(goproc__version(gp));
	report->exe = proc__exe_path(proc->pid);
	report->goroutines = calloc(count ? count : 1, sizeof(*report->goroutines));
	report->stacks = calloc(count ? count : 1, sizeof(*report->stacks));
	err = -ENOMEM;
	if (!report->version || !report->goroutines || !report->stacks)
		goto fail;
	report->goroutine_count = count;
	for (size_t i = 0; i < count; i++) {
		err = fill_goroutine(report, &stacks, proc, gp, &gs[i], &report->goroutines[i]);
		if (err)
			goto fail;
		report->user_count += !gs[i].system;
	}
	find_goroot(report);
	err = build_groups(report);
	if (err)
		goto fail;
	u64map__clear(&stacks);
	goroutine__free_all(gs);
	*out = report;
	return 0;
fail:
	u64map__clear(&stacks);
	goroutine__free_all(gs);
	goreport__free(report);
	return err;
}

void goreport__free(struct goreport *report)
{
	if (!report)
		return;
	for (size_t s = 0; s < report->stack_count; s++)
		free_stack(report->stacks[s]);
	free(report->stacks);
	free(report->goroutines);
	free(report->groups);
	free(report->members);
	u64map__free_all(&report->symbols, symbol__free_value);
	symbol__free(report->no_symbol);
	u64map__free_all(&report->reasons, free);
	free(report->goroot_src);
	free(report->version);
	free(report->exe);
	free(report);
}

pid_t goreport__pid(const struct goreport *report)
{
	return report->pid;
}

const char *goreport__go_version(const struct goreport *report)
{
	return report->version;
}

const char *goreport__exe(const struct goreport *report)
{
	return report->exe;
}

__u64 goreport__time_unix_ns(const struct goreport *report)
{
	return report->time_unix_ns;
}

size_t goreport__total(const struct goreport *report)
{
	return report->user_count;
}

size_t goreport__dropped(const struct goreport *report)
{
	return report->dropped;
}

bool goreport__has_parent_goid(const struct goreport *report)
{
	return report->has_parent_goid;
}

size_t goreport__goroutines(const struct goreport *report, const struct goroutine_info **out)
{
	*out = report->goroutines;
	return report->goroutine_count;
}

size_t goreport__groups(const struct goreport *report, const struct gogroup **out)
{
	*out = report->groups;
	return report->group_count;
}

const char *goreport__strerror(int err)
{
	switch (err) {
	case -ENOEXEC:
		return "not a Go program";
	case -ENODATA:
		return "a Go program whose goroutines can't be read (stripped of its symbol "
		       "table with -ldflags=-s, or a runtime this parkwatch doesn't know)";
	case -ESRCH:
		return "the process exited";
	case -EACCES:
		return "its memory can't be read (run as root, or with CAP_SYS_PTRACE)";
	case -EBADMSG:
		return "its goroutine list made no sense (a runtime this parkwatch doesn't know)";
	case -EFAULT:
		return "its memory doesn't match its binary";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
