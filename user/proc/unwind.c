// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* DWARF CFI unwinding of captured user stacks with libdwfl (unwind.h). */
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include "proc/perfmap.h"
#include "proc/symbolize.h"
#include "proc/unwind.h"

struct frames_acc {
	struct proc *proc;
	Dwfl *dwfl;
	int depth;
	Dwarf_Word jit_sp;          /* the stack pointer of the last frame if JIT code, else 0 */
	struct stack_frame frames[UNWIND_MAX_DEPTH];
};

static pid_t next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
	(void)dwfl;
	(void)dwfl_arg;
	(void)thread_argp;
	return 0; /* threads are only reached by tid, through get_thread */
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
	struct proc *proc = dwfl_arg;

	(void)dwfl;
	if (!proc->unwinding || proc->unwinding->tid != tid)
		return false;
	*thread_argp = proc;
	return true;
}

/* Stack words come from the captured copy; beyond it, from the process:
 * the thread is parked, so its stack is not changing under us. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *dwfl_arg)
{
	struct proc *proc = dwfl_arg;
	const struct unwind_input *thread = proc->unwinding;
	__u64 sp = thread->regs[PW_REG_SP];

	(void)dwfl;
	if (thread->ustack && addr >= sp && addr - sp + sizeof(*result) <= thread->ustack_bytes) {
		memcpy(result, thread->ustack + (addr - sp), sizeof(*result));
		return true;
	}
	return procs__read_word(proc, addr, (__u64 *)result);
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct proc *proc = thread_arg;
	const __u64 *regs = proc->unwinding->regs;
	Dwarf_Word dwarf_regs[PARK_NREGS];

	for (int i = 0; i < PARK_NREGS; i++)
		dwarf_regs[i] = regs[i];
	dwfl_thread_state_register_pc(thread, regs[PW_REG_IP]);
	return dwfl_thread_state_registers(thread, 0, PARK_NREGS, dwarf_regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* The session's thread callbacks, installed on its first unwind. */
static bool attached(struct proc *proc, Dwfl *dwfl)
{
	return dwfl_pid(dwfl) > 0 ||
	       dwfl_attach_state(dwfl, NULL, proc->pid, &thread_callbacks, proc);
}

static void acc_push(struct frames_acc *acc, __u64 pc, bool exact)
{
	if (acc->depth >= UNWIND_MAX_DEPTH)
		return;
	acc->frames[acc->depth].pc = pc;
	acc->frames[acc->depth].lookup_pc = exact || !pc ? pc : pc - 1;
	acc->depth++;
}

/*
 * Whether a frame libdwfl found is in code: an ELF file's, or JIT code the
 * process's perf map names.  JIT code has no CFI: libdwfl steps out of it
 * by its frame pointer, which is one only where the runtime keeps it (java
 * -XX:+PreserveFramePointer); otherwise the step lands wherever the
 * register pointed, and each thread gets garbage frames of its own.  So a
 * pc in no known code ends the stack (the leaf excepted), and a step out
 * of JIT code must climb the stack.
 */
static bool frame_in_code(struct frames_acc *acc, Dwfl_Frame *state, __u64 lookup_pc)
{
	bool in_elf = acc->dwfl && dwfl_addrmodule(acc->dwfl, lookup_pc);
	Dwarf_Word sp = 0, jit_sp = acc->jit_sp;
	bool jit;

	if (dwfl_frame_reg(state, PW_REG_SP, &sp))
		sp = 0;
	jit = !in_elf && perfmap__find(acc->proc->perfmap, lookup_pc);
	acc->jit_sp = jit ? sp : 0;
	if (jit_sp && sp <= jit_sp)
		return false;
	return in_elf || jit;
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct frames_acc *acc = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation) || !pc)
		return DWARF_CB_ABORT;
	if (!frame_in_code(acc, state, activation ? pc : pc - 1) && acc->depth)
		return DWARF_CB_ABORT;
	acc_push(acc, pc, activation);
	/* past a Go function that switches stacks, what CFI finds is not a
	 * caller: Go's own unwinder stops there too */
	if (symbolize__go_stack_end(acc->proc, acc->dwfl, acc->frames[acc->depth - 1].lookup_pc))
		return DWARF_CB_ABORT;
	return acc->depth < UNWIND_MAX_DEPTH ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* For code without CFI: follow saved frame pointers while they climb. */
static void unwind_frame_pointers(struct proc *proc, const __u64 *regs, struct frames_acc *acc)
{
	__u64 bp = regs[PW_REG_BP], next_bp, ret;

	acc->depth = 0;
	acc_push(acc, regs[PW_REG_IP], true);
	while (bp && acc->depth < UNWIND_MAX_DEPTH) {
		if (!memory_read(NULL, bp, (Dwarf_Word *)&next_bp, proc) ||
		    !memory_read(NULL, bp + 8, (Dwarf_Word *)&ret, proc) || !ret)
			break;
		acc_push(acc, ret, false);
		if (next_bp <= bp)
			break;
		bp = next_bp;
	}
}

static struct stack *unwind_capture(struct proc *proc, const struct unwind_input *thread)
{
	Dwfl *dwfl = procs__dwfl(proc);
	struct frames_acc acc = { .proc = proc, .dwfl = dwfl };
	struct stack *stack;

	proc->unwinding = thread;
	if (dwfl && attached(proc, dwfl))
		dwfl_getthread_frames(dwfl, thread->tid, frame_cb, &acc);
	if (acc.depth <= 1)
		unwind_frame_pointers(proc, thread->regs, &acc);
	proc->unwinding = NULL;

	stack = malloc(sizeof(*stack) + acc.depth * sizeof(stack->frames[0]));
	if (!stack)
		return NULL;
	stack->park_start_ns = thread->park_start_ns;
	stack->depth = acc.depth;
	memcpy(stack->frames, acc.frames, acc.depth * sizeof(stack->frames[0]));
	return stack;
}

const struct stack *unwind__thread(struct proc *proc, const struct unwind_input *thread)
{
	struct stack *cached = u64map__get(&proc->stacks, thread->tid);
	struct stack *fresh;

	if (thread->captured) {
		fresh = unwind_capture(proc, thread);
		if (!fresh)
			return NULL;
		free(cached);
		if (u64map__put(&proc->stacks, thread->tid, fresh)) {
			u64map__remove(&proc->stacks, thread->tid);
			free(fresh);
			return NULL;
		}
		cached = fresh;
	} else if (!cached || cached->park_start_ns != thread->park_start_ns) {
		return NULL;
	}
	cached->seen_generation = proc->seen_generation;
	return cached;
}

static bool keep_if_used(__u64 key, void *value, void *ctx)
{
	struct stack *stack = value;
	struct proc *proc = ctx;

	(void)key;
	if (stack->seen_generation == proc->seen_generation)
		return true;
	free(stack);
	return false;
}

void unwind__prune(struct proc *proc)
{
	u64map__filter(&proc->stacks, keep_if_used, proc);
}
