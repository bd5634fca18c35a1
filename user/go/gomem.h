/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Reading a Go process's memory from outside (gomem.c): process_vm_readv,
 * /proc/PID/mem where the kernel lacks it, and the batched reads of many
 * runtime.g's at once.  Errors are negative errnos: -ESRCH and -EACCES for
 * the process as a whole, -EFAULT for an address that can't be read.
 */
#ifndef PARKWATCH_GOMEM_H
#define PARKWATCH_GOMEM_H

#include <stdio.h>
#include "go/go_internal.h"

/* An errno from a read of /proc/PID or its memory, as the errors above. */
int gomem__errno(int err);
int gomem__read_ranges(struct goproc *gp, const struct iovec *local, const struct iovec *remote,
		       size_t n, bool *ok);
int gomem__read(struct goproc *gp, __u64 addr, void *buf, size_t len);
int gomem__read_string(struct goproc *gp, __u64 addr, char *buf, size_t size);
int gomem__read_wait_reasons(struct goproc *gp, __u64 addr, __u64 size);
/*
 * The first pointers of runtime.allgs, at most max_count, into gp->ptrs,
 * *count of them; *claimed is allglen, what the process says it has.
 * Returns 0, -ESRCH (gone, or allglen unreadable), -EBADMSG (no sane
 * list: past GO_MAX_GOROUTINES, or more g's than the process's memory
 * could hold, counted as GAVEUP_IMPLAUSIBLE_RUNTIME), -EACCES, -ENOMEM.
 */
int gomem__read_allgs(struct goproc *gp, size_t max_count, size_t *count, size_t *claimed);
/* The process's mappings (/proc/PID/maps), sorted, in *out (freed by the
 * caller): 0, or -ESRCH, -EACCES, -ENOMEM. */
int gomem__read_maps(pid_t pid, struct range **out, size_t *count);
/* The same from maps, text in /proc/PID/maps's format: 0 or -ENOMEM. */
int gomem__parse_maps(FILE *maps, struct range **out, size_t *count);

int gomem__batch_new(int g_size, struct batch **out);
/* NULL-safe. */
void gomem__batch_free(struct batch *b);
/* order: addrs's indexes 0..n-1 sorted by address. */
void gomem__order_by_addr(const __u64 *addrs, size_t n, __u32 *order);
/*
 * Copies size bytes (at most b->span_item) at addrs[i] + off to
 * dst + i * size for i < n (n <= GO_BATCH), reading neighbours as one
 * range; b->g_ok[i] says what arrived.  Returns 0, -ESRCH, -EACCES.
 */
int gomem__read_coalesced(struct goproc *gp, struct batch *b, const __u64 *addrs,
			  const __u32 *order, size_t n, int off, int size, __u8 *dst);
/*
 * Reads b->windows[0..n) (n <= GO_BATCH) into b->sbuf, neighbours as one
 * range; the windows end sorted by address, each with its at and ok.
 * Returns 0, -ENOMEM, -ESRCH, -EACCES.
 */
int gomem__read_windows(struct goproc *gp, struct batch *b, size_t n);

#endif /* PARKWATCH_GOMEM_H */
