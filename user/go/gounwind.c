// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * One runtime.g as read (gounwind.h): decoding its fields, telling a
 * consistent read from one made mid-change, walking its stack (by the
 * pclntab's sp deltas, as the runtime does, else by frame pointers), and
 * the struct goroutine it becomes.  The process keeps
 * running, so every pointer is checked before it is followed.
 */
#include <limits.h>
#include <string.h>
#include "go/gomem.h"
#include "go/gounwind.h"

#define GO_STACK_WINDOW 4096        /* stack bytes copied per g; deeper frames are read one by one */
#define GO_MAX_STACK (1ULL << 30)   /* the runtime's maxstacksize on 64-bit */
#define GO_SCAN_BIT 0x1000

/*
 * The registers a walk starts from, in a copy of the g from offset lo on.
 * A goroutine in a syscall left its stack at g.syscallsp / g.syscallpc,
 * where the runtime's tracebacks start it too (sched is saved there as
 * well, but may be reused meanwhile); its bp, not saved before Go 1.23,
 * is left unknown.  Else the sched registers.  Returns in_syscall.
 */
static bool start_regs(const struct go_layout *l, int lo, const __u8 *raw, __u32 status,
		       __u64 *sp, __u64 *pc, __u64 *bp)
{
	if (status == GO_STATUS_SYSCALL && l->syscallsp >= 0 && l->syscallpc >= 0 &&
	    (*sp = u64_at(raw, l->syscallsp - lo))) {
		*pc = u64_at(raw, l->syscallpc - lo);
		*bp = 0;
		return true;
	}
	*sp = u64_at(raw, l->sched_sp - lo);
	*pc = u64_at(raw, l->sched_pc - lo);
	*bp = u64_at(raw, l->sched_bp - lo);
	return false;
}

void gounwind__decode(const struct go_layout *l, __u64 addr, const __u8 *raw, struct graw *g)
{
	g->addr = addr;
	g->status = u32_at(raw, l->atomicstatus) & ~GO_SCAN_BIT;
	g->goid = u64_at(raw, l->goid);
	g->in_syscall = start_regs(l, 0, raw, g->status, &g->sp, &g->pc, &g->bp);
	g->lo = u64_at(raw, l->stack_lo);
	g->hi = u64_at(raw, l->stack_hi);
	g->gopc = u64_at(raw, l->gopc);
	g->startpc = u64_at(raw, l->startpc);
	g->waitsince = (__s64)u64_at(raw, l->waitsince);
	g->reason = raw[l->waitreason];
	g->parent = l->parent_goid >= 0 ? u64_at(raw, l->parent_goid) : 0;
	g->lockedm = l->lockedm >= 0 ? u64_at(raw, l->lockedm) : 0;
	g->m = l->m >= 0 ? u64_at(raw, l->m) : 0;
	g->waiting = l->waiting >= 0 ? u64_at(raw, l->waiting) : 0;
	g->switches = l->tracking_seq >= 0 ? raw[l->tracking_seq] : -1;
}

/* Parked, runnable or preempted: its sched registers describe its stack. */
bool gounwind__has_saved_stack(__u32 status)
{
	return status == GO_STATUS_WAITING || status == GO_STATUS_RUNNABLE ||
	       status == GO_STATUS_PREEMPTED || status == GO_STATUS_LEAKED;
}

/* Its stack can be walked: saved registers, or a syscall's. */
bool gounwind__has_stack(const struct graw *g)
{
	return gounwind__has_saved_stack(g->status) || g->in_syscall;
}

/* Fields every live g has, whatever its state; false means we read it
 * mid-change (or it was never a g). */
bool gounwind__consistent(const struct goproc *gp, const struct graw *g)
{
	if (!g->goid || g->goid > (1ULL << 62))
		return false;
	if (!user_ptr(g->lo) || g->hi <= g->lo || g->hi - g->lo > GO_MAX_STACK ||
	    g->hi > USER_ADDR_END)
		return false;
	if (!gounwind__has_stack(g))
		return true;
	return g->sp >= g->lo && g->sp < g->hi && !(g->sp & 7) && in_range(&gp->text, g->pc);
}

/* Fields that must not have moved between the first read and the stack's:
 * compared in the header copy, which starts at offset lo of the g. */
bool gounwind__same_header(const struct go_layout *l, int lo, const struct graw *g, const __u8 *raw)
{
	__u32 status = u32_at(raw, l->atomicstatus - lo) & ~GO_SCAN_BIT;
	__u64 sp, pc, bp;
	bool in_syscall = start_regs(l, lo, raw, status, &sp, &pc, &bp);

	return status == g->status && u64_at(raw, l->goid - lo) == g->goid &&
	       in_syscall == g->in_syscall && sp == g->sp && pc == g->pc && bp == g->bp;
}

/* The word at addr of g's stack: from the copied window, else (a deep
 * stack) from gp's far window, read GO_FAR_WINDOW bytes at a time. */
static bool stack_word(struct goproc *gp, const struct graw *g, const struct stack_view *view,
		       __u64 addr, __u64 *word)
{
	__u64 len;

	if (addr >= view->base && addr - view->base + 8 <= view->len) {
		memcpy(word, view->buf + (addr - view->base), 8);
		return true;
	}
	if (addr < gp->far_base || addr - gp->far_base + 8 > gp->far_len) {
		if (addr >= g->hi || g->hi - addr < 8)
			return false;
		len = g->hi - addr < GO_FAR_WINDOW ? g->hi - addr : GO_FAR_WINDOW;
		gp->far_len = 0;
		if (gomem__read(gp, addr, gp->far_buf, len))
			return gomem__read(gp, addr, word, 8) == 0;
		gp->far_base = addr;
		gp->far_len = len;
	}
	memcpy(word, gp->far_buf + (addr - gp->far_base), 8);
	return true;
}

static bool is_exact(const __u64 *exact, int i)
{
	return i < GO_EXACT_FRAMES && exact[i / 64] >> (i % 64) & 1;
}

static void mark_exact(__u64 *exact, int i)
{
	if (i < GO_EXACT_FRAMES)
		exact[i / 64] |= 1ULL << (i % 64);
}

/*
 * Frame pointers from the saved registers: [bp] is the caller's bp,
 * [bp + 8] the return address into it.  Each frame must lie in the g's
 * stack above sp and above the previous one, and each pc in the text: a
 * walk that leaves those bounds stops there, marked truncated.
 */
static int walk_frame_pointers(struct goproc *gp, const struct graw *g,
			       const struct stack_view *view, __u64 *pcs, __u64 *exact,
			       bool *truncated)
{
	__u64 fp = g->bp, ret, next;
	int depth = 1;

	while (fp) {
		if (depth >= GO_MAX_DEPTH || fp & 7 || fp < g->sp || fp > g->hi - 16 ||
		    !stack_word(gp, g, view, fp, &next) || !stack_word(gp, g, view, fp + 8, &ret)) {
			*truncated = true;
			break;
		}
		if (!ret)
			break;
		if (!in_range(&gp->text, ret)) {
			*truncated = true;
			break;
		}
		/* a fault's caller resumes at the faulting pc itself */
		if (in_range(&gp->sigpanic, pcs[depth - 1]))
			mark_exact(exact, depth);
		pcs[depth++] = ret;
		if (!next)
			break; /* the goroutine's first frame */
		if (next <= fp) {
			*truncated = true;
			break;
		}
		fp = next;
	}
	return depth;
}

/*
 * The pcsp answer for pc (a file address), remembered.  Like the runtime,
 * pc itself is looked up, return address or not: the delta at a return
 * address is the one at its call, and at an exact pc (after an injected
 * call: sigpanic, asyncPreempt) pc - 1 would be the wrong instruction.
 * The compiler keeps a return address inside its function (a call at the
 * end is followed by a trap); should one sit at the next function's
 * entry all the same, its call at pc - 1 is what counts.
 */
static enum sp_answer frame_delta(struct goproc *gp, __u64 pc, bool ret_addr, __u32 *delta)
{
	__u64 key = pc << 1 | ret_addr;
	struct sp_cache_entry *e =
		&gp->sp_cache[(key * 0x9e3779b97f4a7c15ULL) >> (64 - GO_SP_CACHE_BITS)];
	struct pclntab_func func;
	int err;

	if (e->pc == key && pc) {
		*delta = e->delta;
		return e->answer;
	}
	*delta = 0;
	err = pclntab__find(&gp->pcln, pc, &func);
	if (!err && ret_addr && func.entry == pc)
		err = pclntab__find(&gp->pcln, --pc, &func);
	if (err)
		e->answer = SP_BAD;
	else if (func.flag & (PCLNTAB_FLAG_TOPFRAME | PCLNTAB_FLAG_SPWRITE))
		e->answer = SP_STOP;
	else
		e->answer = pclntab__spdelta(&gp->pcln, &func, pc, delta) ? SP_BAD : SP_FRAME;
	e->pc = key;
	e->delta = *delta;
	return e->answer;
}

/*
 * The runtime's own way (gentraceback): the function holding pc says, in
 * its pcsp table, how far sp is below where the call into it left it, so
 * the return address is the word at sp + delta and the caller's sp is 8
 * above that.  This finds the callers of frameless functions, which push
 * no frame pointer.  The walk stops after a TOPFRAME function
 * (runtime.goexit: its pc is the last one kept), or an SPWRITE one, as
 * the runtime's does; a pc in no function, a delta the table doesn't
 * give, or a slot outside the g's stack stops it marked truncated.
 */
static int walk_pcsp(struct goproc *gp, const struct graw *g, const struct stack_view *view,
		     __u64 *pcs, __u64 *exact, bool *truncated)
{
	__u64 pc = g->pc, sp = g->sp, ret;
	int depth = 1;

	for (;;) {
		bool at_pc = depth == 1 || is_exact(exact, depth - 1);
		__u32 delta;
		enum sp_answer answer = frame_delta(gp, pc - gp->bias, !at_pc, &delta);

		if (answer == SP_STOP)
			break;
		if (answer == SP_BAD || delta > g->hi - sp ||
		    g->hi - sp - delta < 8 || depth >= GO_MAX_DEPTH ||
		    !stack_word(gp, g, view, sp + delta, &ret)) {
			*truncated = true;
			break;
		}
		if (!ret)
			break;
		if (!in_range(&gp->text, ret)) {
			*truncated = true;
			break;
		}
		/* a fault's caller resumes at the faulting pc itself */
		if (in_range(&gp->sigpanic, pc))
			mark_exact(exact, depth);
		pcs[depth++] = ret;
		pc = ret;
		sp += delta + 8;
	}
	return depth;
}

/* pcs[0] is the saved pc, the rest return addresses (exact where marked);
 * the walk by pcsp when the binary's pclntab is usable. */
int gounwind__walk_stack(struct goproc *gp, const struct graw *g, const struct stack_view *view,
		     __u64 *pcs, __u64 *exact, bool *truncated)
{
	__u64 ret;

	memset(exact, 0, GO_EXACT_FRAMES / 8);
	*truncated = false;
	gp->far_len = 0;            /* the process ran since the last walk */
	pcs[0] = g->pc;
	if (g->pc == g->startpc) {
		/* never ran: gostartcall left goexit's pc at sp, and no frame yet */
		mark_exact(exact, 0);
		if (!g->bp && stack_word(gp, g, view, g->sp, &ret) && in_range(&gp->text, ret)) {
			pcs[1] = ret;
			return 2;
		}
		return 1;
	}
	if (gp->pcln_buf)
		return walk_pcsp(gp, g, view, pcs, exact, truncated);
	return walk_frame_pointers(gp, g, view, pcs, exact, truncated);
}

static bool is_system(const struct goproc *gp, __u64 startpc, bool finalizer_running)
{
	size_t lo = 0, hi = gp->runtime_func_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct func_entry *f = &gp->runtime_funcs[mid];

		if (startpc < f->addr) {
			hi = mid;
		} else if (startpc > f->addr) {
			lo = mid + 1;
		} else {
			if (f->kind == FUNC_RUNFINQ)
				return !finalizer_running;
			return f->kind == FUNC_SYSTEM;
		}
	}
	return false;
}

