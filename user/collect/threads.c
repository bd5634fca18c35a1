// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Threads from a snapshot (threads.h). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include "collect/placement.h"
#include "collect/threads.h"
#include "model/classify.h"
#include "proc/fds.h"
#include "proc/symbolize.h"
#include "proc/tailcall.h"
#include "proc/unwind.h"
#include "util/procfs.h"
#include "syscall_nrs.h" /* PW_NR_*, generated from asm/unistd_64.h */

/* an unwound stack with the tail-call frames told between its frames */
#define STACK_MAX_FRAMES (2 * UNWIND_MAX_DEPTH)

/* A sample's place in pid, tid order, the ids copied out of its record:
 * the records lie kilobytes apart, so reading them while sorting would
 * miss the cache at every step. */
struct sample_order {
	__u32 tgid;
	__u32 tid;
	const struct thread_sample *sample;
};

#define DIGIT_BITS 11
#define DIGITS 4 /* two per id: pids stay below 2^22 (the kernel's PID_MAX_LIMIT) */

static unsigned int digit_of(const struct sample_order *item, int d)
{
	__u32 id = d < DIGITS / 2 ? item->tid : item->tgid;

	return (id >> (d % 2 * DIGIT_BITS)) & ((1U << DIGIT_BITS) - 1);
}

/*
 * Sorts by pid, then tid: a radix sort, least significant digit first, each
 * pass stable.  A qsort of ten thousand threads was a tenth of a daemon's
 * picture.  *items is replaced by a block of the same size; 0 or -ENOMEM.
 */
static int sort_by_pid_tid(struct sample_order **items, size_t count)
{
	struct sample_order *from = *items, *to = malloc((count ? count : 1) * sizeof(*to));
	size_t at[1U << DIGIT_BITS];

	if (!to)
		return -ENOMEM;
	for (int d = 0; d < DIGITS; d++) {
		struct sample_order *swap;
		size_t sum = 0;

		memset(at, 0, sizeof(at));
		for (size_t i = 0; i < count; i++)
			at[digit_of(&from[i], d)]++;
		if (!count || at[digit_of(&from[0], d)] == count)
			continue; /* one digit for all: the pass would change nothing */
		for (size_t b = 0; b < sizeof(at) / sizeof(at[0]); b++) {
			size_t here = at[b];

			at[b] = sum;
			sum += here;
		}
		for (size_t i = 0; i < count; i++)
			to[at[digit_of(&from[i], d)]++] = from[i];
		swap = from;
		from = to;
		to = swap;
	}
	free(to);
	*items = from;
	return 0;
}

/*
 * The frames that tail calls took off the machine stack between frame i
 * (the callee) and frame i + 1 (its caller), appended to frames and
 * symbols.  Here and not in the symbol cache: it takes both frames.
 * Returns the new depth, or -1 when out of memory.
 */
static int add_tail_calls(struct proc *proc, const struct stack *stack, int i,
			  const struct symbol *callee, struct stack_frame *frames,
			  const struct symbol **symbols, int depth)
{
	__u64 pcs[TAILCALL_MAX_FRAMES];
	int count;

	if (i + 1 >= stack->depth || !callee->function_entry)
		return depth;
	count = tailcall__frames(proc, stack->frames[i + 1].pc, callee->function_entry, pcs,
				 TAILCALL_MAX_FRAMES);
	for (int j = 0; j < count && depth < STACK_MAX_FRAMES - 1; j++) {
		symbols[depth] = symbolize__tail_call(proc, pcs[j] - 1);
		if (!symbols[depth])
			return -1;
		frames[depth++] = (struct stack_frame){ .pc = pcs[j], .lookup_pc = pcs[j] - 1 };
	}
	return depth;
}

/*
 * A process's unwound stacks already made picture stacks, by their frames:
 * threads parked the same way are symbolized, and their tail calls found,
 * once.
 */
struct stack_memo {
	struct u64map by_frames;    /* hash of the frames -> first stack_memo_entry */
};

struct stack_memo_entry {
	struct stack_memo_entry *next; /* same hash */
	const struct stack *unwound;   /* alive while its process is being added */
	const struct pw_stack *stack;
};

static void free_memo_chain(void *value)
{
	for (struct stack_memo_entry *entry = value, *next; entry; entry = next) {
		next = entry->next;
		free(entry);
	}
}

static bool same_frames(const struct stack *a, const struct stack *b)
{
	return a->depth == b->depth && a->truncated == b->truncated &&
	       !memcmp(a->frames, b->frames, a->depth * sizeof(a->frames[0]));
}

