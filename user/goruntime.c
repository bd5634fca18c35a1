// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Goroutines read from outside the Go process (goruntime.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <dwarf.h>
#include <gelf.h>
#include <libelf.h>
#include <elfutils/libdw.h>
#include "goruntime.h"
#include "u64map.h"

#define GO_BATCH 2048               /* g's read together */
#define IOV_CHUNK 1024              /* IOV_MAX: ranges per process_vm_readv */
#define MERGE_GAP 512               /* g's closer than this are read as one range */
#define MAX_SPAN 65536
#define GO_STACK_WINDOW 4096        /* stack bytes copied per g; deeper frames are read one by one */
#define GO_MAX_GOROUTINES (1u << 24)
#define GO_MAX_STACK (1ULL << 30)   /* the runtime's maxstacksize on 64-bit */
#define GO_MAX_REASONS 256          /* waitReason is a uint8 */
#define GO_MAX_REASON_LEN 64
#define GO_SCAN_BIT 0x1000
#define GO_STATUS_LEAKED 10         /* Go 1.26: parked, and found unreachable by the GC */
#define USER_ADDR_END (1ULL << 47)
#define PTR_CHUNK 65536             /* allgs pointers per read */

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

struct batch;

struct goproc {
	pid_t pid;
	int mem_fd;                 /* /proc/PID/mem, when process_vm_readv is missing */
	char version[64];
	int minor;                  /* 19 for go1.19.8; 0 when unknown */
	struct go_layout layout;
	__u64 bias;                 /* PIE load bias */
	__u64 allglen, allgptr, allgs;
	__u64 fing_running;         /* runtime.fingRunning (bool, Go < 1.21) */
	__u64 fing_status;          /* runtime.fingStatus (Go >= 1.21) */
	struct range text;
	struct range sigpanic;      /* a frame it returns to holds an exact pc */
	struct func_entry *runtime_funcs; /* sorted by addr */
	size_t runtime_func_count;
	struct range *wrappers;     /* sorted */
	size_t wrapper_count;
	char **reasons;
	size_t reason_count;
	size_t dropped;
	/* buffers kept between reads */
	struct batch *batch;
	__u64 *ptrs;
	size_t ptr_cap;
};

/* ------------------------------------------------------------- memory */

static int errno_to_err(int err)
{
	switch (err) {
	case ESRCH:
		return -ESRCH;
	case EPERM:
	case EACCES:
		return -EACCES;
	case ENOMEM:
		return -ENOMEM;
	default:
		return -err;
	}
}

static int open_mem_fd(struct goproc *gp)
{
	char path[64];

	if (gp->mem_fd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", gp->pid);
	gp->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	return gp->mem_fd < 0 ? errno_to_err(errno) : 0;
}

/*
 * Reads n remote ranges into their local buffers; ok[i] says which arrived
 * whole.  process_vm_readv never splits one range but stops at the first it
 * can't read, so the reading resumes after that one; it takes IOV_MAX
 * ranges at a time.  Returns 0, or -ESRCH or -EACCES for the process as a
 * whole.
 */
static int read_ranges(struct goproc *gp, const struct iovec *local, const struct iovec *remote,
		       size_t n, bool *ok)
{
	size_t i = 0;
	int err;

	while (i < n && gp->mem_fd < 0) {
		size_t end = n - i < IOV_CHUNK ? n : i + IOV_CHUNK;
		ssize_t got = process_vm_readv(gp->pid, local + i, end - i, remote + i, end - i, 0);

		if (got < 0) {
			if (errno == EFAULT || errno == EINVAL) {
				ok[i++] = false;
				continue;
			}
			if (errno != ENOSYS)
				return errno_to_err(errno);
			err = open_mem_fd(gp); /* a kernel without CONFIG_CROSS_MEMORY_ATTACH */
			if (err)
				return err;
			break;
		}
		while (i < end && (size_t)got >= remote[i].iov_len) {
			got -= remote[i].iov_len;
			ok[i++] = true;
		}
		if (i < end)
			ok[i++] = false;
	}
	for (; i < n; i++) {
		ssize_t got = pread(gp->mem_fd, local[i].iov_base, remote[i].iov_len,
				    (off_t)(unsigned long)remote[i].iov_base);

		if (got < 0 && errno == ESRCH)
			return -ESRCH;
		ok[i] = got == (ssize_t)remote[i].iov_len;
	}
	return 0;
}

static int read_mem(struct goproc *gp, __u64 addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(unsigned long)addr, .iov_len = len };
	bool ok;
	int err = read_ranges(gp, &local, &remote, 1, &ok);

	return err ? err : ok ? 0 : -EFAULT;
}

static __u64 u64_at(const __u8 *raw, size_t off)
{
	__u64 v;

	memcpy(&v, raw + off, sizeof(v));
	return v;
}

static __u32 u32_at(const __u8 *raw, size_t off)
{
	__u32 v;

	memcpy(&v, raw + off, sizeof(v));
	return v;
}

static bool user_ptr(__u64 addr)
{
	return addr && addr < USER_ADDR_END && !(addr & 7);
}

static bool in_range(const struct range *r, __u64 addr)
{
	return addr >= r->lo && addr < r->hi;
}

/* ------------------------------------------------------ the ELF file */

static Elf_Scn *section_by_name(Elf *elf, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *scn_name;

		if (!gelf_getshdr(scn, shdr))
			continue;
		scn_name = elf_strptr(elf, shstrndx, shdr->sh_name);
		if (scn_name && !strcmp(scn_name, name))
			return scn;
	}
	return NULL;
}

/*
 * The version in .go.buildinfo: a 32-byte header (magic, pointer size,
 * flags), then, since Go 1.18 (flag 2), the version as a uvarint length and
 * its bytes.  Older binaries point at runtime.buildVersion instead.
 */