void gounwind__to_goroutine(struct goproc *gp, const struct graw *raw, __u64 now_ns,
			bool finalizer_running, struct goroutine *g)
{
	memset(g, 0, sizeof(*g));
	g->g_addr = raw->addr;
	g->goid = raw->goid;
	g->parent_goid = raw->parent;
	g->status = raw->status;
	g->locked = raw->lockedm != 0;
	g->system = is_system(gp, raw->startpc, finalizer_running);
	g->waitsince = raw->waitsince;
	g->switches = raw->switches;
	if (raw->waitsince > 0 && (__u64)raw->waitsince <= now_ns)
		g->wait_ns = now_ns - (__u64)raw->waitsince;
	g->pc = raw->pc;
	g->sp = raw->sp;
	g->bp = raw->bp;
	g->gopc = raw->gopc;
	g->startpc = raw->startpc;
	if (raw->status == GO_STATUS_WAITING || raw->status == GO_STATUS_LEAKED) {
		g->wait_reason_code = raw->reason;
		g->wait_reason = raw->reason < gp->reason_count ? gp->reasons[raw->reason] : NULL;
	}
}

/* Running or in a syscall: which thread, from g.m.procid. */
pid_t gounwind__thread(struct goproc *gp, const struct graw *raw)
{
	__u64 procid;

	if (gp->layout.m_procid < 0 || !user_ptr(raw->m) ||
	    gomem__read(gp, raw->m + gp->layout.m_procid, &procid, sizeof(procid)) ||
	    !procid || procid > INT_MAX)
		return 0;
	return (pid_t)procid;
}

/* The g's stack window: from sched.sp up, at most GO_STACK_WINDOW bytes. */
size_t gounwind__stack_window(const struct graw *g)
{
	return g->hi - g->sp < GO_STACK_WINDOW ? g->hi - g->sp : GO_STACK_WINDOW;
}