/* The picture's stack for an unwound one, symbolized afresh. */
static const struct pw_stack *symbolize_stack(struct pw_picture *picture, struct proc *proc,
					      const struct stack *stack)
{
	const struct symbol *symbols[STACK_MAX_FRAMES];
	struct stack_frame frames[STACK_MAX_FRAMES];
	struct pw_stack *interned;
	int depth = 0;

	for (int i = 0; i < stack->depth && depth < STACK_MAX_FRAMES; i++) {
		symbols[depth] = symbolize__user(proc, stack->frames[i].lookup_pc);
		if (!symbols[depth])
			return NULL;
		frames[depth] = stack->frames[i];
		depth = add_tail_calls(proc, stack, i, symbols[depth], frames, symbols, depth + 1);
		if (depth < 0)
			return NULL;
	}
	interned = picture__intern_stack(picture, proc->pid, frames, symbols, depth, depth,
					 stack->truncated);
	if (interned)
		classify__stack_futex(interned);
	return interned;
}

/* The picture's stack for an unwound one, symbolized once per distinct stack. */
static const struct pw_stack *picture_stack(struct pw_picture *picture, struct proc *proc,
					    struct stack_memo *memo, const struct stack *stack)
{
	__u64 key = stack->hash;
	struct stack_memo_entry *first = u64map__get(&memo->by_frames, key), *entry;

	for (entry = first; entry; entry = entry->next)
		if (same_frames(entry->unwound, stack))
			return entry->stack;
	entry = malloc(sizeof(*entry));
	if (!entry)
		return NULL;
	*entry = (struct stack_memo_entry){ .next = first, .unwound = stack };
	entry->stack = symbolize_stack(picture, proc, stack);
	if (!entry->stack || u64map__put(&memo->by_frames, key, entry)) {
		free(entry);
		return NULL;
	}
	return entry->stack;
}

/* Whether an IO syscall waits to take data in (or a connection): then
 * the other end of a pipe is its writer. */
static bool syscall_reads(long nr)
{
	switch (nr) {
	case PW_NR_read:
	case PW_NR_pread64:
	case PW_NR_readv:
	case PW_NR_recvfrom:
	case PW_NR_recvmsg:
	case PW_NR_recvmmsg:
	case PW_NR_accept:
	case PW_NR_accept4:
		return true;
	default:
		return false;
	}
}

/*
 * The fd a thread in poll(2) or ppoll(2) on a single pollfd waits on, and
 * whether for input; -1 for several fds, or when it has moved on.
 */
static int single_polled_fd(struct proc *proc, const struct pw_unit *unit,
			    const struct wait_ctx *wait, bool *reading)
{
	__u64 count, pollfd;

	if ((wait->syscall_nr != PW_NR_poll && wait->syscall_nr != PW_NR_ppoll) ||
	    fds__syscall_arg(unit->pid, (pid_t)unit->id, wait->syscall_nr, wait->arg0, 1, &count) ||
	    count != 1 || !procs__read_word(proc, wait->arg0, &pollfd))
		return -1;
	/* struct pollfd { int fd; short events, revents; } */
	*reading = (pollfd >> 32) & POLLIN;
	return (int)(__u32)pollfd;
}

/* An IO or epoll wait's fd (the syscall's first argument), or a poll's on a
 * single fd, as what it waits on.  0 or -ENOMEM; an fd closed meanwhile is
 * left unknown. */
static int describe_fd(struct pw_picture *picture, struct proc *proc, struct fds *fds,
		       const struct thread_sample *sample, struct pw_unit *unit)
{
	const struct wait_ctx *wait = &sample->rec->wait;
	bool reading = syscall_reads(wait->syscall_nr);
	struct pw_fd *desc;
	int fd = -1, err;

	if (wait->reason == PARK_REASON_IO || wait->reason == PARK_REASON_EPOLL)
		fd = wait->arg0 > INT_MAX ? -1 : (int)wait->arg0;
	else if (wait->reason == PARK_REASON_POLL)
		fd = single_polled_fd(proc, unit, wait, &reading);
	if (fd < 0)
		return 0;
	err = fds__describe(fds, picture, unit->pid, (pid_t)unit->id, fd, reading, &desc);
	if (err)
		return err == -ENOMEM ? err : 0;
	unit->blocked_on.kind = PW_OBJECT_FD;
	unit->blocked_on.fd = desc;
	return 0;
}

static int classify_unit(struct pw_picture *picture, struct proc *proc, struct fds *fds,
			 const struct thread_sample *sample, struct pw_unit *unit)
{
	enum fd_kind fd_kind = FD_KIND_UNKNOWN;

	if (sample->rec->wait.reason == PARK_REASON_IO)
		fd_kind = classify__fd_of(sample->rec->tgid, (int)sample->rec->wait.arg0);
	classify__wait(&sample->rec->wait, unit->stack, fd_kind, &unit->wait);
	return describe_fd(picture, proc, fds, sample, unit);
}

/* What adding one process's threads keeps from one thread to the next. */
struct process_memos {
	struct unwind_memo unwound;
	struct stack_memo stacks;
};

static int fill_unit(struct pw_picture *picture, struct proc *proc, struct fds *fds,
		     struct process_memos *memos, const struct thread_sample *sample,
		     struct pw_unit *unit)
{
	const struct task_record *rec = sample->rec;
	struct unwind_input thread = {
		.tid = (pid_t)rec->tid,
		.park_start_ns = rec->park_start_ns,
		.captured = rec->flags & TASK_REC_USTACK,
		.regs = rec->regs,
		.ustack = sample->ustack,
		.ustack_bytes = rec->ustack_bytes,
		.memo = &memos->unwound,
	};
	const struct stack *stack;