static bool buildinfo_version(Elf *elf, char *buf, size_t size, bool *is_go)
{
	static const char magic[] = "\xff Go buildinf:";
	GElf_Shdr shdr;
	Elf_Scn *scn = section_by_name(elf, ".go.buildinfo", &shdr);
	Elf_Data *data = scn && shdr.sh_type == SHT_PROGBITS ? elf_getdata(scn, NULL) : NULL;
	const __u8 *bytes;
	__u64 len = 0;
	size_t pos = 32;

	if (!data || data->d_size < 32 || memcmp(data->d_buf, magic, sizeof(magic) - 1))
		return false;
	*is_go = true;
	bytes = data->d_buf;
	if (!(bytes[15] & 2))
		return false;
	for (int shift = 0; pos < data->d_size && shift < 64; shift += 7) {
		__u8 b = bytes[pos++];

		len |= (__u64)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	if (!len || len >= size || len > data->d_size - pos)
		return false;
	memcpy(buf, bytes + pos, len);
	buf[len] = '\0';
	return true;
}

/* "go1.19.8", "devel go1.23-abcdef": the minor version, 0 if none. */
static int version_minor(const char *version)
{
	const char *go = strstr(version, "go1.");
	int minor = 0;

	if (go)
		sscanf(go + 4, "%d", &minor);
	return minor;
}

static bool has_section(Elf *elf, const char *name)
{
	GElf_Shdr shdr;

	return section_by_name(elf, name, &shdr) != NULL;
}

static int by_func_addr(const void *a, const void *b)
{
	const struct func_entry *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int by_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

struct go_symbols {
	GElf_Sym allglen, allgptr, allgs, reasons, build_version, fing_running, fing_status;
	bool have_allglen, have_allgptr, have_allgs, have_reasons, have_build_version,
		have_fing_running, have_fing_status;
	__u64 text;                 /* runtime.text: where pclntab's entry offsets start */
	__u64 systemstack_switch;   /* its funcID is the one before FuncID wrapper */
};

static void note_object(struct go_symbols *syms, const char *name, const GElf_Sym *sym)
{
	const struct {
		const char *name;
		GElf_Sym *sym;
		bool *have;
	} wanted[] = {
		{ "runtime.allglen", &syms->allglen, &syms->have_allglen },
		{ "runtime.allgptr", &syms->allgptr, &syms->have_allgptr },
		{ "runtime.allgs", &syms->allgs, &syms->have_allgs },
		{ "runtime.waitReasonStrings", &syms->reasons, &syms->have_reasons },
		{ "runtime.buildVersion", &syms->build_version, &syms->have_build_version },
		{ "runtime.fingRunning", &syms->fing_running, &syms->have_fing_running },
		{ "runtime.fingStatus", &syms->fing_status, &syms->have_fing_status },
	};

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!strcmp(name, wanted[i].name)) {
			*wanted[i].sym = *sym;
			*wanted[i].have = true;
		}
	}
}

static int add_runtime_func(struct goproc *gp, size_t *cap, const char *name, __u64 addr)
{
	struct func_entry *entry;

	if (gp->runtime_func_count == *cap) {
		size_t bigger = *cap ? *cap * 2 : 1024;
		struct func_entry *grown = realloc(gp->runtime_funcs, bigger * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		gp->runtime_funcs = grown;
		*cap = bigger;
	}
	entry = &gp->runtime_funcs[gp->runtime_func_count++];
	entry->addr = addr;
	if (!strcmp(name, "runtime.main") || !strcmp(name, "runtime.corostart"))
		entry->kind = FUNC_USER;
	else if (!strcmp(name, "runtime.runfinq"))
		entry->kind = FUNC_RUNFINQ;
	else
		entry->kind = FUNC_SYSTEM;
	return 0;
}

/*
 * .symtab: the runtime variables goroutine mode reads, and the entries of
 * runtime.* functions, which tell system goroutines from user ones by
 * their start pc the way the runtime's isSystemGoroutine does.
 */
static int read_symtab(struct goproc *gp, Elf *elf, struct go_symbols *syms)
{
	Elf_Scn *scn = NULL;
	size_t cap = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB || !shdr.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
			const char *name;
			GElf_Sym sym;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			name = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (!name || strncmp(name, "runtime.", 8))
				continue;
			if (GELF_ST_TYPE(sym.st_info) == STT_OBJECT) {
				note_object(syms, name, &sym);
			} else if (GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_value) {
				if (!strcmp(name, "runtime.text"))
					syms->text = sym.st_value;
				else if (!strcmp(name, "runtime.systemstack_switch") ||
					 !strcmp(name, "runtime.systemstack_switch.abi0"))
					syms->systemstack_switch = sym.st_value;
				if (add_runtime_func(gp, &cap, name, sym.st_value + gp->bias))
					return -ENOMEM;
				if (!strcmp(name, "runtime.sigpanic")) {
					gp->sigpanic.lo = sym.st_value + gp->bias;
					gp->sigpanic.hi = gp->sigpanic.lo + sym.st_size;
				}
			}
		}
	}
	qsort(gp->runtime_funcs, gp->runtime_func_count, sizeof(*gp->runtime_funcs), by_func_addr);
	return 0;
}

/* The executable segment: every pc of a goroutine stack lies in it (cgo
 * frames run on the thread's own stack, never on a goroutine's). */
static void read_text_range(struct goproc *gp, Elf *elf)
{
	size_t phnum;

	if (elf_getphdrnum(elf, &phnum))
		return;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr phdr;

		if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_LOAD ||
		    !(phdr.p_flags & PF_X))
			continue;
		if (!gp->text.hi || phdr.p_vaddr + gp->bias < gp->text.lo)
			gp->text.lo = phdr.p_vaddr + gp->bias;
		if (phdr.p_vaddr + phdr.p_memsz + gp->bias > gp->text.hi)
			gp->text.hi = phdr.p_vaddr + phdr.p_memsz + gp->bias;
	}
}

/*
 * PIE (-buildmode=pie): where the kernel put the file, from the mapping of
 * its first page in /proc/PID/maps.  Matched by device and inode, else by
 * path: overlayfs (containers) shows the lower file's inode in maps.
 */
static int read_load_bias(struct goproc *gp, Elf *elf, const struct stat *exe)
{
	char path[64], exe_path[PATH_MAX], line[PATH_MAX + 128];
	unsigned long long by_path = 0;
	__u64 first_vaddr = 0;
	bool found_load = false, have_path = false;
	GElf_Ehdr ehdr;
	size_t phnum;
	ssize_t len;
	FILE *maps;
	int err = -ENODATA;

	if (!gelf_getehdr(elf, &ehdr) || ehdr.e_type != ET_DYN)
		return 0;
	if (elf_getphdrnum(elf, &phnum))
		return -ENODATA;
	for (size_t i = 0; i < phnum && !found_load; i++) {
		GElf_Phdr phdr;

		if (gelf_getphdr(elf, (int)i, &phdr) && phdr.p_type == PT_LOAD && !phdr.p_offset) {
			first_vaddr = phdr.p_vaddr & ~0xfffULL;
			found_load = true;
		}
	}
	if (!found_load)
		return -ENODATA;
	snprintf(path, sizeof(path), "/proc/%d/exe", gp->pid);
	len = readlink(path, exe_path, sizeof(exe_path) - 1);
	if (len > 0) {
		exe_path[len] = '\0';
		have_path = true;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", gp->pid);
	maps = fopen(path, "re");
	if (!maps)
		return errno_to_err(errno);
	while (fgets(line, sizeof(line), maps)) {
		unsigned long long start, end, offset;
		unsigned int dev_major, dev_minor;
		unsigned long inode;
		char perms[8];
		int name_at = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %lu %n", &start, &end, perms, &offset,
			   &dev_major, &dev_minor, &inode, &name_at) != 7 || offset)
			continue;
		if (inode == exe->st_ino && dev_major == major(exe->st_dev) &&
		    dev_minor == minor(exe->st_dev)) {
			gp->bias = start - first_vaddr;
			err = 0;
			break;
		}
		line[strcspn(line, "\n")] = '\0';
		if (!by_path && have_path && name_at && !strcmp(line + name_at, exe_path))
			by_path = start;
	}
	fclose(maps);
	if (err && by_path) {
		gp->bias = by_path - first_vaddr;
		err = 0;
	}
	return err;
}

