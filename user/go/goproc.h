/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Goroutines of a running, unmodified Go program, read from outside with
 * process_vm_readv and no ptrace stop: the Go version from .go.buildinfo,
 * the layout of runtime.g from the binary's DWARF (a per-version table
 * when it was linked with -w), runtime.allgs and the wait-reason strings
 * through .symtab, the frames Go's tracebacks hide from .gopclntab, and
 * the stack of each parked goroutine, or one in a system call, unwound
 * from the registers it left.  Names are not resolved here: the pcs go to
 * symbolize__user() like any thread's.
 */
#ifndef PARKWATCH_GOPROC_H
#define PARKWATCH_GOPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "util/budget.h"

#define GO_MAX_DEPTH 4096          /* frames kept per goroutine: the runtime's 1,000-deep recursions too */
#define GO_EXACT_FRAMES 128         /* frames whose exactness is kept (see exact) */

/* runtime2.go's _G* values, the same in Go 1.19 to 1.26 (1.26 adds 10, 11). */
enum go_status {
	GO_STATUS_IDLE = 0,
	GO_STATUS_RUNNABLE = 1,
	GO_STATUS_RUNNING = 2,
	GO_STATUS_SYSCALL = 3,
	GO_STATUS_WAITING = 4,
	GO_STATUS_DEAD = 6,
	GO_STATUS_COPYSTACK = 8,
	GO_STATUS_PREEMPTED = 9,
	GO_STATUS_LEAKED = 10,      /* Go 1.26: parked, and found unreachable by the GC */
	GO_STATUS_DEAD_EXTRA = 11,  /* Go 1.26: dead, kept by an extra M for cgo callbacks */
};

/* Not a goroutine now: never started, or ended (dumps leave it out). */
static inline bool go_status_dead(__u32 status)
{
	return status == GO_STATUS_IDLE || status == GO_STATUS_DEAD || status == GO_STATUS_DEAD_EXTRA;
}

/* The kinds of object a parked goroutine waits on that gowait.c reads. */
enum go_object_kind {
	GO_OBJECT_NONE,
	GO_OBJECT_CHAN,             /* a channel receive, send or select */
	GO_OBJECT_SEMA,             /* a runtime semaphore: sync.Mutex, RWMutex, WaitGroup */
};

/*
 * What a parked goroutine waits on, read through g.waiting (its sudog) or,
 * for a semaphore before Go 1.26 (which leaves g.waiting nil), the
 * runtime's semtable.  A select reports the channel of its first sudog:
 * the case whose channel has the lowest address (the runtime's lock
 * order).
 */
struct go_blocked_on {
	__u8 kind;                  /* enum go_object_kind */
	bool never_wakes;           /* a nil channel, a select with no cases */
	bool chan_read;             /* the hchan's fields below were read consistently */
	bool closed;
	__u64 addr;                 /* the hchan, or the semaphore; 0: nil or unknown */
	__u64 len, cap;             /* hchan.qcount, dataqsiz */
	__u32 sendq, recvq;         /* sudogs queued on it: goroutines, a select's once per case */
	const char *elem_type;      /* "int", "*main.job"; NULL: unknown (no .symtab); owned
				     * by the goproc */
};

struct goroutine {
	__u64 g_addr;               /* the runtime.g: reused for a new goroutine after exit */
	__u64 goid;
	__u64 parent_goid;          /* 0: none, or Go < 1.21 (see goproc__has_parent_goid) */
	__u32 status;               /* enum go_status, scan bit (0x1000) stripped */
	__u8 wait_reason_code;      /* the runtime's waitReason, valid when waiting */
	bool system;                /* a runtime goroutine: Go's dumps and profiles hide it */
	bool locked;                /* locked to its thread (runtime.LockOSThread) */
	bool truncated;             /* the walk stopped at GO_MAX_DEPTH or a bad frame */
	const char *wait_reason;    /* status waiting: the runtime's text ("chan receive");
				     * NULL otherwise or when unknown; owned by the goproc */
	__s64 waitsince;            /* runtime nanotime (CLOCK_MONOTONIC) when the GC noticed
				     * the wait; 0 until a second GC cycle sets it */
	__u64 wait_ns;              /* now - waitsince; 0 when waitsince is unknown */
	/* g.trackingSeq: it changes whenever the goroutine has run, so a wait
	 * seen twice with the same value is one wait, not a wake and a park
	 * again at the same place (a ticker's loop); -1: unknown */
	int switches;
	__u64 pc, sp, bp;           /* the saved sched registers; in a syscall,
				     * g.syscallpc and g.syscallsp (bp 0) */
	__u64 gopc;                 /* the `go` statement: return address into the creator */
	__u64 startpc;              /* entry of the goroutine's function */
	pid_t tid;                  /* running or in a syscall: its thread, when known */
	int depth;                  /* 0: no stack (running, copystack, unreadable) */
	/* bit i: pcs[i] is an exact pc, not a return address (the start of a
	 * goroutine not yet run, a frame a fault returns to); deeper frames
	 * than GO_EXACT_FRAMES are taken for return addresses */
	__u64 exact[GO_EXACT_FRAMES / 64];
	const __u64 *pcs;           /* leaf first: pcs[0] = pc, then return addresses */
	struct go_blocked_on blocked_on; /* waiting: what on, when read */
};

