// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Hand-built pictures (fixtures.h). */
#include "model/classify.h"
#include "model/group.h"
#include "support/fixtures.h"

struct symbol *make_symbol(const char *module, __u64 start, __u64 end, const char *build_id,
			   __u64 module_offset, int frame_count)
{
	struct symbol *symbol = symbol__new(frame_count);

	assert_non_null(symbol);
	symbol->module = module ? strdup(module) : NULL;
	symbol->module_start = start;
	symbol->module_end = end;
	symbol->module_offset = module_offset;
	symbol->build_id = build_id ? strdup(build_id) : NULL;
	symbol->frame_count = frame_count;
	for (int i = 0; i < frame_count; i++)
		symbol->frames[i].pc = start + module_offset;
	return symbol;
}

struct symbol *make_unknown(__u64 pc)
{
	return make_symbol(NULL, 0, 0, NULL, pc, 0);
}

void set_frame(struct symbol *symbol, int i, const char *function, const char *file, int line,
	       __u64 function_offset, bool inlined)
{
	free(symbol->frames[i].function);
	free(symbol->frames[i].file);
	symbol->frames[i].function = function ? strdup(function) : NULL;
	symbol->frames[i].file = file ? strdup(file) : NULL;
	symbol->frames[i].line = line;
	symbol->frames[i].function_offset = function_offset;
	symbol->frames[i].inlined = inlined;
}

/* Frame i is looked up at its pc, or one before (a return address). */
static const struct pw_stack *stack_of(struct pw_picture *picture, pid_t pid, const __u64 *pcs,
				       const struct symbol *const *symbols, int depth,
				       int full_depth, bool truncated, bool leaf_exact)
{
	struct stack_frame frames[128];
	struct pw_stack *stack;

	assert_true(depth <= full_depth && full_depth <= 128);
	for (int i = 0; i < full_depth; i++) {
		frames[i].pc = pcs[i];
		frames[i].lookup_pc = i || !leaf_exact ? pcs[i] - 1 : pcs[i];
		assert_non_null(symbols[i]);
	}
	stack = picture__intern_stack(picture, pid, frames, symbols, depth, full_depth, truncated);
	assert_non_null(stack);
	classify__stack_futex(stack); /* as a thread's stack gets it (collect/threads.c) */
	return stack;
}

const struct pw_stack *make_stack_full(struct pw_picture *picture, pid_t pid, const __u64 *pcs,
				       const struct symbol *const *symbols, int depth,
				       int full_depth, bool truncated)
{
	return stack_of(picture, pid, pcs, symbols, depth, full_depth, truncated, true);
}

const struct pw_stack *make_go_stack(struct pw_picture *picture, pid_t pid, const __u64 *pcs,
				     const struct symbol *const *symbols, int depth,
				     int full_depth, bool truncated)
{
	return stack_of(picture, pid, pcs, symbols, depth, full_depth, truncated, false);
}

const struct pw_stack *make_stack(struct pw_picture *picture, pid_t pid, const __u64 *pcs,
				  const struct symbol *const *symbols, int depth)
{
	return make_stack_full(picture, pid, pcs, symbols, depth, depth, false);
}

struct pw_process *add_proc(struct pw_picture *picture, pid_t pid, const char *comm,
			    const char *exe)
{
	struct pw_process *proc = picture__add_process(picture, pid);

	assert_non_null(proc);
	snprintf(proc->comm, sizeof(proc->comm), "%s", comm);
	proc->exe = exe ? strdup(exe) : NULL;
	proc->unit_kind = PW_UNIT_THREAD;
	return proc;
}

struct pw_unit *add_thread(struct pw_picture *picture, pid_t pid, pid_t tid, const char *reason,
			   bool timeout, __u64 park_ns, const struct pw_stack *stack)
{
	struct pw_unit *unit = picture__add_units(picture, 1);

	assert_non_null(unit);
	unit->kind = PW_UNIT_THREAD;
	unit->pid = pid;
	unit->id = (__u64)tid;
	snprintf(unit->comm, sizeof(unit->comm), "t%d", tid);
	unit->parked = reason != NULL;
	unit->state = reason ? PW_STATE_SLEEPING : PW_STATE_RUNNING;
	unit->state_name = pw_state_names[unit->state];
	unit->wait.reason = reason;
	unit->wait.has_timeout = timeout;
	unit->wait.kernel_reason = PARK_REASON_OTHER;
	unit->park_start_ns = reason ? NOW_NS - park_ns : 0;
	unit->park_ns = reason ? park_ns : 0;
	unit->stack = stack;
	return unit;
}

struct pw_process *add_go_proc(struct pw_picture *picture, pid_t pid, const char *comm,
			       const char *exe, const char *go_version)
{
	struct pw_process *proc = add_proc(picture, pid, comm, exe);

	proc->unit_kind = PW_UNIT_GOROUTINE;
	proc->go_version = strdup(go_version);
	assert_non_null(proc->go_version);
	proc->has_parent_goid = true;
	return proc;
}

struct pw_unit *add_goroutine(struct pw_picture *picture, pid_t pid, __u64 goid,
			      const char *status, const char *wait_reason, __u64 park_ns,
			      const struct pw_stack *stack, struct pw_goroutine **go)
{
	struct pw_goroutine *extras = picture__add_goroutines(picture, 1);
	bool waiting = !strcmp(status, "waiting");
	struct pw_unit *unit;

	assert_non_null(extras);
	assert_true(!wait_reason || waiting);
	extras->status = status;
	extras->wait_reason = wait_reason;
	unit = picture__add_units(picture, 1);
	assert_non_null(unit);
	unit->kind = PW_UNIT_GOROUTINE;
	unit->pid = pid;
	unit->id = goid;
	/* as the collector names it: the process's comm (processes are
	 * unsorted until picture__finish) */
	for (size_t i = 0; i < picture->proc_count; i++)
		if (picture->procs[i].pid == pid)
			memcpy(unit->comm, picture->procs[i].comm, sizeof(unit->comm));
	unit->go = extras;
	unit->parked = waiting;
	unit->state = waiting ? PW_STATE_SLEEPING :
		      !strcmp(status, "running") ? PW_STATE_RUNNING : PW_STATE_RUNNABLE;
	unit->state_name = status;
	unit->wait.reason = wait_reason ? wait_reason : status;
	unit->wait.kernel_reason = PARK_REASON_OTHER;
	unit->park_start_ns = waiting ? NOW_NS - park_ns : 0;
	unit->park_ns = waiting ? park_ns : 0;
	unit->stack = stack;
	if (go)
		*go = extras;
	return unit;
}

void regroup(struct pw_picture *picture)
{
	for (size_t g = 0; g < picture->group_count; g++)
		free(picture->groups[g].members);
	free(picture->groups);
	picture->groups = NULL;
	picture->group_count = 0;
	assert_int_equal(group__finish(picture), 0);
}