/* --------------------------------------------------------- .gopclntab */

static int add_wrapper_range(struct goproc *gp, size_t *cap, __u64 lo, __u64 hi)
{
	if (gp->wrapper_count == *cap) {
		size_t bigger = *cap ? *cap * 2 : 256;
		struct range *grown = realloc(gp->wrappers, bigger * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		gp->wrappers = grown;
		*cap = bigger;
	}
	gp->wrappers[gp->wrapper_count].lo = lo + gp->bias;
	gp->wrappers[gp->wrapper_count++].hi = hi + gp->bias;
	return 0;
}

#define PCLN_MAGIC_118 0xfffffff0u  /* Go 1.18, 1.19 */
#define PCLN_MAGIC_120 0xfffffff1u  /* Go 1.20 and later */

static int functab_find(const __u8 *functab, __u64 nfunc, __u32 entryoff)
{
	__u64 lo = 0, hi = nfunc;

	while (lo < hi) {
		__u64 mid = lo + (hi - lo) / 2;
		__u32 entry = u32_at(functab, mid * 8);

		if (entry == entryoff)
			return (int)mid;
		if (entry < entryoff)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * The functions the compiler generated (FuncID wrapper: the closures of
 * `go f(x)`, promoted-method and interface wrappers), which Go's tracebacks
 * leave out.  From .gopclntab, which even stripped binaries keep: a header
 * (magic, nfunc, offset of the function table), then {entry offset, _func
 * offset} pairs; each _func has its funcID after 9 (1.18, 1.19) or 10
 * (1.20+) 32-bit words.  The wrapper's number moves between versions but
 * always follows systemstack_switch's, so it is read off that function.
 * Returns 0, or -ENOTSUP for a layout this code doesn't know.
 */
static int read_pclntab_wrappers(struct goproc *gp, Elf *elf, const struct go_symbols *syms)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = section_by_name(elf, ".gopclntab", &shdr);
	Elf_Data *data = scn && shdr.sh_type == SHT_PROGBITS ? elf_getdata(scn, NULL) : NULL;
	const __u8 *tab, *functab;
	__u64 nfunc, pcln, text, funcs_end;
	size_t size, cap = 0;
	int funcid_at, marker;
	__u8 wrapper;
	__u32 magic;

	if (!data || data->d_size < 72 || !syms->systemstack_switch)
		return -ENOTSUP;
	tab = data->d_buf;
	size = data->d_size;
	magic = u32_at(tab, 0);
	if (magic != PCLN_MAGIC_118 && magic != PCLN_MAGIC_120)
		return -ENOTSUP;
	funcid_at = magic == PCLN_MAGIC_118 ? 36 : 40;
	nfunc = u64_at(tab, 8);
	text = syms->text ? syms->text : u64_at(tab, 24);
	pcln = u64_at(tab, 64);
	/* nfunc + 1 {entry, funcoff} pairs, the last one closing the table */
	if (tab[7] != 8 || pcln >= size || nfunc >= (size - pcln) / 8 ||
	    syms->systemstack_switch < text || syms->systemstack_switch - text > UINT32_MAX)
		return -ENOTSUP;
	functab = tab + pcln;
	funcs_end = size - pcln; /* a _func's funcID must lie before this */
	marker = functab_find(functab, nfunc, (__u32)(syms->systemstack_switch - text));
	if (marker < 0 || (__u64)u32_at(functab, marker * 8 + 4) + funcid_at >= funcs_end)
		return -ENOTSUP;
	wrapper = functab[u32_at(functab, marker * 8 + 4) + funcid_at] + 1;
	for (__u64 i = 0; i < nfunc; i++) {
		__u64 funcoff = u32_at(functab, i * 8 + 4);

		if (funcoff + funcid_at >= funcs_end)
			return -ENOTSUP;
		if (functab[funcoff + funcid_at] != wrapper)
			continue;
		if (add_wrapper_range(gp, &cap, text + u32_at(functab, i * 8),
				      text + u32_at(functab, i * 8 + 8)))
			return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------- DWARF */

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
 * The runtime.g type, from the top-level DIEs of each unit.  With
 * want_wrappers (no usable .gopclntab) also the functions Go's linker marks
 * DW_AT_trampoline: the ones it gives FuncID wrapper (cmd/internal/dwarf's
 * WRAPPER abbrevs).  Returns 0 with the layout, -ENODATA without DWARF or
 * runtime.g.
 */
static int read_dwarf(struct goproc *gp, Elf *elf, bool want_wrappers)
{
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	Dwarf_Off off = 0, next;
	size_t header_size, cap = gp->wrapper_count;
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
					err = add_wrapper_range(gp, &cap, lo, hi);
				} else if (tag == DW_TAG_structure_type && !have_g) {
					name = dwarf_diename(&child);
					if (name && !strcmp(name, "runtime.g"))
						have_g = layout_from_g(&child, &gp->layout);
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
 * runtime.g offsets for binaries linked with -w (no DWARF), from
 * shared/docs/FORMATS-REFERENCE.md §3.4: measured on 1.19, 1.21-1.24 and
 * 1.26, computed from runtime2.go for 1.20 and 1.25.
 */
static const struct {
	int minor;
	struct go_layout l;
} layout_table[] = {
#define L(bp_, st_, id_, ws_, wr_, lm_, par_, gopc_, start_, procid_) \
	{ .stack_lo = 0, .stack_hi = 8, .m = 48, .sched_sp = 56, .sched_pc = 64, \
	  .sched_bp = bp_, .atomicstatus = st_, .goid = id_, .waitsince = ws_, \
	  .waitreason = wr_, .lockedm = lm_, .parent_goid = par_, .gopc = gopc_, \
	  .startpc = start_, .m_procid = procid_ }
	{ 19, L(104, 144, 152, 168, 176, 232, -1, 296, 312, 72) },
	{ 20, L(104, 144, 152, 168, 176, 232, -1, 296, 312, 72) },
	{ 21, L(104, 144, 152, 168, 176, 208, 272, 280, 296, 72) },
	{ 22, L(104, 144, 152, 168, 176, 208, 272, 280, 296, 72) },
	{ 23, L(104, 152, 160, 176, 184, 216, 280, 288, 304, 72) },
	{ 24, L(104, 152, 160, 176, 184, 216, 280, 288, 304, 72) },
	{ 25, L(96, 144, 152, 168, 176, 208, 272, 280, 296, -1) },
	{ 26, L(96, 144, 152, 168, 176, 208, 280, 288, 304, 64) },
#undef L
};

static bool layout_from_table(int minor, struct go_layout *l)
{
	for (size_t i = 0; i < sizeof(layout_table) / sizeof(layout_table[0]); i++) {
		if (layout_table[i].minor == minor) {
			*l = layout_table[i].l;
			l->from_dwarf = false;
			return true;
		}
	}
	return false;
}

/* Reads stop at the last field used, not at the end of runtime.g. */
static void finish_layout(struct go_layout *l)
{
	const struct {
		int off, size;
	} fields[] = {
		{ l->stack_lo, 8 }, { l->stack_hi, 8 }, { l->sched_sp, 8 }, { l->sched_pc, 8 },
		{ l->sched_bp, 8 }, { l->atomicstatus, 4 }, { l->goid, 8 }, { l->waitsince, 8 },
		{ l->waitreason, 1 }, { l->gopc, 8 }, { l->startpc, 8 }, { l->parent_goid, 8 },
		{ l->lockedm, 8 }, { l->m, 8 },
	};
	int end = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].off >= 0 && fields[i].off + fields[i].size > end)
			end = fields[i].off + fields[i].size;
	l->g_read_size = end;
}

/* ------------------------------------------------- target memory at open */

/* A Go string header {ptr, len} at addr, copied into buf. */
static int read_go_string(struct goproc *gp, __u64 addr, char *buf, size_t size)
{
	__u64 header[2];
	int err = read_mem(gp, addr, header, sizeof(header));

	if (err)
		return err;
	if (!header[0] || header[1] >= size)
		return -EFAULT;
	err = read_mem(gp, header[0], buf, header[1]);
	if (!err)
		buf[header[1]] = '\0';
	return err;
}

/* runtime.waitReasonStrings: [N]string, N = symbol size / 16. */
static int read_wait_reasons(struct goproc *gp, __u64 addr, __u64 size)
{
	size_t n = size / 16 < GO_MAX_REASONS ? size / 16 : GO_MAX_REASONS;
	struct iovec local[GO_MAX_REASONS], remote[GO_MAX_REASONS];
	char text[GO_MAX_REASONS][GO_MAX_REASON_LEN + 1];
	bool ok[GO_MAX_REASONS];
	__u64 headers[GO_MAX_REASONS][2];
	size_t count = 0;
	int err;

	if (!n)
		return 0;
	err = read_mem(gp, addr, headers, n * 16);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		__u64 len = headers[i][1] <= GO_MAX_REASON_LEN ? headers[i][1] : 0;

		local[i] = (struct iovec){ .iov_base = text[i], .iov_len = len };
		remote[i] = (struct iovec){ .iov_base = (void *)(unsigned long)headers[i][0],
					    .iov_len = len };
		text[i][len] = '\0';
	}
	err = read_ranges(gp, local, remote, n, ok);
	if (err)
		return err;
	gp->reasons = calloc(n, sizeof(*gp->reasons));
	if (!gp->reasons)
		return -ENOMEM;
	gp->reason_count = n;
	for (size_t i = 0; i < n; i++) {
		if (!ok[i] || headers[i][1] > GO_MAX_REASON_LEN)
			continue; /* an unreadable entry stays NULL: "unknown" */
		gp->reasons[i] = strdup(text[i]);
		if (!gp->reasons[i])
			return -ENOMEM;
		count++;
	}
	return count ? 0 : -EFAULT;
}

static int open_exe(pid_t pid, struct stat *st)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : errno_to_err(errno);
	if (fstat(fd, st)) {
		int err = errno_to_err(errno);

		close(fd);
		return err;
	}
	return fd;
}

static int batch_new(int g_size, struct batch **out);
static void batch_free(struct batch *b);
static int check_layout(struct goproc *gp);

static int goproc_load(struct goproc *gp, Elf *elf, const struct stat *exe)
{
	struct go_symbols syms = { 0 };
	bool is_go = false, want_wrappers;
	GElf_Ehdr ehdr;
	int err;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr))
		return -ENOEXEC;
	if (buildinfo_version(elf, gp->version, sizeof(gp->version), &is_go))
		gp->minor = version_minor(gp->version);
	/* pre-1.18 binaries and ones without .go.buildinfo still carry these */
	if (!is_go && !has_section(elf, ".gopclntab") && !has_section(elf, ".note.go.buildid"))
		return -ENOEXEC;
	if (ehdr.e_machine != EM_X86_64)
		return -ENOEXEC; /* goroutine stacks are only walked on amd64 */

	err = read_load_bias(gp, elf, exe);
	if (err)
		return err;
	read_text_range(gp, elf);
	err = read_symtab(gp, elf, &syms);
	if (err)
		return err;
	/* stripped (-s): allgs can't be found, whatever the version */
	if (!syms.have_allglen || !(syms.have_allgptr || syms.have_allgs) || !gp->text.hi)
		return -ENODATA;
	gp->allglen = syms.allglen.st_value + gp->bias;
	gp->allgptr = syms.have_allgptr ? syms.allgptr.st_value + gp->bias : 0;
	gp->allgs = syms.have_allgs ? syms.allgs.st_value + gp->bias : 0;
	gp->fing_running = syms.have_fing_running ? syms.fing_running.st_value + gp->bias : 0;
	gp->fing_status = syms.have_fing_status ? syms.fing_status.st_value + gp->bias : 0;

	/* can we read it at all? */
	{
		__u64 len;

		err = read_mem(gp, gp->allglen, &len, sizeof(len));
		if (err)
			return err;
	}
	if (!gp->version[0] && syms.have_build_version &&
	    !read_go_string(gp, syms.build_version.st_value + gp->bias, gp->version,
			    sizeof(gp->version)))
		gp->minor = version_minor(gp->version);
	if (!gp->version[0])
		snprintf(gp->version, sizeof(gp->version), "unknown");

	err = read_pclntab_wrappers(gp, elf, &syms);
	if (err == -ENOMEM)
		return err;
	want_wrappers = err != 0;
	err = read_dwarf(gp, elf, want_wrappers);
	if (err == -ENOMEM)
		return err;
	if (err && !layout_from_table(gp->minor, &gp->layout))
		return -ENODATA;
	finish_layout(&gp->layout);
	qsort(gp->wrappers, gp->wrapper_count, sizeof(*gp->wrappers), by_range);

	if (syms.have_reasons) {
		err = read_wait_reasons(gp, syms.reasons.st_value + gp->bias, syms.reasons.st_size);
		if (err == -ENOMEM || err == -ESRCH || err == -EACCES)
			return err;
		/* else: reasons stay unknown, the codes are still reported */
	}
	return check_layout(gp);
}

