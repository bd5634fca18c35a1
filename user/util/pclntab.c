// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Reading .gopclntab (pclntab.h).  The layout, as Go 1.18's linker writes
 * it and later ones keep it:
 *
 *   header (72 bytes): magic u32, two zero bytes, the pc quantum (minLC)
 *     u8, the pointer size u8, then 8-byte words: nfunc, nfiles, textStart
 *     and the offsets, from the header, of funcnametab, cutab, filetab,
 *     pctab and the function table;
 *   function table: nfunc + 1 pairs {entry offset from textStart u32,
 *     offset of the _func from the function table u32}, sorted by entry,
 *     the last one's entry closing the last function;
 *   _func: entryoff, nameoff, args, deferreturn, pcsp, pcfile, pcln,
 *     npcdata, cuOffset (u32 each), then 1.20+ a startLine (i32), then
 *     funcID, flag, a pad and nfuncdata (u8 each);
 *   pc-value tables (pcsp, pcfile, pcln at their offsets in pctab): pairs of
 *     uvarints, a zigzag value delta and a pc delta in quanta, from the
 *     value -1 at the entry; a zero value delta after the first pair ends
 *     the table.  A pc's value is the one whose pc range holds it;
 *   file names: cutab[cuOffset + file number] is the name's offset in
 *     filetab (~0: none); names, like funcnametab's, end with a NUL;
 *   after the fixed _func: npcdata u32 offsets into pctab (0: none), then
 *     nfuncdata u32 offsets from gofunc (~0: none).  pcdata 2 maps a pc to
 *     its index in the inline tree (funcdata 3), -1 outside inlined code;
 *     an entry is 20 bytes in 1.18 and 1.19 {parent i16, funcID u8, pad,
 *     file, line, nameoff, parentPc i32}, 16 from 1.20 {funcID u8, 3 pad,
 *     nameoff, parentPc, startLine i32}.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "util/pclntab.h"

#define HEADER_SIZE 72
#define FUNC_SIZE_118 40
#define FUNC_SIZE_120 44
#define PCDATA_INLTREE_INDEX 2
#define FUNCDATA_INLTREE 3
#define INLINE_SIZE_118 20
#define INLINE_SIZE_120 16

static __u32 get_u32(const __u8 *at)
{
	__u32 v;

	memcpy(&v, at, sizeof(v));
	return v;
}

static __u64 get_u64(const __u8 *at)
{
	__u64 v;

	memcpy(&v, at, sizeof(v));
	return v;
}

int pclntab__init(struct pclntab *tab, const void *data, size_t size, __u64 text_start)
{
	const __u8 *raw = data;
	__u64 *offsets[] = { &tab->funcnametab, &tab->cutab, &tab->filetab, &tab->pctab,
			     &tab->functab };

	memset(tab, 0, sizeof(*tab));
	if (!raw || size < 8)
		return -EINVAL;
	tab->magic = get_u32(raw);
	if (tab->magic != PCLNTAB_MAGIC_118 && tab->magic != PCLNTAB_MAGIC_120)
		return -ENOTSUP;
	if (raw[7] != 8)
		return -ENOTSUP; /* 32-bit Go: other word sizes throughout */
	if (size < HEADER_SIZE || raw[4] || raw[5])
		return -EINVAL;
	tab->quantum = raw[6];
	if (tab->quantum != 1 && tab->quantum != 2 && tab->quantum != 4)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		*offsets[i] = get_u64(raw + 32 + i * 8);
		if (*offsets[i] < HEADER_SIZE || *offsets[i] >= size)
			return -EINVAL;
	}
	tab->nfunc = get_u64(raw + 8);
	/* nfunc + 1 pairs of 8 bytes from the function table on */
	if (tab->nfunc >= (size - tab->functab) / 8)
		return -EINVAL;
	tab->text_start = get_u64(raw + 24);
	if (!tab->text_start)
		tab->text_start = text_start;
	tab->func_size = tab->magic == PCLNTAB_MAGIC_118 ? FUNC_SIZE_118 : FUNC_SIZE_120;
	tab->data = raw;
	tab->size = size;
	return 0;
}

