/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a function's amd64 code does with memory at known addresses (read,
 * write, compare, exchange; through rip directly or through a register a
 * LEA of rip just set), decoded by capstone, for govars.c to find the
 * runtime's variables in the few functions that use them.
 */
#ifndef PARKWATCH_GOCODE_H
#define PARKWATCH_GOCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define GOCODE_MAX_REFS 512         /* the runtime functions read make a few dozen */

enum ref_kind {
	REF_READ,
	REF_WRITE,
	REF_COMPARE,                /* cmp or test */
	REF_EXCHANGE,               /* xchg: an atomic store */
};

/* One access to memory at a known address. */
struct ref {
	__u64 target;
	__u64 base;                 /* indexed: the address in the base register */
	enum ref_kind kind;
	unsigned int size;          /* bytes accessed */
	bool indexed;               /* base + index * scale: an array element */
};

struct refs {
	struct ref items[GOCODE_MAX_REFS];
	size_t count;
	/* `cmp reg, imm`: the immediate, and how many such compares */
	__s64 compare_imm;
	size_t compare_imm_count;
	/* `lea (reg1, reg2)`, one of them holding a known address: a table
	 * that address starts; how many distinct ones */
	__u64 table;
	size_t table_count;
	/* `imul reg, reg, imm`: the immediates */
	__s64 imul_imms[8];
	size_t imul_count;
};

/* Every access to a known address in the size bytes of code at file
 * address addr, in order, into *out (freed by the caller).  0, -ENOENT
 * (no code), -ENOTSUP (no capstone) or -ENOMEM. */
int gocode__refs(const __u8 *code, size_t size, __u64 addr, struct refs **out);
/* The capstone library gocode__refs loads: "libcapstone.so.4". */
const char *gocode__library(void);
/* Whether refs has a plain access to target of kind (-1: any) and size
 * (0: any). */
bool gocode__has_ref(const struct refs *refs, __u64 target, int kind, unsigned int size);

#endif /* PARKWATCH_GOCODE_H */
