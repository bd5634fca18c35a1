// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tier 2: the snapshot.  A sleepable task iterator, run by the daemon when it
 * wants a picture, visits the watched threads and writes one task_record per
 * thread.  For threads parked at least min_park_ns it copies the user
 * registers and the top of the user stack, once per park episode, for
 * userspace to unwind with DWARF CFI.  Threads that parked before parkwatch
 * started get an estimated park start from the scheduler's own bookkeeping.
 *
 * The maps, filter settings and counters it shares with the tracker are
 * the tracker's (shared.bpf.h): the two objects are linked into one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "park.h"
#include "wait_ctx.bpf.h"
#include "kernel.bpf.h"
#include "shared.bpf.h"
#include "filter.bpf.h"

const volatile __u64 min_park_ns = 1000000000ULL;
const volatile bool want_kernel_stacks = false;

struct snapshot_scratch {
	struct task_record rec;
	__u64 kstack[PARK_KSTACK_DEPTH];
	__u8 ustack[PARK_USTACK_MAX_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snapshot_scratch);
} scratch SEC(".maps");

static long vma_end_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	*(__u64 *)data = vma->vm_end;
	return 0;
}

/* The iterator still visits threads that have exited and not been reaped. */
static __always_inline bool task_exited(struct task_struct *task)
{
	return task->exit_state || (task->__state & TASK_DEAD);
}

/*
 * When a task last left the CPU, in the scheduler's rq clock: it arrived at
 * last_arrival and ran sum_exec_runtime - prev_sum_exec_runtime since.  The
 * rq clock is the same on every CPU (unlike se.exec_start's task clock,
 * which leaves out each CPU's own steal and IRQ time).
 */
static __always_inline __u64 left_cpu_clock(struct task_struct *task)
{
	return task->sched_info.last_arrival +
	       (task->se.sum_exec_runtime - task->se.prev_sum_exec_runtime);
}

/*
 * Park start of a thread asleep since before parkwatch, mapped to monotonic
 * time through the iterating task, which is on the CPU now (its runtime is
 * refreshed at least every tick).
 */
static __always_inline __u64 estimate_park_start(struct task_struct *task, __u64 now_ns)
{
	__u64 clock_now = left_cpu_clock(bpf_get_current_task_btf());
	__u64 left_cpu = left_cpu_clock(task);
	__u64 age_ns = clock_now > left_cpu ? clock_now - left_cpu : 0;

	return age_ns < now_ns ? now_ns - age_ns : 1;
}

static __always_inline void copy_user_regs(struct pt_regs *regs, __u64 *out)
{
	out[PW_REG_AX] = regs->ax;
	out[PW_REG_DX] = regs->dx;
	out[PW_REG_CX] = regs->cx;
	out[PW_REG_BX] = regs->bx;
	out[PW_REG_SI] = regs->si;
	out[PW_REG_DI] = regs->di;
	out[PW_REG_BP] = regs->bp;
	out[PW_REG_SP] = regs->sp;
	out[PW_REG_R8] = regs->r8;
	out[PW_REG_R9] = regs->r9;
	out[PW_REG_R10] = regs->r10;
	out[PW_REG_R11] = regs->r11;
	out[PW_REG_R12] = regs->r12;
	out[PW_REG_R13] = regs->r13;
	out[PW_REG_R14] = regs->r14;
	out[PW_REG_R15] = regs->r15;
	out[PW_REG_IP] = regs->ip;
}

/*
 * Copy the user stack from sp up to the end of its mapping, at most the
 * record's room.  A thread whose thread pointer lies in its stack's mapping
 * (glibc's threads: struct pthread, the TCB, tops the stack) has no frame
 * at or above it, so the copy stops there: that is half of a small
 * thread's copy.  Returns the bytes copied, 0 on failure (counted).
 */
static __always_inline __u32 copy_user_stack(struct task_struct *task, __u64 sp, __u8 *dst)
{
	__u64 thread_pointer = task->thread.fsbase;
	__u64 vma_end = 0;
	__u64 len;

	if (bpf_find_vma(task, sp, vma_end_cb, &vma_end, 0) || vma_end <= sp) {
		GAVE_UP(stack_copy_failed);
		return 0;
	}
	if (thread_pointer > sp && thread_pointer < vma_end)
		vma_end = thread_pointer;
	len = vma_end - sp;
	if (len > PARK_USTACK_MAX_BYTES)
		len = PARK_USTACK_MAX_BYTES;
	if (bpf_copy_from_user_task(dst, len, (void *)sp, task, 0)) {
		GAVE_UP(stack_copy_failed);
		return 0;
	}
	return len;
}

/* More than the kernel has: v2, each v1 controller, named v1 hierarchies. */
#define HIERARCHIES_MAX 32

/*
 * The ids of the cgroups a task is in, one per hierarchy (its css_set's
 * links, in their fixed order), hashed.  Cgroup ids are never reused, so
 * the key changes exactly when the task moves; a rename changes no id,
 * and userspace reads the paths again now and then for that.  0 when
 * the links can't be read.
 */