int pclntab__func_at(const struct pclntab *tab, __u64 index, struct pclntab_func *func)
{
	const __u8 *pair, *f;
	__u64 at;

	if (index >= tab->nfunc)
		return -EINVAL;
	pair = tab->data + tab->functab + index * 8;
	at = tab->functab + get_u32(pair + 4);
	if (at > tab->size || tab->size - at < tab->func_size)
		return -EINVAL;
	f = tab->data + at;
	func->entry = tab->text_start + get_u32(pair);
	func->end = tab->text_start + get_u32(pair + 8);
	func->nameoff = get_u32(f + 4);
	func->pcsp = get_u32(f + 16);
	func->pcfile = get_u32(f + 20);
	func->pcln = get_u32(f + 24);
	func->npcdata = get_u32(f + 28);
	func->cu_offset = get_u32(f + 32);
	func->funcid = f[tab->func_size - 4];
	func->flag = f[tab->func_size - 3];
	func->nfuncdata = f[tab->func_size - 1];
	func->at = at;
	return func->end < func->entry ? -EINVAL : 0;
}

int pclntab__find(const struct pclntab *tab, __u64 pc, struct pclntab_func *func)
{
	__u64 lo = 0, hi = tab->nfunc, off;
	int err;

	if (!tab->nfunc || pc < tab->text_start || pc - tab->text_start > UINT32_MAX)
		return -ENOENT;
	off = pc - tab->text_start;
	/* the last function whose entry is at or below pc */
	while (lo < hi) {
		__u64 mid = lo + (hi - lo) / 2;

		if (get_u32(tab->data + tab->functab + mid * 8) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -ENOENT;
	err = pclntab__func_at(tab, lo - 1, func);
	if (err)
		return err;
	return pc >= func->entry && pc < func->end ? 0 : -ENOENT;
}

/* A NUL-terminated string at offset at + off of the section, or NULL. */
static const char *string_at(const struct pclntab *tab, __u64 at, __u64 off)
{
	if (off >= tab->size - at) /* at < size: pclntab__init checked */
		return NULL;
	at += off;
	if (!memchr(tab->data + at, '\0', tab->size - at))
		return NULL;
	return (const char *)tab->data + at;
}

const char *pclntab__name(const struct pclntab *tab, const struct pclntab_func *func)
{
	return string_at(tab, tab->funcnametab, func->nameoff);
}

/* A uvarint of at most 32 bits at *pos, which moves past it; false if it
 * runs past the section or overflows. */
static bool read_uvarint(const struct pclntab *tab, __u64 *pos, __u32 *value)
{
	__u32 v = 0;

	for (int shift = 0; shift < 35; shift += 7) {
		__u8 b;

		if (*pos >= tab->size)
			return false;
		b = tab->data[(*pos)++];
		v |= (__u32)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*value = v;
			return true;
		}
	}
	return false;
}

/* The value the pc-value table at off (in pctab) gives pc in func. */
static int pcvalue(const struct pclntab *tab, const struct pclntab_func *func, __u32 off,
		   __u64 pc, __s32 *value)
{
	__u64 pos, at = func->entry;
	__u32 val = (__u32)-1;
	bool first = true;

	if (!off || off >= tab->size - tab->pctab)
		return -ENOENT;
	pos = tab->pctab + off;
	/* every pair takes at least two bytes: the walk ends at the section's end */
	for (;;) {
		__u32 value_delta, pc_delta;

		if (!read_uvarint(tab, &pos, &value_delta) || (!value_delta && !first))
			return -ENOENT;
		if (!read_uvarint(tab, &pos, &pc_delta))
			return -ENOENT;
		first = false;
		val += (value_delta & 1) ? ~(value_delta >> 1) : value_delta >> 1;
		at += (__u64)pc_delta * tab->quantum;
		if (pc < at) {
			*value = (__s32)val;
			return 0;
		}
		if (at >= func->end)
			return -ENOENT;
	}
}

int pclntab__line(const struct pclntab *tab, const struct pclntab_func *func, __u64 pc,
		  const char **file, int *line)
{
	__s32 fileno, lineno;
	__u64 index, at;
	__u32 fileoff;

	if (pc < func->entry || pc >= func->end || pcvalue(tab, func, func->pcfile, pc, &fileno) ||
	    pcvalue(tab, func, func->pcln, pc, &lineno) || fileno < 0 || lineno < 0)
		return -ENOENT;
	index = (__u64)func->cu_offset + (__u32)fileno;
	if (index >= (tab->size - tab->cutab) / 4)
		return -ENOENT;
	at = tab->cutab + index * 4;
	fileoff = get_u32(tab->data + at);
	if (fileoff == ~0u)
		return -ENOENT;
	*file = string_at(tab, tab->filetab, fileoff);
	if (!*file)
		return -ENOENT;
	*line = lineno;
	return 0;
}

int pclntab__spdelta(const struct pclntab *tab, const struct pclntab_func *func, __u64 pc,
		     __u32 *delta)
{
	__s32 value;

	if (pc < func->entry || pc >= func->end || pcvalue(tab, func, func->pcsp, pc, &value) ||
	    value < 0 || value & 7)
		return -ENOENT;
	*delta = (__u32)value;
	return 0;
}

void pclntab__find_wrapper_funcid(struct pclntab *tab)
{
	struct pclntab_func func;

	tab->wrapper_funcid = 0;
	for (__u64 i = 0; i < tab->nfunc; i++) {
		const char *name;

		if (pclntab__func_at(tab, i, &func))
			return;
		name = pclntab__name(tab, &func);
		if (name && !strcmp(name, "runtime.systemstack_switch")) {
			tab->wrapper_funcid = func.funcid + 1;
			return;
		}
	}
}

void pclntab__set_gofunc(struct pclntab *tab, const void *gofunc, size_t size)
{
	tab->gofunc = gofunc;
	tab->gofunc_size = gofunc ? size : 0;
}

/* The u32 at index of the arrays that follow func's fixed part; false
 * past the section. */
static bool func_trailer(const struct pclntab *tab, const struct pclntab_func *func,
			 __u64 index, __u32 *value)
{
	__u64 at = func->at + tab->func_size + index * 4;

	if (at > tab->size || tab->size - at < 4)
		return false;
	*value = get_u32(tab->data + at);
	return true;
}

/* Where func's inline tree starts in gofunc: 0, or -ENOENT for none. */
static int inline_tree(const struct pclntab *tab, const struct pclntab_func *func, __u32 *table,
		       __u32 *tree)
{
	if (func->npcdata <= PCDATA_INLTREE_INDEX || func->nfuncdata <= FUNCDATA_INLTREE ||
	    !func_trailer(tab, func, PCDATA_INLTREE_INDEX, table) ||
	    !func_trailer(tab, func, func->npcdata + FUNCDATA_INLTREE, tree) || *tree == ~0u)
		return -ENOENT;
	return 0;
}

/* Entry index of func's inline tree, as a call. */
static int inline_entry(const struct pclntab *tab, const struct pclntab_func *func,
			const __u8 *gofunc, size_t size, __u32 tree, __u32 index,
			struct pclntab_inline *call)
{
	bool old = tab->magic == PCLNTAB_MAGIC_118;
	size_t entry_size = old ? INLINE_SIZE_118 : INLINE_SIZE_120;
	__u64 at = tree + (__u64)index * entry_size;
	const __u8 *e;

	if (!gofunc || at > size || size - at < entry_size)
		return -ENOENT;
	e = gofunc + at;
	call->funcid = old ? e[2] : e[0];
	call->name = string_at(tab, tab->funcnametab, get_u32(e + (old ? 12 : 4)));
	call->parent_pc = func->entry + get_u32(e + (old ? 16 : 8));
	/* the call site is code of func itself, before its end */
	if (!call->name || !call->name[0] || call->parent_pc >= func->end)
		return -ENOENT;
	return 0;
}

bool pclntab__gofunc_fits(const struct pclntab *tab, const void *gofunc, size_t size)
{
	__u64 step = tab->nfunc / 256 + 1;
	int checked = 0;

	for (__u64 i = 0; i < tab->nfunc; i += step) {
		struct pclntab_inline call;
		struct pclntab_func func;
		__u32 table, tree;

		if (pclntab__func_at(tab, i, &func) || inline_tree(tab, &func, &table, &tree))
			continue;
		if (inline_entry(tab, &func, gofunc, size, tree, 0, &call))
			return false;
		checked++;
	}
	return checked > 0;
}

int pclntab__inlined(const struct pclntab *tab, const struct pclntab_func *func, __u64 pc,
		     struct pclntab_inline *call)
{
	__u32 table, tree;
	__s32 index;

	if (!tab->gofunc || inline_tree(tab, func, &table, &tree) || pc < func->entry ||
	    pc >= func->end || pcvalue(tab, func, table, pc, &index) || index < 0)
		return -ENOENT;
	return inline_entry(tab, func, tab->gofunc, tab->gofunc_size, tree, (__u32)index, call);
}
