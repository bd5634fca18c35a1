/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The runtime's variables found in the machine code that uses them
 * (govars.c), for binaries without .symtab: .gopclntab still says where
 * each runtime function is, and a few small ones name the variables this
 * reader needs.  amd64 only; the code is decoded with capstone, and what
 * it says is checked by the caller against the process's memory before
 * anything is read through it.
 */
#ifndef PARKWATCH_GOVARS_H
#define PARKWATCH_GOVARS_H

#include <stddef.h>
#include <gelf.h>
#include <linux/types.h>
#include "util/pclntab.h"

/* The runtime's variables goroutine mode reads, as file addresses; 0:
 * not found. */
struct go_vars {
	__u64 allgs, allglen, allgptr;
	__u64 reasons, reasons_size;        /* waitReasonStrings, and its bytes */
	__u64 fing_running, fing_status;    /* one of them: < 1.21, and since */
	__u64 semtable, semtable_size;      /* semaphore waiters before Go 1.26 */
	__u64 types, etypes;                /* .symtab only: the type data, channels' element types */
};

/* runtime.semTabSize, and the bytes of each of its entries on amd64 (a
 * semaRoot padded to cpu.CacheLinePadSize), from Go 1.19 to 1.27 */
#define GO_SEM_TAB_SIZE 251
#define GO_SEM_ROOT_STRIDE 64

/*
 * From the code of the functions tab names in elf: allgs, allglen and
 * allgptr, which must be found (else -ENODATA, and why says why in a
 * phrase), the wait reasons, the finalizer's state and the semtable if
 * they can be (else 0 in out).  Every address lies in the binary's writable data.  Returns
 * 0, -ENODATA or -ENOMEM.
 */
int govars__from_code(Elf *elf, const struct pclntab *tab, struct go_vars *out, char *why,
		      size_t why_size);

/*
 * The decoders: each takes the bytes of one function and the file address
 * of its first byte, and returns 0, -ENOENT (the code doesn't use the
 * variables the way every release from 1.19 to 1.27 does: an unforeseen
 * runtime, or not the function it should be), or -ENOMEM.
 */

/* File addresses of runtime.allgs, allglen and allgptr. */
struct go_allg_vars {
	__u64 allgs, allglen, allgptr;
};

/* From runtime.allgadd. */
int govars__allgadd(const __u8 *code, size_t size, __u64 addr, struct go_allg_vars *out);
/* From runtime.waitReason.String: the address of runtime.waitReasonStrings
 * and its length, in strings. */
int govars__wait_reasons(const __u8 *code, size_t size, __u64 addr, __u64 *array,
			 unsigned int *count);
/* From runtime.isSystemGoroutine: the one variable it reads, fingRunning
 * (a bool, Go < 1.21: *size 1) or fingStatus (a uint32: *size 4). */
int govars__finalizer(const __u8 *code, size_t size, __u64 addr, __u64 *var,
		      unsigned int *var_size);
/* From runtime.semrelease1: runtime.semtable. */
int govars__semtable(const __u8 *code, size_t size, __u64 addr, __u64 *var);

#endif /* PARKWATCH_GOVARS_H */
