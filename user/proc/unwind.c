// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* DWARF CFI unwinding of captured user stacks with libdwfl (unwind.h). */
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <gelf.h>
#include "proc/perfmap.h"
#include "proc/symbolize.h"
#include "proc/unwind.h"

struct frames_acc {
	struct proc *proc;
	Dwfl *dwfl;
	int depth;
	bool truncated;             /* stopped before the stack's end */
	bool stopped;               /* stopped on purpose: not an unwinder error */
	bool in_jit;                /* the last frame is JIT code (the perf map's) */
	Dwarf_Word jit_sp;          /* the last frame's stack pointer */
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

/*
 * Whether pc lies in the code of a module whose image could be read: a
 * pc anywhere else (no file mapped there, a file that couldn't be opened,
 * data) is what unwinding without valid CFI or image makes up (0x1,
 * 0x100000000), never a caller.
 */
static bool in_module_code(Dwfl *dwfl, Dwarf_Addr pc)
{
	Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, pc) : NULL;
	Dwarf_Addr bias;
	size_t count;
	Elf *elf;

	if (!mod || !(elf = dwfl_module_getelf(mod, &bias)) || elf_getphdrnum(elf, &count))
		return false;
	for (size_t i = 0; i < count; i++) {
		GElf_Phdr mem, *phdr = gelf_getphdr(elf, (int)i, &mem);

		if (phdr && phdr->p_type == PT_LOAD && (phdr->p_flags & PF_X) && pc >= bias &&
		    pc - bias >= phdr->p_vaddr && pc - bias - phdr->p_vaddr < phdr->p_memsz)
			return true;
	}
	return false;
}

/*
 * Adds a frame, or stops the stack before it.  The first frame's pc comes
 * from the registers, so it is real wherever it lies, but nothing past it
 * can be trusted when it isn't in a module's code, or JIT code the
 * process's perf map names; a caller's pc outside both is dropped.
 * false: stop, the stack is truncated.
 */
static bool acc_push(struct frames_acc *acc, __u64 pc, bool exact)
{
	__u64 lookup_pc = exact || !pc ? pc : pc - 1;
	bool valid = in_module_code(acc->dwfl, lookup_pc);

	acc->in_jit = !valid && perfmap__find(acc->proc->perfmap, lookup_pc);
	valid = valid || acc->in_jit;

	if (acc->depth >= UNWIND_MAX_DEPTH || (!valid && acc->depth)) {
		acc->truncated = true;
		return false;
	}
	acc->frames[acc->depth].pc = pc;
	acc->frames[acc->depth].lookup_pc = lookup_pc;
	acc->depth++;
	acc->truncated = !valid;
	return valid;
}

/*
 * JIT code has no CFI: libdwfl steps out of it by its frame pointer, which
 * is one only where the runtime keeps it (java -XX:+PreserveFramePointer);
 * otherwise the step lands wherever the register pointed, and each thread
 * gets garbage frames of its own.  Such a step must climb the stack.
 */
static bool climbs_out_of_jit(struct frames_acc *acc, Dwfl_Frame *state, Dwarf_Word *sp)
{
	if (dwfl_frame_reg(state, PW_REG_SP, sp))
		*sp = 0;
	if (!acc->depth || !acc->in_jit || (acc->jit_sp && *sp > acc->jit_sp))
		return true;
	acc->truncated = true;
	return false;
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct frames_acc *acc = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation) || !pc || !climbs_out_of_jit(acc, state, &sp) ||
	    !acc_push(acc, pc, activation)) {
		acc->stopped = true;
		return DWARF_CB_ABORT;
	}
	acc->jit_sp = sp;
	/* past a Go function that switches stacks, what CFI finds is not a
	 * caller: Go's own unwinder stops there too */
	if (symbolize__go_stack_end(acc->proc, acc->dwfl, acc->frames[acc->depth - 1].lookup_pc)) {
		acc->stopped = true;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/* For code without CFI: follow saved frame pointers while they climb and
 * the return addresses they give are code.  A chain ends with a zero
 * frame pointer or return address; ending any other way, it is cut. */
static void unwind_frame_pointers(struct proc *proc, const __u64 *regs, struct frames_acc *acc)
{
	__u64 bp = regs[PW_REG_BP], next_bp, ret;

	acc->depth = 0;
	acc->truncated = false;
	if (!acc_push(acc, regs[PW_REG_IP], true))
		return;
	while (bp) {
		if (!memory_read(NULL, bp, (Dwarf_Word *)&next_bp, proc) ||
		    !memory_read(NULL, bp + 8, (Dwarf_Word *)&ret, proc)) {
			acc->truncated = true;
			return;
		}
		if (!ret || !acc_push(acc, ret, false))
			return;
		if (next_bp && next_bp <= bp) {
			acc->truncated = true;
			return;
		}
		bp = next_bp;
	}
}

static struct stack *unwind_capture(struct proc *proc, const struct unwind_input *thread)
{
	Dwfl *dwfl = procs__dwfl(proc);
	struct frames_acc acc = { .proc = proc, .dwfl = dwfl };
	struct stack *stack;

	proc->unwinding = thread;
	/* an unwinder error past the first frames (unreadable memory, no
	 * CFI and no frame pointer to go on) leaves the stack cut */
	if (dwfl && attached(proc, dwfl) &&
	    dwfl_getthread_frames(dwfl, thread->tid, frame_cb, &acc) && !acc.stopped)
		acc.truncated = true;
	if (acc.depth <= 1)
		unwind_frame_pointers(proc, thread->regs, &acc);
	proc->unwinding = NULL;

	stack = malloc(sizeof(*stack) + acc.depth * sizeof(stack->frames[0]));
	if (!stack)
		return NULL;
	stack->park_start_ns = thread->park_start_ns;
	stack->truncated = acc.truncated;
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
