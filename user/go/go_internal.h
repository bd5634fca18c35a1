/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The insides of a struct goproc (goproc.h), shared by the files of the
 * Go runtime reader and no one else: gobinary.c and golayout.c fill it from
 * the executable, gomem.c reads the process's memory through it,
 * gounwind.c makes sense of one runtime.g, goproc.c drives them.
 */
#ifndef PARKWATCH_GO_INTERNAL_H
#define PARKWATCH_GO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/types.h>
#include "go/goproc.h"
#include "util/pclntab.h"

#define GO_BATCH 2048               /* g's read together */
#define GO_MAX_GOROUTINES (1u << 24)
#define GO_UNCHECKED_GOROUTINES 65536 /* an allglen below it is taken without asking
				       * whether the process's memory could hold it */
#define USER_ADDR_END (1ULL << 47)
#define GO_SP_CACHE_BITS 12         /* pcsp answers remembered, by pc */
#define GO_FAR_WINDOW 4096          /* bytes of a deep stack read at once */
#define GO_SUDOG_MAX_READ 256       /* bytes of a sudog read, at most (gowait.c) */

enum func_kind {
	FUNC_SYSTEM,                /* runtime.*: its goroutines are the runtime's */
	FUNC_USER,                  /* runtime.main, runtime.corostart: user goroutines */
	FUNC_RUNFINQ,               /* the finalizer goroutine: user while it runs a finalizer */
};

struct func_entry {
	__u64 addr;
	enum func_kind kind;
};

struct range {
	__u64 lo, hi;
};

/* What the pclntab says of one lookup pc (a file address): goroutines
 * share their pcs, so each is decoded once, not once per frame. */
enum sp_answer {
	SP_FRAME,                   /* delta below */
	SP_STOP,                    /* TOPFRAME or SPWRITE: the walk ends here */
	SP_BAD,                     /* no function, or no delta: truncated */
};

struct sp_cache_entry {
	__u64 pc;                   /* 0: empty */
	__u32 delta;
	__u32 answer;               /* enum sp_answer */
};

struct batch;
struct gowait;

struct goproc {
	pid_t pid;
	int mem_fd;                 /* /proc/PID/mem, when process_vm_readv is missing */
	char version[64];
	int minor;                  /* 19 for go1.19.8; 0 when unknown */
	struct go_layout layout;
	int layout_guess;           /* a newer release read with 1.<this>'s layout; 0: none */
	__u64 bias;                 /* PIE load bias */
	__u64 allglen, allgptr, allgs;
	__u64 fing_running;         /* runtime.fingRunning (bool, Go < 1.21) */
	__u64 fing_status;          /* runtime.fingStatus (Go >= 1.21) */
	__u64 semtable, semtable_size; /* runtime.semtable, from .symtab; 0: unknown */
	struct range types;         /* runtime.types to etypes, from .symtab; 0: unknown */
	struct range text;
	struct range sigpanic;      /* a frame it returns to holds an exact pc */
	struct func_entry *runtime_funcs; /* sorted by addr */
	size_t runtime_func_count;
	struct range *wrappers;     /* sorted */
	size_t wrapper_count;
	/* .gopclntab, copied out of the file (the ELF is closed after loading):
	 * its pcsp tables unwind goroutine stacks.  pcln points into pcln_buf
	 * and counts in file addresses; NULL buf: no usable table. */
	__u8 *pcln_buf;
	struct pclntab pcln;
	struct sp_cache_entry *sp_cache; /* 1 << GO_SP_CACHE_BITS, with pcln_buf */
	char **reasons;
	size_t reason_count;
	struct gowait *wait;        /* what one read met of channels and sudogs (gowait.c) */
	size_t dropped;
	/* buffers kept between reads */
	__u8 far_buf[GO_FAR_WINDOW]; /* deep stacks beyond a g's window, at far_base */
	__u64 far_base, far_len;
	struct batch *batch;
	__u64 *ptrs;
	size_t ptr_cap;
};

/* One g as read. */
struct graw {
	__u64 addr, goid, sp, pc, bp, lo, hi, gopc, startpc, parent, lockedm, m;
	__s64 waitsince;
	__u64 waiting;              /* g.waiting: a sudog, or 0 */
	int switches;               /* g.trackingSeq; -1: unknown */
	__u32 status;               /* scan bit stripped */
	__u8 reason;
	bool in_syscall;            /* sp and pc are g.syscallsp and g.syscallpc, bp unknown */
};

enum g_fate {
	G_SKIP,                     /* dead or idle */
	G_INCONSISTENT,             /* unreadable, or read mid-change */
	G_NO_STACK,
	G_STACK,
};

/* A g's stack window to read (gomem__read_windows). */
struct window {
	__u64 addr, len;            /* in the process */
	size_t at;                  /* where it landed in the batch's sbuf */
	__u32 g;                    /* the batch's index of its g */
	bool ok;                    /* it arrived whole */
};

/* Scratch space of one batch, kept in the goproc between reads. */
struct batch {
	int g_size;
	struct iovec *local, *remote;
	bool *ok;                   /* per range */
	bool *g_ok;                 /* per g */
	__u32 *order;               /* the batch's indexes by g address */
	int span_item;              /* the largest item read_coalesced reads */
	__u32 *slot;                /* per sorted g: its range; later, per range: its g */
	__u64 *span_start;
	size_t *span_at;            /* where each range lands in span_buf */
	struct graw *raws;
	enum g_fate *fate;
	struct go_blocked_on *blocked; /* per g: what it waits on (gowait.c) */
	__u8 *sudog_buf;            /* the batch's sudogs, packed (gowait.c) */
	__u64 *sudog_addrs;         /* per sudog read: where it is */
	__u32 *sudog_order;         /* sudog_addrs' indexes by address */
	__u32 *sudog_owner;         /* per sudog read: the g that waits on it */
	__u8 *gbuf, *hbuf, *span_buf;
	struct window *windows;     /* the stacks to read */
	__u8 *sbuf;                 /* stack windows, as read in ranges */
	size_t sbuf_cap;
	size_t *stack_at;           /* per g: where its window is in sbuf */
};

/* Target memory is copied as bytes; fields are read unaligned from them. */
static inline __u64 u64_at(const __u8 *raw, size_t off)
{
	__u64 v;

	memcpy(&v, raw + off, sizeof(v));
	return v;
}

static inline __u32 u32_at(const __u8 *raw, size_t off)
{
	__u32 v;

	memcpy(&v, raw + off, sizeof(v));
	return v;
}

static inline bool user_ptr(__u64 addr)
{
	return addr && addr < USER_ADDR_END && !(addr & 7);
}

static inline bool in_range(const struct range *r, __u64 addr)
{
	return addr >= r->lo && addr < r->hi;
}

#endif /* PARKWATCH_GO_INTERNAL_H */
