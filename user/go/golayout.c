// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * runtime.g's layout (golayout.h): read from the binary's DWARF, which
 * follows the runtime wherever it goes; a table per Go version serves the
 * binaries linked with -w, and its newest entry is tried on a newer
 * release, which goproc.c then checks against the process.  DWARF also
 * marks wrappers, for binaries whose .gopclntab gobinary.c can't read.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "go/gobinary.h"
#include "go/golayout.h"

static bool die_type(Dwarf_Die *die, Dwarf_Die *type)
{
	Dwarf_Attribute attr;

	if (!dwarf_attr_integrate(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, type))
		return false;
	while (dwarf_tag(type) == DW_TAG_typedef)
		if (!dwarf_attr_integrate(type, DW_AT_type, &attr) ||
		    !dwarf_formref_die(&attr, type))
			return false;
	return true;
}

/* Offset of a struct member, and optionally its type; -1 when absent. */
static int member_offset(Dwarf_Die *type, const char *name, Dwarf_Die *member_type)
{
	Dwarf_Die child;

	if (dwarf_child(type, &child))
		return -1;
	do {
		Dwarf_Attribute attr;
		Dwarf_Word offset;
		const char *member;

		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		member = dwarf_diename(&child);
		if (!member || strcmp(member, name))
			continue;
		if (!dwarf_attr(&child, DW_AT_data_member_location, &attr) ||
		    dwarf_formudata(&attr, &offset) || offset > INT_MAX / 2)
			return -1;
		if (member_type && !die_type(&child, member_type))
			return -1;
		return (int)offset;
	} while (dwarf_siblingof(&child, &child) == 0);
	return -1;
}

static int nested_offset(Dwarf_Die *outer, const char *member, const char *field)
{
	Dwarf_Die type;
	int base = member_offset(outer, member, &type), off;

	if (base < 0)
		return -1;
	off = member_offset(&type, field, NULL);
	return off < 0 ? -1 : base + off;
}

static bool layout_from_g(Dwarf_Die *g, struct go_layout *l)
{
	Dwarf_Die m_ptr, m;

	l->stack_lo = nested_offset(g, "stack", "lo");
	l->stack_hi = nested_offset(g, "stack", "hi");
	l->sched_sp = nested_offset(g, "sched", "sp");
	l->sched_pc = nested_offset(g, "sched", "pc");
	l->sched_bp = nested_offset(g, "sched", "bp");
	l->syscallsp = member_offset(g, "syscallsp", NULL);
	l->syscallpc = member_offset(g, "syscallpc", NULL);
	l->atomicstatus = member_offset(g, "atomicstatus", NULL);
	l->goid = member_offset(g, "goid", NULL);
	l->waitsince = member_offset(g, "waitsince", NULL);
	l->waitreason = member_offset(g, "waitreason", NULL);
	l->gopc = member_offset(g, "gopc", NULL);
	l->startpc = member_offset(g, "startpc", NULL);
	l->parent_goid = member_offset(g, "parentGoid", NULL);
	l->lockedm = member_offset(g, "lockedm", NULL);
	l->m = member_offset(g, "m", &m_ptr);
	l->m_procid = -1;
	if (l->m >= 0 && dwarf_tag(&m_ptr) == DW_TAG_pointer_type && die_type(&m_ptr, &m))
		l->m_procid = member_offset(&m, "procid", NULL);
	l->from_dwarf = true;
	return l->stack_lo >= 0 && l->stack_hi >= 0 && l->sched_sp >= 0 && l->sched_pc >= 0 &&
	       l->sched_bp >= 0 && l->atomicstatus >= 0 && l->goid >= 0 && l->waitsince >= 0 &&
	       l->waitreason >= 0 && l->gopc >= 0 && l->startpc >= 0;
}

/*
 * The runtime.g type, from the top-level DIEs of each unit, into l.  With
 * a wrappers_to (no usable .gopclntab) also the functions Go's linker
 * marks DW_AT_trampoline: the ones it gives FuncID wrapper
 * (cmd/internal/dwarf's WRAPPER abbrevs).  Returns 0 with the layout,
 * -ENODATA without DWARF or runtime.g.
 */
