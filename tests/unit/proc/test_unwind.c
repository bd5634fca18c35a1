// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of user-stack unwinding (user/proc/unwind.c) without BPF: this
 * process captures its own registers and stack bytes the way the snapshot
 * iterator does for a parked thread, and parkwatch unwinds that copy with
 * DWARF CFI.  A synthetic frame-pointer chain covers the fallback walk.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <fcntl.h>
#include "proc/symbolize.h"
#include "proc/unwind.h"
#include "support/fixtures.h"
#include "support/procs_self.h"

#define NOINLINE __attribute__((noinline, noclone, used))
#define CAPTURE_BYTES 8192
#define PARK_START 123456789ULL
#define NO_SUCH_PID 0x7ffffff0

static struct procs *procs;
static struct proc *self;

/* A parked thread as a snapshot record gives it to the unwinder. */
static struct unwind_input input_of(const struct task_record *rec, const void *ustack)
{
	return (struct unwind_input){
		.tid = (pid_t)rec->tid,
		.park_start_ns = rec->park_start_ns,
		.captured = rec->flags & TASK_REC_USTACK,
		.regs = rec->regs,
		.ustack = rec->flags & TASK_REC_USTACK ? ustack : NULL,
		.ustack_bytes = rec->ustack_bytes,
	};
}

static struct task_record captured_rec;
static __u8 captured_stack[CAPTURE_BYTES] __attribute__((aligned(16)));
static unsigned long inner_start, inner_end_guess;
volatile int sink;

/*
 * Captures the registers the unwinder needs at one pc inside this function
 * (rip from lea, so rip, rsp and the callee-saved registers all belong to
 * the same instruction boundary), then copies the stack above rsp.
 */
NOINLINE int inner(int x)
{
	CAPTURE_REGS(captured_rec.regs);
	captured_rec.ustack_bytes = copy_stack_above(captured_rec.regs, captured_stack,
						     CAPTURE_BYTES);
	sink += x;
	return sink;
}

NOINLINE int middle(int x)
{
	int r = inner(x + 1);

	__asm__ volatile("" ::: "memory");
	return r + 1;
}

NOINLINE int outer(int x)
{
	int r = middle(x + 1);

	__asm__ volatile("" ::: "memory");
	return r + 2;
}

/* The test function that calls outer: the unwinder should reach it too. */
NOINLINE static void capture_here(void)
{
	int r;

	memset(&captured_rec, 0, sizeof(captured_rec));
	r = outer(1);
	__asm__ volatile("" ::: "memory");
	sink = r;
	captured_rec.tid = gettid();
	captured_rec.tgid = getpid();
	memcpy(captured_rec.comm, "test_unwind", 12);
	captured_rec.state = PARK_TASK_INTERRUPTIBLE;
	captured_rec.flags = TASK_REC_USTACK;
	captured_rec.park_start_ns = PARK_START;
	captured_rec.now_ns = PARK_START + 5000000000ULL;
	captured_rec.wait.syscall_nr = -1;
}

static const char *outermost_function(const struct symbol *symbol)
{
	if (!symbol || !symbol->frame_count)
		return NULL;
	return symbol->frames[symbol->frame_count - 1].function;
}

static void print_stack(struct proc *proc, const struct stack *stack)
{
	for (int i = 0; stack && i < stack->depth; i++) {
		const struct symbol *symbol = symbolize__user(proc, stack->frames[i].lookup_pc);
		const char *name = outermost_function(symbol);

		print_message("  #%d 0x%llx %s\n", i, stack->frames[i].pc, name ? name : "??");
	}
}

/* Index of the first frame at or after from whose function is name, or -1. */
static int find_frame(struct proc *proc, const struct stack *stack, int from, const char *name)
{
	for (int i = from; i < stack->depth; i++) {
		const char *function = outermost_function(symbolize__user(proc,
									  stack->frames[i].lookup_pc));

		if (function && !strcmp(function, name))
			return i;
	}
	return -1;
}

static int group_setup(void **state)
{
	(void)state;
	return procs_self_open(&procs, &self);
}

static int group_teardown(void **state)
{
	(void)state;
	procs_self_close(procs);
	return 0;
}

