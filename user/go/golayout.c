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
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "go/gobinary.h"
#include "go/golayout.h"
#include "util/dwarfmember.h"

static int nested_offset(Dwarf_Die *outer, const char *member, const char *field)
{
	Dwarf_Die type;
	int base = dwarfmember__offset(outer, member, &type), off;

	if (base < 0)
		return -1;
	off = dwarfmember__offset(&type, field, NULL);
	return off < 0 ? -1 : base + off;
}

/*
 * Offset of the pointer a member holds: the member itself, or, for Go
 * 1.26's maybeTraceablePtr (and maybeTraceableChan, which embeds one), its
 * vu word.
 */
static int pointer_offset(Dwarf_Die *type, const char *name)
{
	Dwarf_Die member_type, inner;
	int off = dwarfmember__offset(type, name, &member_type), vu;

	if (off < 0 || dwarf_tag(&member_type) != DW_TAG_structure_type)
		return off;
	vu = dwarfmember__offset(&member_type, "vu", NULL);
	if (vu >= 0)
		return off + vu;
	if (dwarfmember__offset(&member_type, "maybeTraceablePtr", &inner) != 0)
		return -1;
	vu = dwarfmember__offset(&inner, "vu", NULL);
	return vu < 0 ? -1 : off + vu;
}

static bool wait_from_sudog(Dwarf_Die *sudog, struct go_wait_layout *w)
{
	w->sudog_g = dwarfmember__offset(sudog, "g", NULL);
	w->sudog_next = dwarfmember__offset(sudog, "next", NULL);
	w->sudog_prev = dwarfmember__offset(sudog, "prev", NULL);
	w->sudog_elem = pointer_offset(sudog, "elem");
	w->sudog_waitlink = dwarfmember__offset(sudog, "waitlink", NULL);
	w->sudog_c = pointer_offset(sudog, "c");
	return w->sudog_g >= 0 && w->sudog_next >= 0 && w->sudog_prev >= 0 &&
	       w->sudog_elem >= 0 && w->sudog_waitlink >= 0 && w->sudog_c >= 0;
}

static bool wait_from_hchan(Dwarf_Die *hchan, struct go_wait_layout *w)
{
	w->hchan_qcount = dwarfmember__offset(hchan, "qcount", NULL);
	w->hchan_dataqsiz = dwarfmember__offset(hchan, "dataqsiz", NULL);
	w->hchan_closed = dwarfmember__offset(hchan, "closed", NULL);
	w->hchan_elemtype = dwarfmember__offset(hchan, "elemtype", NULL);
	w->hchan_recvq = nested_offset(hchan, "recvq", "first");
	w->hchan_sendq = nested_offset(hchan, "sendq", "first");
	return w->hchan_qcount >= 0 && w->hchan_dataqsiz >= 0 && w->hchan_closed >= 0 &&
	       w->hchan_elemtype >= 0 && w->hchan_recvq >= 0 && w->hchan_sendq >= 0;
}

static bool layout_from_g(Dwarf_Die *g, struct go_layout *l)
{
	Dwarf_Die m_ptr, m;

	l->stack_lo = nested_offset(g, "stack", "lo");
	l->stack_hi = nested_offset(g, "stack", "hi");
	l->sched_sp = nested_offset(g, "sched", "sp");
	l->sched_pc = nested_offset(g, "sched", "pc");
	l->sched_bp = nested_offset(g, "sched", "bp");
	l->syscallsp = dwarfmember__offset(g, "syscallsp", NULL);
	l->syscallpc = dwarfmember__offset(g, "syscallpc", NULL);
	l->atomicstatus = dwarfmember__offset(g, "atomicstatus", NULL);
	l->goid = dwarfmember__offset(g, "goid", NULL);
	l->waitsince = dwarfmember__offset(g, "waitsince", NULL);
	l->waitreason = dwarfmember__offset(g, "waitreason", NULL);
	l->gopc = dwarfmember__offset(g, "gopc", NULL);
	l->startpc = dwarfmember__offset(g, "startpc", NULL);
	l->parent_goid = dwarfmember__offset(g, "parentGoid", NULL);
	l->lockedm = dwarfmember__offset(g, "lockedm", NULL);
	l->waiting = dwarfmember__offset(g, "waiting", NULL);
	l->tracking_seq = dwarfmember__offset(g, "trackingSeq", NULL);
	l->m = dwarfmember__offset(g, "m", &m_ptr);
	l->m_procid = -1;
	if (l->m >= 0 && dwarf_tag(&m_ptr) == DW_TAG_pointer_type && dwarfmember__type(&m_ptr, &m))
		l->m_procid = dwarfmember__offset(&m, "procid", NULL);
	l->from_dwarf = true;
	return l->stack_lo >= 0 && l->stack_hi >= 0 && l->sched_sp >= 0 && l->sched_pc >= 0 &&
	       l->sched_bp >= 0 && l->atomicstatus >= 0 && l->goid >= 0 && l->waitsince >= 0 &&
	       l->waitreason >= 0 && l->gopc >= 0 && l->startpc >= 0;
}

