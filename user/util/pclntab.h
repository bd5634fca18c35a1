/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Go's function table, .gopclntab (pclntab.c): which function holds a pc,
 * its name, the file and line of the pc, and how far the stack pointer
 * there is from the function's entry (what unwinds a frame).  Even a binary linked with
 * -ldflags='-s -w' (no .symtab, no DWARF) keeps it, since the runtime's own
 * tracebacks read it.  Go 1.18 and 1.19 (magic 0xfffffff0) and 1.20 and
 * later (0xfffffff1), 64-bit only.  The section is untrusted: every offset
 * is checked against its size, and nothing is read past it.  The table
 * points into the caller's copy of the section, which must outlive it.
 *
 * Inlined calls are described by each function's inline tree, a funcdata
 * that lives outside the section, in the bytes from the module's gofunc
 * address on (moduledata.gofunc: the go:func.* symbol, or the .go.func
 * section of recent linkers): pclntab__set_gofunc gives the table a view
 * of them, and pclntab__inlined reads it, as bounded as the rest.
 */
#ifndef PARKWATCH_PCLNTAB_H
#define PARKWATCH_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PCLNTAB_MAGIC_118 0xfffffff0u  /* Go 1.18, 1.19 */
#define PCLNTAB_MAGIC_120 0xfffffff1u  /* Go 1.20 and later */

struct pclntab {
	const __u8 *data;
	size_t size;
	__u32 magic;
	__u64 nfunc;
	__u64 text_start;           /* entry offsets count from here */
	unsigned int quantum;       /* pc-value tables count pcs in these */
	/* offsets of the tables inside the section, each < size */
	__u64 funcnametab, cutab, filetab, pctab, functab;
	size_t func_size;           /* the fixed part of a _func */
	__u8 wrapper_funcid;        /* FuncID wrapper in this release; 0: unknown */
	const __u8 *gofunc;         /* the funcdata, from moduledata.gofunc; NULL: unknown */
	size_t gofunc_size;
};

/* One function: a _func's fields that name it and locate its pcs. */
struct pclntab_func {
	__u64 entry, end;           /* [entry, end): its code, as file addresses */
	__u32 nameoff;              /* into funcnametab */
	__u32 pcsp, pcfile, pcln;   /* into pctab; 0: none */
	__u32 cu_offset;            /* into cutab, in 32-bit entries */
	__u32 npcdata;
	__u8 nfuncdata;
	__u8 funcid;
	__u8 flag;                  /* PCLNTAB_FLAG_* */
	__u64 at;                   /* the _func's offset in the section */
};

/* A call inlined at a pc: the callee, and where in its caller it was called. */
struct pclntab_inline {
	const char *name;           /* the callee's name, NUL-terminated inside the section */
	__u64 parent_pc;            /* a pc of the caller whose line is the call's (a file address) */
	__u8 funcid;                /* the callee's */
};

#define PCLNTAB_FLAG_TOPFRAME 0x1   /* the bottom of a stack: runtime.goexit, mstart */
#define PCLNTAB_FLAG_SPWRITE 0x2    /* writes sp in ways its pcsp table can't say */

/*
 * Reads the header of a .gopclntab of size bytes.  text_start: where the
 * binary's text starts (runtime.text, or its .text section), used when the
 * header's own is 0, as in a PIE file before relocation; 0 if unknown.
 * Returns 0, -ENOTSUP (not a layout known here) or -EINVAL (truncated or
 * inconsistent).
 */
int pclntab__init(struct pclntab *tab, const void *data, size_t size, __u64 text_start);
/* The index-th function (index < tab->nfunc): 0 or -EINVAL. */
int pclntab__func_at(const struct pclntab *tab, __u64 index, struct pclntab_func *func);
/* The function whose code holds pc (a file address): 0, -ENOENT or -EINVAL. */
int pclntab__find(const struct pclntab *tab, __u64 pc, struct pclntab_func *func);
/* Its name, NUL-terminated inside the section; NULL if the table is bad. */
const char *pclntab__name(const struct pclntab *tab, const struct pclntab_func *func);
/* The source file and line of pc in func: 0, or -ENOENT when the table
 * has none (or a bad one) for pc. */
int pclntab__line(const struct pclntab *tab, const struct pclntab_func *func, __u64 pc,
		  const char **file, int *line);
/* The stack pointer at pc in func, in bytes below its value at the entry
 * (the return address's slot): 0, or -ENOENT when the table has none (or
 * a bad one) for pc, or the value is negative or not word-aligned. */
int pclntab__spdelta(const struct pclntab *tab, const struct pclntab_func *func, __u64 pc,
		     __u32 *delta);

/*
 * Sets tab->wrapper_funcid: the funcID Go gives compiler-generated wrappers
 * (the closures of `go f(x)`, promoted-method and interface wrappers),
 * which its tracebacks leave out.  It moves between releases but always
 * follows runtime.systemstack_switch's, which it is read off.
 */
void pclntab__find_wrapper_funcid(struct pclntab *tab);
/* The funcdata of the module: size bytes from its gofunc address on. */
void pclntab__set_gofunc(struct pclntab *tab, const void *gofunc, size_t size);
/*
 * Whether gofunc (size bytes) can be the module's funcdata: the first
 * entry of the inline trees of a sample of functions must name a function
 * of the table and a call site inside its caller.  What tells it from the
 * other pointers next to it in the module data.
 */
bool pclntab__gofunc_fits(const struct pclntab *tab, const void *gofunc, size_t size);
/* The innermost call inlined at pc in func: 0, or -ENOENT when pc runs
 * func's own code (or the tree is unknown or bad). */
int pclntab__inlined(const struct pclntab *tab, const struct pclntab_func *func, __u64 pc,
		     struct pclntab_inline *call);

#endif /* PARKWATCH_PCLNTAB_H */
