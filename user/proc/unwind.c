// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* DWARF CFI unwinding of captured user stacks with libdwfl (unwind.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <gelf.h>
#include "proc/perfmap.h"
#include "proc/symbolize.h"
#include "proc/unwind.h"
#include "proc/unwind_memo.h"
#include "util/hash.h"

/* The thread being unwound, as the Dwfl callbacks find it through
 * proc->unwinding, with the trace of what the walk reads. */
struct unwind_run {
	struct unwind_input input;
	struct memo_capture capture;
	struct unwind_trace trace;
	/* the second walk's (unwind_memo.h): the first walk's frames */
	const struct stack_frame *vary_frames;
	int vary_depth;
};

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
	struct unwind_run *run = (struct unwind_run *)((char *)thread -
						       offsetof(struct unwind_run, input));
	__u64 sp = thread->regs[PW_REG_SP];
	bool from_capture = thread->ustack && addr >= sp &&
			    addr - sp + sizeof(*result) <= thread->ustack_bytes;

	(void)dwfl;
	if (from_capture)
		memcpy(result, thread->ustack + (addr - sp), sizeof(*result));
	else if (!procs__read_word(proc, addr, (__u64 *)result))
		return false;
	unwind_memo__read(&run->trace, &run->capture, addr, *result, from_capture);
	if (run->vary_frames &&
	    unwind_memo__may_vary(&run->capture, run->vary_frames, run->vary_depth, *result))
		*result = UNWIND_MEMO_VARIED(*result);
	return true;
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

/* Walks the capture in run, with the process's CFI or its frame pointers. */
static void walk(struct proc *proc, Dwfl *dwfl, struct unwind_run *run, struct frames_acc *acc)
{
	unwind_memo__trace_start(&run->trace);
	proc->unwinding = &run->input;
	/* an unwinder error past the first frames (unreadable memory, no
	 * CFI and no frame pointer to go on) leaves the stack cut */
	if (dwfl && attached(proc, dwfl) &&
	    dwfl_getthread_frames(dwfl, run->input.tid, frame_cb, acc) && !acc->stopped)
		acc->truncated = true;
	if (acc->depth <= 1)
		unwind_frame_pointers(proc, run->input.regs, acc);
	proc->unwinding = NULL;
}

/* Walks the capture again with the words that may vary changed, and
 * tells whether the walk went the same way (unwind_memo.h). */
static bool varies_alike(struct proc *proc, Dwfl *dwfl, const struct unwind_run *first,
			 const struct frames_acc *found)
{
	struct frames_acc acc = { .proc = proc, .dwfl = dwfl };
	struct unwind_run *run = malloc(sizeof(*run));
	__u64 regs[PARK_NREGS];
	bool alike;

	if (!run)
		return false;
	*run = *first;
	run->vary_frames = found->frames;
	run->vary_depth = found->depth;
	for (int i = 0; i < PARK_NREGS; i++) {
		regs[i] = first->input.regs[i];
		if (i != PW_REG_IP && i != PW_REG_SP &&
		    unwind_memo__may_vary(&first->capture, found->frames, found->depth, regs[i]))
			regs[i] = UNWIND_MEMO_VARIED(regs[i]);
	}
	run->input.regs = regs;
	walk(proc, dwfl, run, &acc);
	alike = unwind_memo__same_reads(&first->trace, &run->trace) &&
		acc.depth == found->depth && acc.truncated == found->truncated &&
		!memcmp(acc.frames, found->frames, acc.depth * sizeof(acc.frames[0]));
	free(run);
	return alike;
}

static struct stack *new_stack(const struct unwind_input *thread, const struct stack_frame *frames,
			       int depth, bool truncated)
{
	struct stack *stack = malloc(sizeof(*stack) + depth * sizeof(stack->frames[0]));

	if (!stack)
		return NULL;
	stack->park_start_ns = thread->park_start_ns;
	stack->truncated = truncated;
	stack->depth = depth;
	memcpy(stack->frames, frames, depth * sizeof(stack->frames[0]));
	/* once: the stack is looked up by it at every snapshot of its park */
	stack->hash = hash__bytes(stack->frames, depth * sizeof(stack->frames[0]), truncated);
	return stack;
}

static struct stack *unwind_capture(struct proc *proc, const struct unwind_input *thread)
{
	struct frames_acc acc = { .proc = proc };
	struct unwind_run *run;
	struct stack *stack;

	if (thread->memo) {
		struct memo_capture capture = { thread->regs, thread->ustack,
						thread->ustack ? thread->ustack_bytes : 0 };
		int depth = unwind_memo__find(thread->memo, &capture, acc.frames, &acc.truncated);

		if (depth >= 0)
			return new_stack(thread, acc.frames, depth, acc.truncated);
	}
	/* the trace is too big for the stack of a thread (the HTTP server's) */
	run = malloc(sizeof(*run));
	if (!run)
		return NULL;
	run->input = *thread;
	run->capture = (struct memo_capture){ thread->regs, thread->ustack,
					      thread->ustack ? thread->ustack_bytes : 0 };
	run->vary_frames = NULL;
	acc.dwfl = procs__dwfl(proc);
	walk(proc, acc.dwfl, run, &acc);
	if (thread->memo && run->trace.reusable)
		unwind_memo__add(thread->memo, &run->capture, &run->trace, acc.frames, acc.depth,
				 acc.truncated, varies_alike(proc, acc.dwfl, run, &acc));
	stack = new_stack(thread, acc.frames, acc.depth, acc.truncated);
	free(run);
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