int goproc__open(pid_t pid, struct goproc **out)
{
	struct goproc *gp;
	struct stat exe;
	Elf *elf;
	int fd, err;

	*out = NULL;
	if (pid <= 0)
		return -ESRCH;
	elf_version(EV_CURRENT);
	fd = open_exe(pid, &exe);
	if (fd < 0)
		return fd;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		close(fd);
		return -ENOEXEC;
	}
	gp = calloc(1, sizeof(*gp));
	if (!gp) {
		err = -ENOMEM;
		goto out;
	}
	gp->pid = pid;
	gp->mem_fd = -1;
	err = goproc_load(gp, elf, &exe);
	if (!err)
		err = batch_new(gp->layout.g_read_size, &gp->batch);
	if (err) {
		goproc__free(gp);
		gp = NULL;
	}
	*out = gp;
out:
	elf_end(elf);
	close(fd);
	return err;
}

void goproc__free(struct goproc *gp)
{
	if (!gp)
		return;
	for (size_t i = 0; i < gp->reason_count; i++)
		free(gp->reasons[i]);
	free(gp->reasons);
	free(gp->runtime_funcs);
	free(gp->wrappers);
	batch_free(gp->batch);
	free(gp->ptrs);
	if (gp->mem_fd >= 0)
		close(gp->mem_fd);
	free(gp);
}