/* What symbolize__user() wants for frame i: return addresses minus one. */
static inline __u64 goroutine__lookup_pc(const struct goroutine *g, int i)
{
	bool exact = i < GO_EXACT_FRAMES && (g->exact[i / 64] >> (i % 64) & 1);

	return exact || !g->pcs[i] ? g->pcs[i] : g->pcs[i] - 1;
}

/*
 * Where the runtime's wait structures keep what gowait.c reads, in bytes;
 * -1: unknown.  Pointers as the runtime reads them: Go 1.26 wraps
 * sudog.elem and sudog.c in a maybeTraceablePtr, whose vu word is the
 * source of truth.
 */
struct go_wait_layout {
	int sudog_g, sudog_next, sudog_prev, sudog_elem, sudog_waitlink, sudog_c;
	int hchan_qcount, hchan_dataqsiz, hchan_closed, hchan_elemtype;
	int hchan_recvq, hchan_sendq; /* their waitq.first */
	int semaroot_treap;
};

/* Where runtime.g's fields are, in bytes; -1 for a field this Go lacks. */
struct go_layout {
	int g_read_size;            /* bytes read per g: up to the last field used */
	int stack_lo, stack_hi;
	int sched_sp, sched_pc, sched_bp;
	int syscallsp, syscallpc;   /* where a goroutine in a syscall left its own stack */
	int atomicstatus, goid, waitsince, waitreason;
	int gopc, startpc;
	int parent_goid;            /* Go >= 1.21 */
	int lockedm;
	int m, m_procid;            /* g.m, and runtime.m's thread id */
	int waiting;                /* g.waiting: the sudog a parked g waits with */
	int tracking_seq;           /* g.trackingSeq (a byte): bumped at every switch out of
				     * running */
	struct go_wait_layout wait;
	bool from_dwarf;            /* else from the per-version table */
};

struct goproc;

/*
 * runtime.g's layouts read from DWARF by binary (the executable's device,
 * inode, size and mtime; golayout.c), so that another process of the same
 * binary, or the same one restarted, doesn't decompress its DWARF again.
 * Holds a bounded number of binaries, replacing the oldest.
 */
struct golayout_cache;

struct golayout_cache *golayout_cache__new(void);
/* NULL-safe. */
void golayout_cache__free(struct golayout_cache *cache);

/*
 * Recognises the Go binary behind pid and reads what goproc__read needs,
 * from its .symtab or, stripped, from .gopclntab and the runtime's code.
 * Returns 0, or -ENOEXEC (not a Go program), -ENODATA (a Go program whose
 * goroutines can't be read: why, of why_size bytes, says why in a phrase
 * such as "it is built for arm64, and goroutines are read on amd64
 * only"), -ESRCH (no such process), -EACCES (its memory can't be read:
 * not root, or ptrace restrictions), -EFAULT (the binary doesn't match
 * its memory), -ENOMEM.  On success why says what the reading takes on
 * trust, if anything (a release newer than parkwatch read with the
 * newest layout it knows, which matched every check), else is "".
 * layouts (golayout.h; NULL: none) keeps runtime.g's layout by binary.
 */
int goproc__open(pid_t pid, struct golayout_cache *layouts, struct goproc **out, char *why,
		 size_t why_size);
void goproc__free(struct goproc *gp);
/* "go1.19.8"; "unknown" when the binary doesn't say. */
const char *goproc__version(const struct goproc *gp);
/* 21 for go1.21.6; 0 when unknown. */
int goproc__minor(const struct goproc *gp);
bool goproc__has_parent_goid(const struct goproc *gp);

/*
 * One pass over runtime.allgs: every goroutine that isn't dead, in allgs
 * order (creation order, roughly), the few read twice at the end.  The
 * process keeps running: a goroutine that changed while its struct and
 * stack were read is read once more, then dropped (goproc__dropped).  The
 * result is one allocation, freed with goproc__free_goroutines.  Returns 0 or a
 * negative errno (-ESRCH: the process exited; -EBADMSG: allgs made no sense).
 * budget (NULL: none) bounds the time and memory the pass may take: where
 * it runs out the pass ends, 0 is returned with the goroutines read so far
 * and budget->cut says why.  Its time ends no pass in allgs's first
 * GOPROC_READ_AT_LEAST entries, so that a cut picture always shows some.
 */
#define GOPROC_READ_AT_LEAST 2048
int goproc__read(struct goproc *gp, struct goroutine **out, size_t *count, struct budget *budget);
/* Goroutines the last goproc__read dropped as inconsistent. */
size_t goproc__dropped(const struct goproc *gp);
/* NULL-safe. */
void goproc__free_goroutines(struct goroutine *goroutines);

/*
 * pc is in a compiler-generated wrapper (the closure of `go f(x)`, promoted
 * method and interface wrappers), a frame Go's tracebacks and profiles
 * leave out: FuncID wrapper in .gopclntab (Go >= 1.18), DW_AT_trampoline
 * in DWARF for older binaries.  Pass a lookup pc.
 */
bool goproc__is_wrapper(const struct goproc *gp, __u64 pc);

#endif /* PARKWATCH_GOPROC_H */