static const struct go_wait_layout no_wait_layout = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/* The runtime's structs read_dwarf looks for, each found once. */
enum {
	HAVE_G = 1,
	HAVE_SUDOG = 2,
	HAVE_HCHAN = 4,
	HAVE_SEMAROOT = 8,
	HAVE_ALL = 15,
};

static unsigned int note_struct(Dwarf_Die *die, unsigned int have, struct go_layout *l)
{
	const char *name = dwarf_diename(die);

	if (!name || strncmp(name, "runtime.", 8))
		return 0;
	name += 8;
	if (!(have & HAVE_G) && !strcmp(name, "g"))
		return layout_from_g(die, l) ? HAVE_G : 0;
	if (!(have & HAVE_SUDOG) && !strcmp(name, "sudog"))
		return wait_from_sudog(die, &l->wait) ? HAVE_SUDOG : 0;
	if (!(have & HAVE_HCHAN) && !strcmp(name, "hchan"))
		return wait_from_hchan(die, &l->wait) ? HAVE_HCHAN : 0;
	if (!(have & HAVE_SEMAROOT) && !strcmp(name, "semaRoot")) {
		l->wait.semaroot_treap = dwarfmember__offset(die, "treap", NULL);
		return l->wait.semaroot_treap >= 0 ? HAVE_SEMAROOT : 0;
	}
	return 0;
}

/* What read_dwarf has found so far, and where wrappers go (NULL: not wanted). */
struct dwarf_scan {
	struct go_layout *layout;
	struct goproc *wrappers_to;
	size_t wrapper_cap;
	unsigned int have;
};

static bool scan_done(const struct dwarf_scan *scan)
{
	return scan->have == HAVE_ALL && !scan->wrappers_to;
}

static int scan_unit(Dwarf_Die *cu, struct dwarf_scan *scan)
{
	Dwarf_Die child;
	int err = 0;

	if (dwarf_child(cu, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);
		Dwarf_Addr lo, hi;

		if (tag == DW_TAG_subprogram && scan->wrappers_to &&
		    dwarf_hasattr(&child, DW_AT_trampoline) && dwarf_lowpc(&child, &lo) == 0 &&
		    dwarf_highpc(&child, &hi) == 0)
			err = gobinary__add_wrapper(scan->wrappers_to, &scan->wrapper_cap, lo, hi);
		else if (tag == DW_TAG_structure_type && scan->have != HAVE_ALL)
			scan->have |= note_struct(&child, scan->have, scan->layout);
	} while (!err && !scan_done(scan) && dwarf_siblingof(&child, &child) == 0);
	return err;
}

/* The top-level DIEs of every unit, or of the units named only_unit. */
static int scan_units(Dwarf *dw, const char *only_unit, struct dwarf_scan *scan)
{
	Dwarf_Off off = 0, next;
	size_t header_size;
	int err = 0;

	while (!err && !scan_done(scan) &&
	       dwarf_nextcu(dw, off, &next, &header_size, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		const char *name;

		if (dwarf_offdie(dw, off + header_size, &cu) &&
		    (!only_unit || ((name = dwarf_diename(&cu)) && !strcmp(name, only_unit))))
			err = scan_unit(&cu, scan);
		off = next;
	}
	return err;
}

/*
 * dwarf_begin_elf decompresses every debug section it sees; in a Go binary
 * the line tables, CFI and location and range lists, which the layout
 * doesn't use, are most of the compressed bytes.  They are hidden from it
 * as SHT_NOBITS (which it skips) and given back their type once it has
 * read the rest.
 */
static const char *const unused_debug_sections[] = {
	"line", "frame", "loc", "loclists", "ranges", "rnglists",
	"pubnames", "pubtypes", "gdb_scripts",
};
#define UNUSED_SECTIONS (sizeof(unused_debug_sections) / sizeof(unused_debug_sections[0]))

struct hidden_section {
	size_t index;
	GElf_Word type;
};

static bool unused_by_layout(const char *name)
{
	if (!strncmp(name, ".zdebug_", 8))
		name += 8;
	else if (!strncmp(name, ".debug_", 7))
		name += 7;
	else
		return false;
	for (size_t i = 0; i < UNUSED_SECTIONS; i++)
		if (!strcmp(name, unused_debug_sections[i]))
			return true;
	return false;
}

static size_t hide_unused_sections(Elf *elf, struct hidden_section *hidden)
{
	size_t shstrndx, count = 0;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	while (count < UNUSED_SECTIONS && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS ||
		    !(name = elf_strptr(elf, shstrndx, shdr.sh_name)) || !unused_by_layout(name))
			continue;
		hidden[count].index = elf_ndxscn(scn);
		hidden[count].type = shdr.sh_type;
		shdr.sh_type = SHT_NOBITS;
		if (gelf_update_shdr(scn, &shdr))
			count++;
	}
	return count;
}