static void test_capture_is_sane(void **state)
{
	(void)state;
	capture_here();
	inner_start = (unsigned long)&inner;
	inner_end_guess = inner_start + 4096;
	/* the captured pc lies in inner, the stack pointer in this stack */
	assert_true(captured_rec.regs[PW_REG_IP] > inner_start && captured_rec.regs[PW_REG_IP] < inner_end_guess);
	assert_true(captured_rec.regs[PW_REG_SP] != 0);
	assert_true(captured_rec.ustack_bytes >= 1024);
	assert_true(captured_rec.ustack_bytes <= CAPTURE_BYTES);
	assert_string_equal(outermost_function(symbolize__user(self, captured_rec.regs[PW_REG_IP])), "inner");
}

static void test_unwind_captured_stack(void **state)
{
	struct unwind_input input;
	const struct stack *stack;
	int i_inner, i_middle, i_outer, i_caller;

	(void)state;
	capture_here();
	input = input_of(&captured_rec, captured_stack);
	stack = unwind__thread(self, &input);
	assert_non_null(stack);
	assert_true(stack->depth >= 4);
	assert_true(stack->park_start_ns == PARK_START);
	/* the leaf is the captured pc itself, looked up as is */
	assert_true(stack->frames[0].pc == captured_rec.regs[PW_REG_IP]);
	assert_true(stack->frames[0].lookup_pc == stack->frames[0].pc);
	/* callers are return addresses, looked up inside the call */
	for (int i = 1; i < stack->depth; i++)
		assert_true(stack->frames[i].lookup_pc == stack->frames[i].pc - 1);
	i_inner = find_frame(self, stack, 0, "inner");
	i_middle = find_frame(self, stack, 0, "middle");
	i_outer = find_frame(self, stack, 0, "outer");
	i_caller = find_frame(self, stack, 0, "capture_here");
	if (i_inner != 0 || i_middle != 1 || i_outer != 2 || i_caller != 3)
		print_stack(self, stack);
	assert_int_equal(i_inner, 0);
	assert_int_equal(i_middle, 1);
	assert_int_equal(i_outer, 2);
	assert_int_equal(i_caller, 3);
	/* and on past the test function into cmocka and main, to the end:
	 * every frame in this program's or a library's code */
	assert_true(find_frame(self, stack, 4, "main") > 4);
	if (stack->truncated)
		print_stack(self, stack);
	assert_false(stack->truncated);
}

static void test_cached_for_same_park(void **state)
{
	struct unwind_input input, seen_input;
	struct task_record seen;
	const struct stack *stack;

	(void)state;
	capture_here();
	input = input_of(&captured_rec, captured_stack);
	stack = unwind__thread(self, &input);
	assert_non_null(stack);
	assert_ptr_equal(u64map__get(&self->stacks, captured_rec.tid), stack);

	/* a later snapshot of the same park: no stack bytes, the copy was made */
	seen = captured_rec;
	seen.flags = TASK_REC_USTACK_SEEN;
	seen.ustack_bytes = 0;
	memset(seen.regs, 0, sizeof(seen.regs));
	seen_input = input_of(&seen, NULL);
	assert_ptr_equal(unwind__thread(self, &seen_input), stack);
	assert_ptr_equal(unwind__thread(self, &seen_input), stack);

	/* another park of the same thread: the cached stack is not its stack */
	seen.park_start_ns = PARK_START + 1;
	seen_input = input_of(&seen, NULL);
	assert_null(unwind__thread(self, &seen_input));
	/* nor a thread that has nothing cached */
	seen.park_start_ns = PARK_START;
	seen.tid = captured_rec.tid + 100000;
	seen_input = input_of(&seen, NULL);
	assert_null(unwind__thread(self, &seen_input));
	/* without any flag there is no stack either, unless cached for the park */
	seen.tid = captured_rec.tid;
	seen.flags = 0;
	seen_input = input_of(&seen, NULL);
	assert_ptr_equal(unwind__thread(self, &seen_input), stack);
}

/*
 * Synthetic stacks of frame records [next bp][return address] in a copy of
 * "captured" bytes.  Against this process, whose code the return addresses
 * point into, the unwinder falls back to following the frame pointers: its
 * first pc is a function's entry, where CFI finds a zero return address.
 * Against a process that can't be read (no Dwfl, no image), nothing past
 * the first pc is trusted.
 */