static int read_dwarf(Elf *elf, struct go_layout *l, struct goproc *wrappers_to)
{
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	bool want_wrappers = wrappers_to != NULL;
	size_t header_size, cap = want_wrappers ? wrappers_to->wrapper_count : 0;
	Dwarf_Off off = 0, next;
	bool have_g = false;
	int err = 0;

	if (!dw)
		return -ENODATA;
	while (!err && !(have_g && !want_wrappers) &&
	       dwarf_nextcu(dw, off, &next, &header_size, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;

		if (dwarf_offdie(dw, off + header_size, &cu) && dwarf_child(&cu, &child) == 0) {
			do {
				int tag = dwarf_tag(&child);
				Dwarf_Addr lo, hi;
				const char *name;

				if (tag == DW_TAG_subprogram && want_wrappers &&
				    dwarf_hasattr(&child, DW_AT_trampoline) &&
				    dwarf_lowpc(&child, &lo) == 0 && dwarf_highpc(&child, &hi) == 0) {
					err = gobinary__add_wrapper(wrappers_to, &cap, lo, hi);
				} else if (tag == DW_TAG_structure_type && !have_g) {
					name = dwarf_diename(&child);
					if (name && !strcmp(name, "runtime.g"))
						have_g = layout_from_g(&child, l);
				}
			} while (!err && !(have_g && !want_wrappers) &&
				 dwarf_siblingof(&child, &child) == 0);
		}
		off = next;
	}
	dwarf_end(dw);
	if (err)
		return err;
	return have_g ? 0 : -ENODATA;
}

/*
 * runtime.g offsets for binaries linked with -w (no DWARF), as each
 * release's DWARF has them: 1.19 and 1.21 to 1.27 are checked against the
 * DWARF of binaries built by that release (tests/unit/go/test_govars.c,
 * driven by tests/integration/test_go_stripped.py); 1.20 is computed from
 * its runtime2.go.  syscallsp and syscallpc follow sched (whose last word
 * is bp) in every one of them.
 */
static const struct {
	int minor;
	struct go_layout l;
} layout_table[] = {
#define L(bp_, st_, id_, ws_, wr_, lm_, par_, gopc_, start_, procid_) \
	{ .stack_lo = 0, .stack_hi = 8, .m = 48, .sched_sp = 56, .sched_pc = 64, \
	  .sched_bp = bp_, .syscallsp = bp_ + 8, .syscallpc = bp_ + 16, \
	  .atomicstatus = st_, .goid = id_, .waitsince = ws_, .waitreason = wr_, \
	  .lockedm = lm_, .parent_goid = par_, .gopc = gopc_, \
	  .startpc = start_, .m_procid = procid_ }
	{ 19, L(104, 144, 152, 168, 176, 232, -1, 296, 312, 72) },
	{ 20, L(104, 144, 152, 168, 176, 232, -1, 296, 312, 72) },
	{ 21, L(104, 144, 152, 168, 176, 208, 272, 280, 296, 72) },
	{ 22, L(104, 144, 152, 168, 176, 208, 272, 280, 296, 72) },
	{ 23, L(104, 152, 160, 176, 184, 216, 280, 288, 304, 72) },
	{ 24, L(104, 152, 160, 176, 184, 216, 280, 288, 304, 72) },
	{ 25, L(96, 144, 152, 168, 176, 208, 272, 280, 296, 64) },
	{ 26, L(96, 144, 152, 168, 176, 208, 280, 288, 304, 64) },
	{ 27, L(96, 144, 152, 168, 176, 208, 280, 288, 304, 64) },
#undef L
};
#define TABLE_SIZE (sizeof(layout_table) / sizeof(layout_table[0]))

bool golayout__table(int minor, struct go_layout *l)
{
	for (size_t i = 0; i < TABLE_SIZE; i++) {
		if (layout_table[i].minor == minor) {
			*l = layout_table[i].l;
			l->from_dwarf = false;
			golayout__finish(l);
			return true;
		}
	}
	return false;
}

int golayout__newest(void)
{
	return layout_table[TABLE_SIZE - 1].minor;
}

void golayout__finish(struct go_layout *l)
{
	const struct {
		int off, size;
	} fields[] = {
		{ l->stack_lo, 8 }, { l->stack_hi, 8 }, { l->sched_sp, 8 }, { l->sched_pc, 8 },
		{ l->sched_bp, 8 }, { l->atomicstatus, 4 }, { l->goid, 8 }, { l->waitsince, 8 },
		{ l->waitreason, 1 }, { l->gopc, 8 }, { l->startpc, 8 }, { l->parent_goid, 8 },
		{ l->lockedm, 8 }, { l->m, 8 }, { l->syscallsp, 8 }, { l->syscallpc, 8 },
	};
	int end = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].off >= 0 && fields[i].off + fields[i].size > end)
			end = fields[i].off + fields[i].size;
	l->g_read_size = end;
}

int golayout__from_dwarf(Elf *elf, struct go_layout *l)
{
	int err = read_dwarf(elf, l, NULL);

	if (!err)
		golayout__finish(l);
	return err;
}

int golayout__read(struct goproc *gp, Elf *elf, bool want_wrappers)
{
	int err = read_dwarf(elf, &gp->layout, want_wrappers ? gp : NULL);

	gp->layout_guess = 0;
	if (err == -ENOMEM)
		return err;
	if (!err) {
		golayout__finish(&gp->layout);
		return 0;
	}
	if (golayout__table(gp->minor, &gp->layout))
		return 0;
	if (gp->minor <= golayout__newest())
		return -ENODATA;
	/* a newer release: its runtime.g may well be the newest one known */
	gp->layout_guess = golayout__newest();
	golayout__table(gp->layout_guess, &gp->layout);
	return 0;
}