	unit->kind = PW_UNIT_THREAD;
	unit->pid = (pid_t)rec->tgid;
	unit->id = rec->tid;
	memcpy(unit->comm, rec->comm, sizeof(unit->comm));
	unit->comm[sizeof(unit->comm) - 1] = '\0';
	unit->state = classify__state(rec->state, rec->flags & TASK_REC_ON_CPU, &unit->state_name);
	if (sample->kstack && rec->kstack_depth) {
		unit->kstack = picture__copy(picture, sample->kstack,
					     rec->kstack_depth * sizeof(*sample->kstack));
		if (!unit->kstack)
			return -ENOMEM;
		unit->kstack_depth = rec->kstack_depth;
	}
	unit->parked = rec->state & PARK_TASK_SLEEP_MASK;
	if (!unit->parked)
		return 0;
	unit->park_start_ns = rec->park_start_ns;
	unit->park_start_estimated = rec->flags & TASK_REC_ESTIMATED;
	unit->park_ns = rec->now_ns > rec->park_start_ns ? rec->now_ns - rec->park_start_ns : 0;
	unit->stack_raced = rec->flags & TASK_REC_USTACK_RACED;
	stack = unwind__thread(proc, &thread);
	if (stack) {
		unit->stack = picture_stack(picture, proc, &memos->stacks, stack);
		if (!unit->stack)
			return -ENOMEM;
	}
	return classify_unit(picture, proc, fds, sample, unit);
}

static int add_process(struct pw_picture *picture, struct proc *proc,
		       const struct task_record *main_rec)
{
	pid_t pid = proc->pid;
	struct pw_process *summary = picture__add_process(picture, pid);

	if (!summary)
		return -ENOMEM;
	summary->start_ticks = proc->start_ticks;
	summary->unit_kind = PW_UNIT_THREAD;
	/* the process is named after its main thread */
	if (main_rec)
		memcpy(summary->comm, main_rec->comm, sizeof(summary->comm));
	summary->comm[sizeof(summary->comm) - 1] = '\0';
	summary->exe = procs__exe_path(proc);
	return placement__fill(picture, summary, proc, main_rec);
}

int threads__add(struct pw_picture *picture, const struct snapshot *snap, struct procs *procs,
		 struct fdpeers *peers, pid_t skip_pid, struct budget *budget)
{
	struct sample_order *sorted = calloc(snap->count ? snap->count : 1, sizeof(*sorted));
	struct fds *fds = fds__new(peers);
	struct process_memos memos = { 0 };
	size_t count = 0;
	int err = 0;

	if (!sorted || !fds) {
		free(sorted);
		fds__free(fds);
		return -ENOMEM;
	}
	for (size_t i = 0; i < snap->count; i++)
		if ((pid_t)snap->threads[i].rec->tgid != skip_pid || !skip_pid)
			sorted[count++] = (struct sample_order){ snap->threads[i].rec->tgid,
								 snap->threads[i].rec->tid,
								 &snap->threads[i] };
	if (sort_by_pid_tid(&sorted, count)) {
		free(sorted);
		fds__free(fds);
		return -ENOMEM;
	}
	for (size_t first = 0, end; first < count && !err; first = end) {
		pid_t pid = (pid_t)sorted[first].tgid;
		const struct task_record *main_rec = sorted[first].sample->rec;
		struct proc *proc = procs__get_started(procs, pid,
						       sorted[first].sample->rec->leader_start_ns);
		struct pw_unit *units;
		bool new_stacks = false;

		for (end = first; end < count && (pid_t)sorted[end].tgid == pid; end++) {
			if ((pid_t)sorted[end].tid == pid)
				main_rec = sorted[end].sample->rec;
			new_stacks |= sorted[end].sample->rec->flags & TASK_REC_USTACK;
		}
		if (proc && !new_stacks)
			procs__trust_mappings(proc);
		units = picture__add_units(picture, end - first);
		if (!proc || !units || (err = add_process(picture, proc, main_rec))) {
			err = -ENOMEM;
			break;
		}
		for (size_t i = first; i < end && !err; i++) {
			if (budget__spent(budget)) {
				/* the ones not reached are left out */
				picture->unit_count -= end - i;
				break;
			}
			err = fill_unit(picture, proc, fds, &memos, sorted[i].sample,
					&units[i - first]);
		}
		/* stacks compare by pc: another process's are not the same */
		unwind_memo__clear(&memos.unwound);
		u64map__free_all(&memos.stacks.by_frames, free_memo_chain);
		unwind__prune(proc);
		if (budget__spent(budget))
			break;
	}
	if (!err)
		err = fds__find_peers(fds, picture);
	fds__free(fds);
	free(sorted);
	return err;
}