#define FAKE_SP 0x7ffd00000000ULL

static struct task_record fake_rec;
static __u64 fake_stack[1024]; /* 8 KiB, as much as a real capture */

static void put_word(__u64 addr, __u64 value)
{
	fake_stack[(addr - FAKE_SP) / 8] = value;
}

/* An address inside this program's code, i bytes past outer's start. */
static __u64 code(int i)
{
	return (unsigned long)&outer + 1 + i;
}

/* frames: return addresses; a chain of frame records [next bp][ret] */
static void build_fp_chain(const __u64 *rets, int count)
{
	__u64 bp = FAKE_SP + 0x10;

	memset(&fake_rec, 0, sizeof(fake_rec));
	memset(fake_stack, 0, sizeof(fake_stack)); /* [sp]: a zero return address */
	fake_rec.tid = NO_SUCH_PID;
	fake_rec.tgid = NO_SUCH_PID;
	fake_rec.flags = TASK_REC_USTACK;
	fake_rec.park_start_ns = 42;
	fake_rec.ustack_bytes = sizeof(fake_stack);
	fake_rec.regs[PW_REG_SP] = FAKE_SP;
	fake_rec.regs[PW_REG_BP] = bp;
	fake_rec.regs[PW_REG_IP] = (unsigned long)&inner;
	for (int i = 0; i < count; i++) {
		__u64 next = i + 1 < count ? bp + 0x20 : 0;

		put_word(bp, next);
		put_word(bp + 8, rets[i]);
		bp = next;
	}
}

static const struct stack *unwind_fake(void)
{
	struct unwind_input input = input_of(&fake_rec, fake_stack);

	return unwind__thread(self, &input);
}

static void test_frame_pointer_fallback(void **state)
{
	const __u64 rets[] = { code(0x11), code(0x22), code(0x33) };
	const struct stack *stack;

	(void)state;
	build_fp_chain(rets, 3);
	stack = unwind_fake();
	assert_non_null(stack);
	assert_int_equal(stack->depth, 4);
	assert_false(stack->truncated); /* the chain ends with a zero frame pointer */
	assert_true(stack->frames[0].pc == (unsigned long)&inner);
	assert_true(stack->frames[0].lookup_pc == (unsigned long)&inner);
	for (int i = 0; i < 3; i++) {
		assert_true(stack->frames[i + 1].pc == rets[i]);
		assert_true(stack->frames[i + 1].lookup_pc == rets[i] - 1);
	}
}

/* A frame pointer that does not climb ends the walk (no loops), cut. */
static void test_frame_pointer_loop_stops(void **state)
{
	const __u64 rets[] = { code(0x11), code(0x22) };
	const struct stack *stack;

	(void)state;
	build_fp_chain(rets, 2);
	put_word(FAKE_SP + 0x30, FAKE_SP + 0x10); /* second record points back to the first */
	stack = unwind_fake();
	assert_non_null(stack);
	assert_int_equal(stack->depth, 3);
	assert_true(stack->truncated);

	/* a record pointing at itself */
	build_fp_chain(rets, 2);
	put_word(FAKE_SP + 0x10, FAKE_SP + 0x10);
	stack = unwind_fake();
	assert_non_null(stack);
	assert_int_equal(stack->depth, 2);
	assert_true(stack->frames[1].pc == rets[0]);
	assert_true(stack->truncated);
}

static void test_frame_pointer_depth_capped(void **state)
{
	static __u64 rets[200];
	const struct stack *stack;

	(void)state;
	for (int i = 0; i < 200; i++)
		rets[i] = code(0x10 + i);
	/* 200 frame records of 0x20 bytes: all within the 8 KiB copy */
	build_fp_chain(rets, 200);
	stack = unwind_fake();
	assert_non_null(stack);
	assert_int_equal(stack->depth, UNWIND_MAX_DEPTH);
	assert_true(stack->frames[UNWIND_MAX_DEPTH - 1].pc == rets[UNWIND_MAX_DEPTH - 2]);
	assert_true(stack->truncated);
}

/*
 * What a frame-pointer walk through code without frame pointers makes up
 * (0x1, 0x100000000, a pointer into data) is never a frame: the stack
 * stops before it, marked truncated.
 */