static void unhide_sections(Elf *elf, const struct hidden_section *hidden, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		Elf_Scn *scn = elf_getscn(elf, hidden[i].index);
		GElf_Shdr shdr;

		if (scn && gelf_getshdr(scn, &shdr)) {
			shdr.sh_type = hidden[i].type;
			gelf_update_shdr(scn, &shdr);
		}
	}
}

/*
 * runtime.g, sudog, hchan and semaRoot, from the top-level DIEs of the
 * runtime package's unit, where Go's linker puts the runtime's types (and
 * from every unit should a linker put them elsewhere), into l (a layout of
 * the release's table stands for a wait struct DWARF lacks).  With a
 * wrappers_to (no usable .gopclntab) every unit, for the functions Go's
 * linker marks DW_AT_trampoline: the ones it gives FuncID wrapper
 * (cmd/internal/dwarf's WRAPPER abbrevs).  Returns 0 with the layout,
 * -ENODATA without DWARF or runtime.g.
 */
static int read_dwarf(Elf *elf, int minor, struct go_layout *l, struct goproc *wrappers_to)
{
	struct dwarf_scan scan = {
		.layout = l,
		.wrappers_to = wrappers_to,
		.wrapper_cap = wrappers_to ? wrappers_to->wrapper_count : 0,
	};
	struct hidden_section hidden[UNUSED_SECTIONS];
	size_t hidden_count = hide_unused_sections(elf, hidden);
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	struct go_layout table;
	int err = 0;

	unhide_sections(elf, hidden, hidden_count);
	if (!dw)
		return -ENODATA;
	if (!wrappers_to)
		err = scan_units(dw, "runtime", &scan);
	if (!err)
		err = scan_units(dw, NULL, &scan);
	dwarf_end(dw);
	if (err)
		return err;
	if (!(scan.have & HAVE_G))
		return -ENODATA;
	/* a DWARF without the wait structs (never seen): the table's, if any */
	if (scan.have != HAVE_ALL)
		l->wait = golayout__table(minor, &table) ? table.wait : no_wait_layout;
	return 0;
}

/*
 * runtime.g offsets for binaries linked with -w (no DWARF), as each
 * release's DWARF has them: 1.19 and 1.21 to 1.27 are checked against the
 * DWARF of binaries built by that release (tests/unit/go/test_govars.c,
 * driven by tests/integration/test_go_stripped.py); 1.20 is computed from
 * its runtime2.go.  syscallsp and syscallpc follow sched (whose last word
 * is bp) in every one of them.  The wait structs (chan.go, runtime2.go,
 * sema.go): hchan gains a timer before elemtype in 1.23; sudog's elem and
 * c become 16-byte maybeTraceablePtrs in 1.26, read at their vu word.
 */
#define W_119 { .sudog_g = 0, .sudog_next = 8, .sudog_prev = 16, .sudog_elem = 24, \
		.sudog_waitlink = 64, .sudog_c = 80, .hchan_qcount = 0, .hchan_dataqsiz = 8, \
		.hchan_closed = 28, .hchan_elemtype = 32, .hchan_recvq = 56, .hchan_sendq = 72, \
		.semaroot_treap = 8 }
#define W_123 { .sudog_g = 0, .sudog_next = 8, .sudog_prev = 16, .sudog_elem = 24, \
		.sudog_waitlink = 64, .sudog_c = 80, .hchan_qcount = 0, .hchan_dataqsiz = 8, \
		.hchan_closed = 28, .hchan_elemtype = 40, .hchan_recvq = 64, .hchan_sendq = 80, \
		.semaroot_treap = 8 }
#define W_126 { .sudog_g = 0, .sudog_next = 8, .sudog_prev = 16, .sudog_elem = 32, \
		.sudog_waitlink = 72, .sudog_c = 96, .hchan_qcount = 0, .hchan_dataqsiz = 8, \
		.hchan_closed = 28, .hchan_elemtype = 40, .hchan_recvq = 64, .hchan_sendq = 80, \
		.semaroot_treap = 8 }