static __always_inline __u64 cgroups_key(struct task_struct *task)
{
	struct css_set *cset = BPF_CORE_READ(task, cgroups);
	struct list_head *head, *node;
	__u64 key = 0xcbf29ce484222325ULL;

	if (!cset)
		return 0;
	head = &cset->cgrp_links;
	node = BPF_CORE_READ(cset, cgrp_links.next);
	for (int i = 0; i < HIERARCHIES_MAX; i++) {
		struct cgrp_cset_link *link;

		if (!node || node == head)
			return key;
		link = (void *)node - bpf_core_field_offset(struct cgrp_cset_link, cgrp_link);
		key = (key ^ BPF_CORE_READ(link, cgrp, kn, id)) * 0x100000001b3ULL;
		node = BPF_CORE_READ(node, next);
	}
	return 0;
}

/* What userspace would read from /proc/PID/status and /proc/PID/cgroup. */
static __always_inline void fill_process_ids(struct task_struct *task, struct task_record *rec)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);

	rec->uids[0] = BPF_CORE_READ(cred, uid.val);
	rec->uids[1] = BPF_CORE_READ(cred, euid.val);
	rec->uids[2] = BPF_CORE_READ(cred, suid.val);
	rec->uids[3] = BPF_CORE_READ(cred, fsuid.val);
	rec->cgroups_key = cgroups_key(task);
}

SEC("iter.s/task")
int park_snapshot(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct snapshot_scratch *scratch_buf;
	struct task_record *rec;
	struct park_state *state;
	struct pt_regs *regs;
	__u32 zero = 0, task_state;
	__u64 park_start_ns;
	long kstack_bytes = 0, written;
	__u32 ustack_bytes = 0;

	if (!task || task_exited(task) || !allow_task(task))
		return 0;
	scratch_buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!scratch_buf) {
		GAVE_UP(unexpected);
		return 0;
	}
	rec = &scratch_buf->rec;
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->tid = task->pid;
	rec->tgid = task->tgid;
	/* two plain loads from the trusted task, not a string copy helper */
	__builtin_memcpy(rec->comm, task->comm, sizeof(rec->comm));
	task_state = task->__state;
	rec->state = task_state;
	rec->now_ns = bpf_ktime_get_ns();
	rec->csw = task->nvcsw + task->nivcsw;
	rec->leader_start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	if (task->pid == task->tgid)
		fill_process_ids(task, rec);

	if (!(task_state & PARK_TASK_SLEEP_MASK)) {
		if (task->on_cpu)
			rec->flags |= TASK_REC_ON_CPU;
		state = bpf_task_storage_get(&park_states, task, NULL, 0);
		if (state)
			rec->counts = state->counts;
		if (bpf_seq_write(seq, rec, sizeof(*rec)))
			GAVE_UP(records_rewritten);
		return 0;
	}

	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	wait_ctx__from_regs(task, regs, task_state, &rec->wait);
	state = bpf_task_storage_get(&park_states, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (state)
		rec->counts = state->counts;
	else
		GAVE_UP(dropped_no_storage); /* its park start is estimated at every snapshot */
	if (state && state->park_start_ns) {
		park_start_ns = state->park_start_ns;
		if (state->flags & PARK_F_ESTIMATED)
			rec->flags |= TASK_REC_ESTIMATED;
	} else {
		park_start_ns = estimate_park_start(task, rec->now_ns);
		rec->flags |= TASK_REC_ESTIMATED;
		if (state) {
			state->park_start_ns = park_start_ns;
			state->flags = PARK_F_ESTIMATED;
			state->reason = rec->wait.reason;
		}
	}
	rec->park_start_ns = park_start_ns;

	if (want_kernel_stacks) {
		kstack_bytes = bpf_get_task_stack(task, scratch_buf->kstack,
						  sizeof(scratch_buf->kstack), 0);
		if (kstack_bytes < 0) {
			GAVE_UP(kstack_failed);
			kstack_bytes = 0;
		}
		rec->kstack_depth = kstack_bytes / sizeof(__u64);
	}

	if (rec->now_ns - park_start_ns >= min_park_ns) {
		if (state && state->captured_start_ns == park_start_ns) {
			rec->flags |= TASK_REC_USTACK_SEEN;
		} else {
			copy_user_regs(regs, rec->regs);
			ustack_bytes = copy_user_stack(task, rec->regs[PW_REG_SP], scratch_buf->ustack);
			/* the copy is only good if the thread slept through it */
			if (ustack_bytes && task->__state == task_state &&
			    (!state || state->park_start_ns == park_start_ns)) {
				rec->flags |= TASK_REC_USTACK;
				rec->ustack_bytes = ustack_bytes;
			} else if (ustack_bytes) {
				GAVE_UP(stack_copy_raced);
				rec->flags |= TASK_REC_USTACK_RACED;
				ustack_bytes = 0;
			}
		}
	}

	/*
	 * A record that overflows the iterator's buffer is thrown away and this
	 * program runs again for the same task (counted): only a stack that was
	 * really written counts as captured for this park.
	 */
	written = bpf_seq_write(seq, rec, sizeof(*rec));
	/* bounds the verifier can see, on locals the compiler won't reload */
	barrier_var(kstack_bytes);
	if (!written && kstack_bytes > 0 && kstack_bytes <= sizeof(scratch_buf->kstack))
		written = bpf_seq_write(seq, scratch_buf->kstack, kstack_bytes & ~7L);
	barrier_var(ustack_bytes);
	if (!written && ustack_bytes > 0 && ustack_bytes <= PARK_USTACK_MAX_BYTES) {
		written = bpf_seq_write(seq, scratch_buf->ustack, ustack_bytes);
		if (!written && state)
			state->captured_start_ns = park_start_ns;
	}
	if (written)
		GAVE_UP(records_rewritten);
	return 0;
}