static void test_frame_pointer_garbage_stops(void **state)
{
	static const __u64 garbage[] = { 0x1, 0x100000000ULL, (unsigned long)&sink,
					 (unsigned long)fake_stack };
	const struct stack *stack;

	(void)state;
	for (size_t g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++) {
		const __u64 rets[] = { code(0x11), garbage[g], code(0x33) };

		build_fp_chain(rets, 3);
		stack = unwind_fake();
		assert_non_null(stack);
		assert_int_equal(stack->depth, 2);
		assert_true(stack->frames[1].pc == rets[0]);
		assert_true(stack->truncated);
	}
}

/* A process whose image can't be read: its first pc, and nothing after. */
static void test_no_image_stops(void **state)
{
	const __u64 rets[] = { 0x401111, 0x402222, 0x403333 };
	struct procs *others = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	struct unwind_input input;
	const struct stack *stack;
	struct proc *proc;

	(void)state;
	assert_non_null(others);
	build_fp_chain(rets, 3);
	fake_rec.regs[PW_REG_IP] = 0x400100;
	procs__begin(others);
	proc = procs__get(others, NO_SUCH_PID);
	assert_non_null(proc);
	input = input_of(&fake_rec, fake_stack);
	stack = unwind__thread(proc, &input);
	assert_non_null(stack);
	assert_int_equal(stack->depth, 1);
	assert_true(stack->frames[0].pc == 0x400100);
	assert_true(stack->truncated);
	procs__end(others);
	procs__free(others);
}

/* Stacks of threads a snapshot did not look at are dropped when it prunes
 * them (threads__add does, after each process); a process the snapshot
 * did not touch goes at its end, stacks and all. */
static void test_prune(void **state)
{
	static const __u64 rets[] = { 0x401111 };
	struct procs *others = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	struct unwind_input input, seen_input;
	struct task_record seen;
	struct proc *proc;

	(void)state;
	assert_non_null(others);
	build_fp_chain(rets, 1);
	input = input_of(&fake_rec, fake_stack);
	seen = fake_rec;
	seen.flags = TASK_REC_USTACK_SEEN;
	seen.ustack_bytes = 0;
	seen_input = input_of(&seen, NULL);

	/* snapshot 1 unwinds the thread */
	procs__begin(others);
	proc = procs__get(others, NO_SUCH_PID);
	assert_non_null(unwind__thread(proc, &input));
	unwind__prune(proc);
	procs__end(others);
	assert_int_equal(proc->stacks.count, 1);
	/* snapshot 2 uses the cached stack: it survives */
	procs__begin(others);
	proc = procs__get(others, NO_SUCH_PID);
	assert_non_null(unwind__thread(proc, &seen_input));
	unwind__prune(proc);
	procs__end(others);
	assert_int_equal(proc->stacks.count, 1);
	/* snapshot 3 sees the process but not the thread: the stack goes */
	procs__begin(others);
	proc = procs__get(others, NO_SUCH_PID);
	unwind__prune(proc);
	procs__end(others);
	assert_int_equal(proc->stacks.count, 0);
	procs__begin(others);
	proc = procs__get(others, NO_SUCH_PID);
	assert_null(unwind__thread(proc, &seen_input));
	/* unwound again; then a snapshot without the process at all */
	assert_non_null(unwind__thread(proc, &input));
	procs__end(others);
	procs__begin(others);
	procs__end(others);
	proc = procs__get(others, NO_SUCH_PID); /* a new entry, nothing cached */
	assert_int_equal(proc->stacks.count, 0);
	assert_null(unwind__thread(proc, &seen_input));
	procs__free(others);
}

/* Moves this process's file-backed mappings: maps a file, so that the next
 * snapshot's procs__dwfl builds a new session. */
static void *change_mappings(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	void *map;

	assert_true(fd >= 0);
	map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	assert_true(map != MAP_FAILED);
	return map;
}

/*
 * The Dwfl session gets parkwatch's thread callbacks on its first unwind,
 * not before (symbolizing alone never attaches), and a session rebuilt for
 * new mappings gets them again: its unwinds still walk the CFI.
 */