static const struct {
	int minor;
	struct go_layout l;
} layout_table[] = {
#define L(bp_, st_, id_, ws_, wr_, lm_, par_, gopc_, start_, procid_, waiting_, wait_, ts_) \
	{ .stack_lo = 0, .stack_hi = 8, .m = 48, .sched_sp = 56, .sched_pc = 64, \
	  .sched_bp = bp_, .syscallsp = bp_ + 8, .syscallpc = bp_ + 16, \
	  .atomicstatus = st_, .goid = id_, .waitsince = ws_, .waitreason = wr_, \
	  .lockedm = lm_, .parent_goid = par_, .gopc = gopc_, \
	  .startpc = start_, .m_procid = procid_, .waiting = waiting_, .wait = wait_, \
	  .tracking_seq = ts_ }
	{ 19, L(104, 144, 152, 168, 176, 232, -1, 296, 312, 72, 328, W_119, 189) },
	{ 20, L(104, 144, 152, 168, 176, 232, -1, 296, 312, 72, 328, W_119, -1) },
	{ 21, L(104, 144, 152, 168, 176, 208, 272, 280, 296, 72, 312, W_119, 188) },
	{ 22, L(104, 144, 152, 168, 176, 208, 272, 280, 296, 72, 312, W_119, 191) },
	{ 23, L(104, 152, 160, 176, 184, 216, 280, 288, 304, 72, 320, W_123, 199) },
	{ 24, L(104, 152, 160, 176, 184, 216, 280, 288, 304, 72, 320, W_123, 199) },
	{ 25, L(96, 144, 152, 168, 176, 208, 272, 280, 296, 64, 312, W_123, 191) },
	{ 26, L(96, 144, 152, 168, 176, 208, 280, 288, 304, 64, 320, W_126, 191) },
	{ 27, L(96, 144, 152, 168, 176, 208, 280, 288, 304, 64, 320, W_126, 191) },
#undef L
};
#undef W_119
#undef W_123
#undef W_126
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
		{ l->waitreason, 1 }, { l->tracking_seq, 1 }, { l->gopc, 8 }, { l->startpc, 8 }, { l->parent_goid, 8 },
		{ l->lockedm, 8 }, { l->m, 8 }, { l->syscallsp, 8 }, { l->syscallpc, 8 },
		{ l->waiting, 8 },
	};
	int end = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].off >= 0 && fields[i].off + fields[i].size > end)
			end = fields[i].off + fields[i].size;
	l->g_read_size = end;
}

int golayout__from_dwarf(Elf *elf, struct go_layout *l)
{
	int err = read_dwarf(elf, 0, l, NULL);

	if (!err)
		golayout__finish(l);
	return err;
}

#define LAYOUT_CACHE_BINARIES 64

struct cached_layout {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct go_layout layout;
};

struct golayout_cache {
	struct cached_layout binaries[LAYOUT_CACHE_BINARIES];
	size_t count, oldest;
};

struct golayout_cache *golayout_cache__new(void)
{
	return calloc(1, sizeof(struct golayout_cache));
}

void golayout_cache__free(struct golayout_cache *cache)
{
	free(cache);
}

static bool same_binary(const struct cached_layout *c, const struct stat *exe)
{
	return c->dev == exe->st_dev && c->ino == exe->st_ino && c->size == exe->st_size &&
	       c->mtime.tv_sec == exe->st_mtim.tv_sec && c->mtime.tv_nsec == exe->st_mtim.tv_nsec;
}

static const struct go_layout *cache_find(const struct golayout_cache *cache,
					  const struct stat *exe)
{
	for (size_t i = 0; i < cache->count; i++)
		if (same_binary(&cache->binaries[i], exe))
			return &cache->binaries[i].layout;
	return NULL;
}

static void cache_add(struct golayout_cache *cache, const struct stat *exe,
		      const struct go_layout *l)
{
	struct cached_layout *c;

	if (cache->count < LAYOUT_CACHE_BINARIES) {
		c = &cache->binaries[cache->count++];
	} else {
		c = &cache->binaries[cache->oldest];
		cache->oldest = (cache->oldest + 1) % LAYOUT_CACHE_BINARIES;
	}
	*c = (struct cached_layout){ .dev = exe->st_dev, .ino = exe->st_ino,
				     .size = exe->st_size, .mtime = exe->st_mtim, .layout = *l };
}

int golayout__read(struct goproc *gp, Elf *elf, bool want_wrappers)
{
	return golayout__read_cached(gp, elf, want_wrappers, NULL, NULL);
}

int golayout__read_cached(struct goproc *gp, Elf *elf, bool want_wrappers,
			  struct golayout_cache *cache, const struct stat *exe)
{
	bool cacheable = cache && exe && !want_wrappers;
	const struct go_layout *cached = cacheable ? cache_find(cache, exe) : NULL;
	int err;

	gp->layout_guess = 0;
	if (cached) {
		gp->layout = *cached;
		return 0;
	}
	err = read_dwarf(elf, gp->minor, &gp->layout, want_wrappers ? gp : NULL);
	if (err == -ENOMEM)
		return err;
	if (!err) {
		golayout__finish(&gp->layout);
		if (cacheable)
			cache_add(cache, exe, &gp->layout);
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