const char *goproc__version(const struct goproc *gp)
{
	return gp->version;
}

const struct go_layout *goproc__layout(const struct goproc *gp)
{
	return &gp->layout;
}

bool goproc__has_parent_goid(const struct goproc *gp)
{
	return gp->layout.parent_goid >= 0;
}

size_t goproc__dropped(const struct goproc *gp)
{
	return gp->dropped;
}

bool goproc__is_wrapper(const struct goproc *gp, __u64 pc)
{
	size_t lo = 0, hi = gp->wrapper_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pc < gp->wrappers[mid].lo)
			hi = mid;
		else if (pc >= gp->wrappers[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

void goroutine__free_all(struct goroutine *goroutines)
{
	free(goroutines);
}

/* ------------------------------------------------------------- reading */

/* Collects goroutines and their pcs; pcs become pointers only at the end,
 * when both arrays stop moving. */
struct collector {
	struct goroutine *items;
	size_t *pc_offsets;
	size_t count, cap;
	__u64 *pcs;
	size_t pc_count, pc_cap;
	__u64 *again;               /* g's that changed while the first pass read them */
	size_t again_count;
	__u64 now_ns;
	bool finalizer_running;
	size_t dropped;
};

/* One g as read. */
struct graw {
	__u64 addr, goid, sp, pc, bp, lo, hi, gopc, startpc, parent, lockedm, m;
	__s64 waitsince;
	__u32 status;               /* scan bit stripped */
	__u8 reason;
};

enum g_fate {
	G_SKIP,                     /* dead or idle */
	G_INCONSISTENT,             /* unreadable, or read mid-change */
	G_NO_STACK,
	G_STACK,
};

/* Scratch space of one batch, kept in the goproc between reads. */
struct batch {
	int g_size;
	struct iovec *local, *remote;
	bool *ok;                   /* per range */
	bool *g_ok;                 /* per g */
	__u32 *order;               /* the batch's indexes by g address */
	__u32 *slot;                /* per sorted g: its range; later, per range: its g */
	__u64 *span_start;
	size_t *span_at;            /* where each range lands in span_buf */
	struct graw *raws;
	enum g_fate *fate;
	__u8 *gbuf, *hbuf, *span_buf;
	__u8 *sbuf;                 /* stack windows, packed */
	size_t sbuf_cap;
	size_t *stack_at;
};

static void batch_free(struct batch *b)
{
	if (!b)
		return;
	free(b->local);
	free(b->remote);
	free(b->ok);
	free(b->g_ok);
	free(b->order);
	free(b->slot);
	free(b->span_start);
	free(b->span_at);
	free(b->raws);
	free(b->fate);
	free(b->gbuf);
	free(b->hbuf);
	free(b->span_buf);
	free(b->sbuf);
	free(b->stack_at);
	free(b);
}

static int batch_new(int g_size, struct batch **out)
{
	struct batch *b = calloc(1, sizeof(*b));

	*out = b;
	if (!b)
		return -ENOMEM;
	b->g_size = g_size;
	b->local = calloc(GO_BATCH, sizeof(*b->local));
	b->remote = calloc(GO_BATCH, sizeof(*b->remote));
	b->ok = calloc(GO_BATCH, sizeof(*b->ok));
	b->g_ok = calloc(GO_BATCH, sizeof(*b->g_ok));
	b->order = calloc(GO_BATCH, sizeof(*b->order));
	b->slot = calloc(GO_BATCH, sizeof(*b->slot));
	b->span_start = calloc(GO_BATCH, sizeof(*b->span_start));
	b->span_at = calloc(GO_BATCH, sizeof(*b->span_at));
	b->raws = calloc(GO_BATCH, sizeof(*b->raws));
	b->fate = calloc(GO_BATCH, sizeof(*b->fate));
	b->gbuf = malloc((size_t)GO_BATCH * g_size);
	b->hbuf = malloc((size_t)GO_BATCH * g_size);
	b->span_buf = malloc((size_t)GO_BATCH * (g_size + MERGE_GAP));
	b->stack_at = calloc(GO_BATCH, sizeof(*b->stack_at));
	if (!b->local || !b->remote || !b->ok || !b->g_ok || !b->order || !b->slot ||
	    !b->span_start || !b->span_at || !b->raws || !b->fate || !b->gbuf || !b->hbuf ||
	    !b->span_buf || !b->stack_at) {
		batch_free(b);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int by_addr(const void *a, const void *b, void *ctx)
{
	const __u64 *addrs = ctx;
	__u64 x = addrs[*(const __u32 *)a], y = addrs[*(const __u32 *)b];

	return x < y ? -1 : x > y;
}

/*
 * Copies size bytes at addrs[i] + off to dst + i * size for every g of the
 * batch (b->order must sort them by address), reading neighbours as one
 * range: g's sit side by side in heap spans, and process_vm_readv costs
 * per range and page far more than per byte.  A merged range that fails
 * is read again g by g.  b->g_ok[i] says what arrived.
 */
static int read_coalesced(struct goproc *gp, struct batch *b, const __u64 *addrs, size_t n,
			  int off, int size, __u8 *dst)
{
	size_t spans = 0, used = 0, retry = 0;
	int err;

	for (size_t k = 0; k < n; k++) {
		__u64 at = addrs[b->order[k]] + off;
		size_t last = spans - 1;

		if (spans && at < b->span_start[last] + b->remote[last].iov_len + MERGE_GAP &&
		    at + size - b->span_start[last] <= MAX_SPAN) {
			size_t end = at + size - b->span_start[last];

			if (end > b->remote[last].iov_len) {
				used += end - b->remote[last].iov_len;
				b->remote[last].iov_len = end;
			}
		} else {
			b->span_start[spans] = at;
			b->span_at[spans] = used;
			b->remote[spans].iov_len = size;
			used += size;
			spans++;
		}
		b->slot[k] = (__u32)(spans - 1);
	}
	for (size_t j = 0; j < spans; j++) {
		b->remote[j].iov_base = (void *)(unsigned long)b->span_start[j];
		b->local[j] = (struct iovec){ b->span_buf + b->span_at[j], b->remote[j].iov_len };
	}
	err = read_ranges(gp, b->local, b->remote, spans, b->ok);
	if (err)
		return err;
	for (size_t k = 0; k < n; k++) {
		__u32 i = b->order[k], j = b->slot[k];

		b->g_ok[i] = b->ok[j];
		if (b->ok[j])
			memcpy(dst + (size_t)i * size,
			       b->span_buf + b->span_at[j] + (addrs[i] + off - b->span_start[j]), size);
	}
	/* a range spanning an unmapped hole: its g's one by one */
	for (size_t k = 0; k < n; k++) {
		__u32 i = b->order[k];

		if (b->g_ok[i])
			continue;
		b->local[retry] = (struct iovec){ dst + (size_t)i * size, size };
		b->remote[retry] = (struct iovec){ (void *)(unsigned long)(addrs[i] + off), size };
		b->slot[retry++] = i;
	}
	if (!retry)
		return 0;
	err = read_ranges(gp, b->local, b->remote, retry, b->ok);
	if (err)
		return err;
	for (size_t r = 0; r < retry; r++)
		b->g_ok[b->slot[r]] = b->ok[r];
	return 0;
}

static void decode_g(const struct go_layout *l, __u64 addr, const __u8 *raw, struct graw *g)
{
	g->addr = addr;
	g->status = u32_at(raw, l->atomicstatus) & ~GO_SCAN_BIT;
	g->goid = u64_at(raw, l->goid);
	g->sp = u64_at(raw, l->sched_sp);
	g->pc = u64_at(raw, l->sched_pc);
	g->bp = u64_at(raw, l->sched_bp);
	g->lo = u64_at(raw, l->stack_lo);
	g->hi = u64_at(raw, l->stack_hi);
	g->gopc = u64_at(raw, l->gopc);
	g->startpc = u64_at(raw, l->startpc);
	g->waitsince = (__s64)u64_at(raw, l->waitsince);
	g->reason = raw[l->waitreason];
	g->parent = l->parent_goid >= 0 ? u64_at(raw, l->parent_goid) : 0;
	g->lockedm = l->lockedm >= 0 ? u64_at(raw, l->lockedm) : 0;
	g->m = l->m >= 0 ? u64_at(raw, l->m) : 0;
}

/* Parked, runnable or preempted: its sched registers describe its stack. */
static bool has_saved_stack(__u32 status)
{
	return status == GO_STATUS_WAITING || status == GO_STATUS_RUNNABLE ||
	       status == GO_STATUS_PREEMPTED || status == GO_STATUS_LEAKED;
}

/* Fields every live g has, whatever its state; false means we read it
 * mid-change (or it was never a g). */
static bool g_consistent(const struct goproc *gp, const struct graw *g)
{
	if (!g->goid || g->goid > (1ULL << 62))
		return false;
	if (!user_ptr(g->lo) || g->hi <= g->lo || g->hi - g->lo > GO_MAX_STACK ||
	    g->hi > USER_ADDR_END)
		return false;
	if (!has_saved_stack(g->status))
		return true;
	return g->sp >= g->lo && g->sp < g->hi && !(g->sp & 7) && in_range(&gp->text, g->pc);
}

/* Fields that must not have moved between the first read and the stack's:
 * compared in the header copy, which starts at offset lo of the g. */
static bool same_header(const struct go_layout *l, int lo, const struct graw *g, const __u8 *raw)
{
	return (u32_at(raw, l->atomicstatus - lo) & ~GO_SCAN_BIT) == g->status &&
	       u64_at(raw, l->goid - lo) == g->goid && u64_at(raw, l->sched_sp - lo) == g->sp &&
	       u64_at(raw, l->sched_pc - lo) == g->pc && u64_at(raw, l->sched_bp - lo) == g->bp;
}

struct stack_view {
	const __u8 *buf;            /* copy of [base, base + len) */
	__u64 base, len;
};

static bool stack_word(struct goproc *gp, const struct stack_view *view, __u64 addr, __u64 *word)
{
	if (addr >= view->base && addr - view->base + 8 <= view->len) {
		memcpy(word, view->buf + (addr - view->base), 8);
		return true;
	}
	/* beyond the copied window: a deep stack, read word by word */
	return read_mem(gp, addr, word, 8) == 0;
}

static void mark_exact(__u64 exact[2], int i)
{
	exact[i / 64] |= 1ULL << (i % 64);
}

/*
 * Frame pointers from the saved registers: [bp] is the caller's bp,
 * [bp + 8] the return address into it.  Each frame must lie in the g's
 * stack above sp and above the previous one, and each pc in the text: a
 * walk that leaves those bounds stops there, marked truncated.
 */
static int walk_stack(struct goproc *gp, const struct graw *g, const struct stack_view *view,
		      __u64 *pcs, __u64 exact[2], bool *truncated)
{
	__u64 fp = g->bp, ret, next;
	int depth = 0;

	exact[0] = exact[1] = 0;
	*truncated = false;
	pcs[depth++] = g->pc;
	if (g->pc == g->startpc) {
		/* never ran: gostartcall left goexit's pc at sp, and no frame yet */
		mark_exact(exact, 0);
		if (!fp && stack_word(gp, view, g->sp, &ret) && in_range(&gp->text, ret))
			pcs[depth++] = ret;
		return depth;
	}
	while (fp) {
		if (depth >= GO_MAX_DEPTH || fp & 7 || fp < g->sp || fp > g->hi - 16 ||
		    !stack_word(gp, view, fp, &next) || !stack_word(gp, view, fp + 8, &ret)) {
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

static int collector_add(struct collector *c, const struct goroutine *g, const __u64 *pcs)
{
	if (c->count == c->cap) {
		size_t bigger = c->cap ? c->cap * 2 : 1024;
		struct goroutine *items = realloc(c->items, bigger * sizeof(*items));
		size_t *offsets;

		if (!items)
			return -ENOMEM;
		c->items = items;
		offsets = realloc(c->pc_offsets, bigger * sizeof(*offsets));
		if (!offsets)
			return -ENOMEM;
		c->pc_offsets = offsets;
		c->cap = bigger;
	}
	if (c->pc_count + g->depth > c->pc_cap) {
		size_t bigger = c->pc_cap ? c->pc_cap * 2 : 8192;
		__u64 *grown;

		while (bigger < c->pc_count + g->depth)
			bigger *= 2;
		grown = realloc(c->pcs, bigger * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		c->pcs = grown;
		c->pc_cap = bigger;
	}
	c->items[c->count] = *g;
	c->items[c->count].pcs = NULL;
	c->pc_offsets[c->count++] = c->pc_count;
	memcpy(c->pcs + c->pc_count, pcs, g->depth * sizeof(*pcs));
	c->pc_count += g->depth;
	return 0;
}

static void fill_goroutine(struct goproc *gp, const struct collector *c, const struct graw *raw,
			   struct goroutine *g)
{
	memset(g, 0, sizeof(*g));
	g->g_addr = raw->addr;
	g->goid = raw->goid;
	g->parent_goid = raw->parent;
	g->status = raw->status;
	g->locked = raw->lockedm != 0;
	g->system = is_system(gp, raw->startpc, c->finalizer_running);
	g->waitsince = raw->waitsince;
	if (raw->waitsince > 0 && (__u64)raw->waitsince <= c->now_ns)
		g->wait_ns = c->now_ns - (__u64)raw->waitsince;
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
static pid_t thread_of(struct goproc *gp, const struct graw *raw)
{
	__u64 procid;

	if (gp->layout.m_procid < 0 || !user_ptr(raw->m) ||
	    read_mem(gp, raw->m + gp->layout.m_procid, &procid, sizeof(procid)) ||
	    !procid || procid > INT_MAX)
		return 0;
	return (pid_t)procid;
}

/* The g's stack window: from sched.sp up, at most GO_STACK_WINDOW bytes. */
static size_t stack_window(const struct graw *g)
{
	return g->hi - g->sp < GO_STACK_WINDOW ? g->hi - g->sp : GO_STACK_WINDOW;
}

/*
 * Reads n g's (n <= GO_BATCH): the structs, the stacks of those with saved
 * registers, then the fields that must not have moved meanwhile.  A g that
 * changed goes to c->again for a second pass, or is dropped in that pass.
 */
static int read_batch(struct goproc *gp, const __u64 *addrs, size_t n, bool last_pass,
		      struct collector *c)
{
	const struct go_layout *l = &gp->layout;
	struct batch *b = gp->batch;
	size_t stack_bytes = 0, m = 0;
	int hdr_lo = l->sched_sp, hdr_hi = l->sched_sp;
	__u64 pcs[GO_MAX_DEPTH];
	int err;

	if (!n || n > GO_BATCH)
		return 0;
	for (size_t i = 0; i < n; i++)
		b->order[i] = (__u32)i;
	qsort_r(b->order, n, sizeof(*b->order), by_addr, (void *)addrs);
	err = read_coalesced(gp, b, addrs, n, 0, l->g_read_size, b->gbuf);
	if (err)
		return err;

	for (size_t i = 0; i < n; i++) {
		struct graw *g = &b->raws[i];

		b->fate[i] = G_INCONSISTENT; /* a pointer in allgs that leads nowhere */
		if (!b->g_ok[i])
			continue;
		decode_g(l, addrs[i], b->gbuf + i * l->g_read_size, g);
		if (g->status == GO_STATUS_DEAD || g->status == GO_STATUS_IDLE)
			b->fate[i] = G_SKIP;
		else if (g_consistent(gp, g))
			b->fate[i] = has_saved_stack(g->status) ? G_STACK : G_NO_STACK;
		if (b->fate[i] == G_STACK) {
			b->stack_at[i] = stack_bytes;
			stack_bytes += stack_window(g);
		}
	}

	/* stacks, packed one after the other */
	if (stack_bytes > b->sbuf_cap) {
		__u8 *grown = realloc(b->sbuf, stack_bytes);

		if (!grown)
			return -ENOMEM;
		b->sbuf = grown;
		b->sbuf_cap = stack_bytes;
	}
	for (size_t i = 0; i < n; i++) {
		if (b->fate[i] != G_STACK)
			continue;
		b->local[m] = (struct iovec){ b->sbuf + b->stack_at[i], stack_window(&b->raws[i]) };
		b->remote[m] = (struct iovec){ (void *)(unsigned long)b->raws[i].sp,
					       b->local[m].iov_len };
		b->slot[m++] = (__u32)i;
	}
	err = read_ranges(gp, b->local, b->remote, m, b->ok);
	if (err)
		return err;
	for (size_t k = 0; k < m; k++)
		if (!b->ok[k])
			b->fate[b->slot[k]] = G_INCONSISTENT; /* freed or moved under us */

	/* did anything move while we read? */
	{
		const int fields[] = { l->sched_pc, l->sched_bp, l->atomicstatus, l->goid };

		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			hdr_lo = fields[k] < hdr_lo ? fields[k] : hdr_lo;
			hdr_hi = fields[k] > hdr_hi ? fields[k] : hdr_hi;
		}
		hdr_hi += 8;
		err = read_coalesced(gp, b, addrs, n, hdr_lo, hdr_hi - hdr_lo, b->hbuf);
		if (err)
			return err;
		for (size_t i = 0; i < n; i++)
			if (b->fate[i] == G_STACK &&
			    (!b->g_ok[i] || !same_header(l, hdr_lo, &b->raws[i],
							 b->hbuf + i * (hdr_hi - hdr_lo))))
				b->fate[i] = G_INCONSISTENT;
	}

	for (size_t i = 0; i < n; i++) {
		struct goroutine g;
		struct stack_view view;

		if (b->fate[i] == G_SKIP)
			continue;
		if (b->fate[i] == G_INCONSISTENT) {
			if (last_pass)
				c->dropped++;
			else
				c->again[c->again_count++] = addrs[i];
			continue;
		}
		fill_goroutine(gp, c, &b->raws[i], &g);
		if (b->fate[i] == G_STACK) {
			view.buf = b->sbuf + b->stack_at[i];
			view.base = b->raws[i].sp;
			view.len = stack_window(&b->raws[i]);
			g.depth = walk_stack(gp, &b->raws[i], &view, pcs, g.exact, &g.truncated);
		} else if (g.status == GO_STATUS_RUNNING || g.status == GO_STATUS_SYSCALL) {
			g.tid = thread_of(gp, &b->raws[i]);
		}
		err = collector_add(c, &g, pcs);
		if (err)
			return err;
	}
	return 0;
}

/* runtime.allglen first, then the array: the order of the runtime's own
 * lock-free readers, which keeps len within what the array holds. */
static int read_allgs(struct goproc *gp, size_t *count)
{
	__u64 len, array, slice[3];
	size_t done = 0;
	int err = read_mem(gp, gp->allglen, &len, sizeof(len));

	if (err)
		return err == -EFAULT ? -ESRCH : err;
	if (gp->allgptr)
		err = read_mem(gp, gp->allgptr, &array, sizeof(array));
	else if (!(err = read_mem(gp, gp->allgs, slice, sizeof(slice))))
		array = slice[0];
	if (err)
		return err == -EFAULT ? -ESRCH : err;
	if (len > GO_MAX_GOROUTINES || (len && !user_ptr(array)))
		return -EBADMSG;
	if (len > gp->ptr_cap) {
		__u64 *grown = realloc(gp->ptrs, len * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		gp->ptrs = grown;
		gp->ptr_cap = len;
	}
	while (done < len) {
		size_t chunk = len - done < PTR_CHUNK ? len - done : PTR_CHUNK;

		err = read_mem(gp, array + done * 8, gp->ptrs + done, chunk * 8);
		if (err)
			return err == -EFAULT ? -EBADMSG : err;
		done += chunk;
	}
	*count = len;
	return 0;
}

static bool finalizer_running(struct goproc *gp)
{
	__u32 status = 0;
	__u8 running = 0;

	if (gp->fing_running)
		return !read_mem(gp, gp->fing_running, &running, 1) && running;
	/* Go >= 1.21: fingStatus & fingRunningFinalizer (2) */
	return gp->fing_status && !read_mem(gp, gp->fing_status, &status, 4) && (status & 2);
}

/*
 * The layout makes sense of the first g's in allgs: the main goroutine and
 * the runtime's own, which live as long as the process, so some must read
 * as live, with a known status and sane fields.  A wrong table entry or an
 * unforeseen runtime.g would otherwise read as nothing, or as goroutines
 * that are all dropped.
 */
static int check_layout(struct goproc *gp)
{
	const struct go_layout *l = &gp->layout;
	size_t len = 0, live = 0, sane = 0;
	__u8 raw[1024];
	int err;

	if ((size_t)l->g_read_size > sizeof(raw))
		return -ENODATA;
	err = read_allgs(gp, &len);
	if (err)
		return err == -EBADMSG ? -ENODATA : err;
	for (size_t i = 0; i < len && i < 16; i++) {
		struct graw g;

		if (!user_ptr(gp->ptrs[i]) || read_mem(gp, gp->ptrs[i], raw, l->g_read_size))
			continue;
		decode_g(l, gp->ptrs[i], raw, &g);
		if (g.status == GO_STATUS_DEAD || g.status == GO_STATUS_IDLE)
			continue;
		live++;
		/* 5 and 7 are unused; 1.26 stops at 11 */
		sane += g.status <= 11 && g.status != 5 && g.status != 7 && g_consistent(gp, &g);
	}
	return !len || (sane && sane * 2 >= live) ? 0 : -ENODATA;
}

static int finish(struct collector *c, struct goroutine **out, size_t *count)
{
	size_t size = c->count * sizeof(**out) + c->pc_count * sizeof(__u64);
	struct goroutine *list = malloc(size ? size : 1);
	__u64 *pcs;

	if (!list)
		return -ENOMEM;
	memcpy(list, c->items, c->count * sizeof(*list));
	pcs = (__u64 *)(list + c->count);
	memcpy(pcs, c->pcs, c->pc_count * sizeof(*pcs));
	for (size_t i = 0; i < c->count; i++)
		list[i].pcs = list[i].depth ? pcs + c->pc_offsets[i] : NULL;
	*out = list;
	*count = c->count;
	return 0;
}

/* The g's in allgs, deduplicated, in batches; then once more the ones
 * that moved under the first pass. */
static int read_all(struct goproc *gp, size_t len, struct collector *c)
{
	struct u64map seen = { 0 };
	__u64 batch[GO_BATCH];
	size_t batch_count = 0;
	int err = 0;

	for (size_t i = 0; i < len && !err; i++) {
		__u64 addr = gp->ptrs[i];

		/* allgs never holds nil or the same g twice: a stale array does */
		if (!user_ptr(addr) || u64map__get(&seen, addr)) {
			c->dropped++;
			continue;
		}
		err = u64map__put(&seen, addr, (void *)1);
		if (!err)
			batch[batch_count++] = addr;
		if (!err && (batch_count == GO_BATCH || i == len - 1)) {
			err = read_batch(gp, batch, batch_count, false, c);
			batch_count = 0;
		}
	}
	if (!err && batch_count)
		err = read_batch(gp, batch, batch_count, false, c);
	u64map__clear(&seen);
	for (size_t i = 0; i < c->again_count && !err; i += GO_BATCH) {
		size_t n = c->again_count - i < GO_BATCH ? c->again_count - i : GO_BATCH;

		err = read_batch(gp, c->again + i, n, true, c);
	}
	return err;
}

int goproc__read(struct goproc *gp, struct goroutine **out, size_t *count)
{
	struct collector c = { 0 };
	struct timespec now;
	size_t len = 0;
	int err;

	*out = NULL;
	*count = 0;
	err = read_allgs(gp, &len);
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &now);
	c.now_ns = (__u64)now.tv_sec * 1000000000ULL + now.tv_nsec;
	c.finalizer_running = finalizer_running(gp);
	/* sized for every g at once: growing 100,000 entries costs more than reading them */
	c.cap = len ? len : 1;
	c.pc_cap = c.cap * 8;
	c.items = malloc(c.cap * sizeof(*c.items));
	c.pc_offsets = malloc(c.cap * sizeof(*c.pc_offsets));
	c.pcs = malloc(c.pc_cap * sizeof(*c.pcs));
	c.again = malloc(c.cap * sizeof(*c.again));
	if (!c.items || !c.pc_offsets || !c.pcs || !c.again)
		err = -ENOMEM;
	if (!err)
		err = read_all(gp, len, &c);
	gp->dropped = c.dropped;
	if (!err)
		err = finish(&c, out, count);
	free(c.items);
	free(c.pc_offsets);
	free(c.pcs);
	free(c.again);
	return err;
}