static void test_attach_lazily(void **state)
{
	struct procs *session = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	struct unwind_input input;
	struct proc *proc;
	const struct stack *stack;
	Dwfl *first;
	__u64 maps_hash;
	void *map;

	(void)state;
	assert_non_null(session);
	capture_here();
	input = input_of(&captured_rec, captured_stack);
	procs__begin(session);
	proc = procs__get(session, getpid());
	assert_non_null(proc);
	assert_null(proc->dwfl); /* nothing built until something needs it */
	assert_non_null(symbolize__user(proc, (unsigned long)&middle + 1));
	first = proc->dwfl;
	assert_non_null(first);
	assert_true(dwfl_pid(first) <= 0); /* symbolizing does not attach */
	stack = unwind__thread(proc, &input);
	assert_non_null(stack);
	assert_int_equal(dwfl_pid(proc->dwfl), getpid());
	assert_int_equal(find_frame(proc, stack, 0, "outer"), 2);
	maps_hash = proc->maps_hash;
	procs__end(session);

	/* new mappings: the next snapshot builds a new session, unattached */
	map = change_mappings();
	procs__begin(session);
	proc = procs__get(session, getpid());
	assert_non_null(procs__dwfl(proc));
	assert_true(proc->maps_hash != maps_hash);
	assert_true(dwfl_pid(proc->dwfl) <= 0);
	stack = unwind__thread(proc, &input);
	assert_non_null(stack);
	assert_int_equal(dwfl_pid(proc->dwfl), getpid());
	if (find_frame(proc, stack, 0, "capture_here") != 3)
		print_stack(proc, stack);
	assert_int_equal(find_frame(proc, stack, 0, "inner"), 0);
	assert_int_equal(find_frame(proc, stack, 0, "middle"), 1);
	assert_int_equal(find_frame(proc, stack, 0, "outer"), 2);
	assert_int_equal(find_frame(proc, stack, 0, "capture_here"), 3);
	procs__end(session);
	procs__free(session);
	munmap(map, 4096);
}

/* Registers and bytes are the caller's: the unwinder keeps no pointer to
 * them once it returns, only its own copy of the frames. */
static void test_input_not_kept(void **state)
{
	struct unwind_input input;
	struct task_record rec;
	const struct stack *stack;
	static __u8 bytes[CAPTURE_BYTES];
	__u64 leaf;

	(void)state;
	capture_here();
	rec = captured_rec;
	memcpy(bytes, captured_stack, sizeof(bytes));
	input = input_of(&rec, bytes);
	stack = unwind__thread(self, &input);
	assert_non_null(stack);
	leaf = stack->frames[0].pc;
	assert_null(self->unwinding);
	memset(&rec, 0, sizeof(rec));
	memset(bytes, 0, sizeof(bytes));
	input.captured = false; /* as a later snapshot of the same park */
	input.park_start_ns = PARK_START;
	assert_ptr_equal(unwind__thread(self, &input), stack);
	assert_true(stack->frames[0].pc == leaf);
	assert_int_equal(find_frame(self, stack, 0, "middle"), 1);
}

/*
 * JIT code: a stub in an anonymous executable mapping, which keeps a frame
 * pointer (push rbp; mov rbp, rsp; call *rdi; pop rbp; ret), calls
 * jit_callee, which captures the stack.  Without a perf map the stub is no
 * known code and the stack ends under it; with one naming it, the stub is
 * a frame and the walk goes on through its frame pointer into the C code
 * that called it.  A stub whose frame pointer points below its own stack
 * pointer (lea rbp, [rsp - 0x40]) must not give a caller.
 */
static const __u8 jit_stub_code[] = { 0x55, 0x48, 0x89, 0xe5, 0xff, 0xd7, 0x5d, 0xc3 };
static const __u8 jit_bad_code[] = { 0x55, 0x48, 0x8d, 0x6c, 0x24, 0xc0, 0xff, 0xd7, 0x5d, 0xc3 };

NOINLINE static void jit_callee(void)
{
	capture_here();
	__asm__ volatile("" ::: "memory");
}

NOINLINE static void run_jit(void *code)
{
	((void (*)(void (*)(void)))code)(jit_callee);
	__asm__ volatile("" ::: "memory");
}

static const struct stack *unwind_jit(struct procs *session, struct proc **proc, void *code)
{
	struct unwind_input input;

	run_jit(code);
	procs__begin(session);
	*proc = procs__get(session, getpid());
	assert_non_null(*proc);
	input = input_of(&captured_rec, captured_stack);
	return unwind__thread(*proc, &input);
}

static void write_perf_map(const char *path, void *stub, void *bad)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "%lx %zx jit stub\n%lx %zx jit bad\n", (unsigned long)stub,
		sizeof(jit_stub_code), (unsigned long)bad, sizeof(jit_bad_code));
	assert_int_equal(fclose(f), 0);
}

static bool frame_in(const struct stack *stack, int i, void *code, size_t size)
{
	return stack->frames[i].lookup_pc >= (uintptr_t)code &&
	       stack->frames[i].lookup_pc < (uintptr_t)code + size;
}

static void test_jit_frames(void **state)
{
	struct procs *session = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	__u8 *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *stub = code, *bad = code + 64;
	const struct symbol *symbol;
	const struct stack *stack;
	char path[64], module[32];
	struct proc *proc;
	int i_callee;

	(void)state;
	assert_non_null(session);
	assert_true(code != MAP_FAILED);
	memcpy(stub, jit_stub_code, sizeof(jit_stub_code));
	memcpy(bad, jit_bad_code, sizeof(jit_bad_code));
	assert_int_equal(mprotect(code, 4096, PROT_READ | PROT_EXEC), 0);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	snprintf(module, sizeof(module), "[perf-%d.map]", getpid());
	unlink(path);

	/* no perf map: the stack ends under the unknown code */
	stack = unwind_jit(session, &proc, stub);
	assert_non_null(stack);
	i_callee = find_frame(proc, stack, 0, "jit_callee");
	if (i_callee != stack->depth - 1)
		print_stack(proc, stack);
	assert_true(i_callee > 0);
	assert_int_equal(stack->depth, i_callee + 1);
	procs__end(session);

	/* the perf map names the stub: through it and on to main */
	write_perf_map(path, stub, bad);
	stack = unwind_jit(session, &proc, stub);
	assert_non_null(stack);
	i_callee = find_frame(proc, stack, 0, "jit_callee");
	if (i_callee < 0 || find_frame(proc, stack, 0, "run_jit") != i_callee + 2)
		print_stack(proc, stack);
	assert_true(i_callee > 0 && i_callee + 2 < stack->depth);
	assert_true(frame_in(stack, i_callee + 1, stub, sizeof(jit_stub_code)));
	symbol = symbolize__user(proc, stack->frames[i_callee + 1].lookup_pc);
	assert_string_equal(symbol__function(symbol), "jit stub");
	assert_string_equal(symbol->module, module);
	assert_int_equal(find_frame(proc, stack, 0, "run_jit"), i_callee + 2);
	assert_true(find_frame(proc, stack, i_callee + 2, "main") > i_callee + 2);
	procs__end(session);

	/* a frame pointer that doesn't climb: the JIT frame is the last */
	stack = unwind_jit(session, &proc, bad);
	assert_non_null(stack);
	i_callee = find_frame(proc, stack, 0, "jit_callee");
	if (i_callee < 0 || stack->depth != i_callee + 2)
		print_stack(proc, stack);
	assert_int_equal(stack->depth, i_callee + 2);
	assert_true(frame_in(stack, i_callee + 1, bad, sizeof(jit_bad_code)));
	procs__end(session);

	unlink(path);
	procs__free(session);
	munmap(code, 4096);
}

/* The perf map test_jit_frames writes, removed even when it fails. */
static int remove_perf_map(void **state)
{
	char path[64];

	(void)state;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_is_sane),
		cmocka_unit_test(test_unwind_captured_stack),
		cmocka_unit_test(test_cached_for_same_park),
		cmocka_unit_test(test_frame_pointer_fallback),
		cmocka_unit_test(test_frame_pointer_loop_stops),
		cmocka_unit_test(test_frame_pointer_depth_capped),
		cmocka_unit_test(test_frame_pointer_garbage_stops),
		cmocka_unit_test(test_no_image_stops),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_attach_lazily),
		cmocka_unit_test(test_input_not_kept),
		cmocka_unit_test_teardown(test_jit_frames, remove_perf_map),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
