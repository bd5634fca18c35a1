// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * What a Go executable says (gobinary.h): .go.buildinfo's version, the
 * PIE load bias and executable segment, .gopclntab with the runtime's
 * functions and the compiler's wrappers, and the runtime's variables:
 * from .symtab when the binary has one, else from the code of the runtime
 * functions that use them (govars.h).  Only the file is read here, bar
 * /proc/PID/maps for the bias; goproc.c checks the variables against the
 * process's memory.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <libelf.h>
#include "go/gobinary.h"
#include "go/gomem.h"
#include "go/govars.h"
#include "util/goelf.h"
#include "util/procfs.h"

/*
 * The version in .go.buildinfo: a 32-byte header (magic, pointer size,
 * flags), then, since Go 1.18 (flag 2), the version as a uvarint length and
 * its bytes.  Older binaries point at runtime.buildVersion instead.
 */
bool gobinary__version(Elf *elf, char *buf, size_t size, bool *is_go)
{
	static const char magic[] = "\xff Go buildinf:";
	Elf_Data *data = goelf__progbits(elf, ".go.buildinfo");
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
int gobinary__version_minor(const char *version)
{
	const char *go = strstr(version, "go1.");
	int minor = 0;

	if (go)
		sscanf(go + 4, "%d", &minor);
	return minor;
}

static int by_func_addr(const void *a, const void *b)
{
	const struct func_entry *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
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

static void note_object(struct go_vars *vars, __u64 *build_version, const char *name,
			const GElf_Sym *sym)
{
	const struct {
		const char *name;
		__u64 *addr;
	} wanted[] = {
		{ "runtime.allglen", &vars->allglen },
		{ "runtime.allgptr", &vars->allgptr },
		{ "runtime.allgs", &vars->allgs },
		{ "runtime.waitReasonStrings", &vars->reasons },
		{ "runtime.buildVersion", build_version },
		{ "runtime.fingRunning", &vars->fing_running },
		{ "runtime.fingStatus", &vars->fing_status },
		{ "runtime.semtable", &vars->semtable },
		{ "runtime.types", &vars->types },
		{ "runtime.etypes", &vars->etypes },
	};

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!strcmp(name, wanted[i].name)) {
			*wanted[i].addr = sym->st_value;
			if (wanted[i].addr == &vars->reasons)
				vars->reasons_size = sym->st_size;
			if (wanted[i].addr == &vars->semtable)
				vars->semtable_size = sym->st_size;
		}
	}
}

/*
 * .symtab, when the binary has one (not linked with -s): the runtime
 * variables goroutine mode reads, as file addresses.  Functions come from
 * .gopclntab, which every Go binary keeps; only a binary whose .gopclntab
 * this reader can't use (Go < 1.18) takes the entries of runtime.*
 * functions from here, to tell system goroutines by their start pc.
 */
static int read_symtab(struct goproc *gp, Elf *elf, struct go_vars *vars, __u64 *build_version)
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
				note_object(vars, build_version, name, &sym);
			} else if (GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_value &&
				   !gp->pcln_buf) {
				if (add_runtime_func(gp, &cap, name, sym.st_value + gp->bias))
					return -ENOMEM;
				if (!strcmp(name, "runtime.sigpanic")) {
					gp->sigpanic.lo = sym.st_value + gp->bias;
					gp->sigpanic.hi = gp->sigpanic.lo + sym.st_size;
				}
			}
		}
	}
	if (gp->runtime_func_count) /* none (not Go): no array, and qsort wants one */
		qsort(gp->runtime_funcs, gp->runtime_func_count, sizeof(*gp->runtime_funcs),
		      by_func_addr);
	return 0;
}

/*
 * The runtime's functions, from .gopclntab: their entries (system
 * goroutines are told by their start pc, as the runtime's
 * isSystemGoroutine does by the name of the function there) and sigpanic's
 * range.  .symtab would
 * give the same entries; this table is in every binary, stripped or not.
 */
static int read_functions(struct goproc *gp)
{
	const struct pclntab *tab = &gp->pcln;
	struct pclntab_func func;
	size_t cap = 0;

	for (__u64 i = 0; i < tab->nfunc; i++) {
		const char *name;

		if (pclntab__func_at(tab, i, &func))
			return -ENOTSUP;
		name = pclntab__name(tab, &func);
		if (!name || strncmp(name, "runtime.", 8))
			continue;
		if (add_runtime_func(gp, &cap, name, func.entry + gp->bias))
			return -ENOMEM;
		name += 8;
		if (!strcmp(name, "sigpanic")) {
			gp->sigpanic.lo = func.entry + gp->bias;
			gp->sigpanic.hi = func.end + gp->bias;
		}
	}
	if (gp->runtime_func_count)
		qsort(gp->runtime_funcs, gp->runtime_func_count, sizeof(*gp->runtime_funcs),
		      by_func_addr);
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
int gobinary__exe_start(FILE *maps, const struct stat *exe, const char *exe_path, __u64 *start)
{
	char line[PATH_MAX + 128];
	unsigned long long by_path = 0;

	while (fgets(line, sizeof(line), maps)) {
		unsigned long long lo, hi, offset;
		unsigned int dev_major, dev_minor;
		unsigned long inode;
		char perms[8];
		int name_at = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %lu %n", &lo, &hi, perms, &offset,
			   &dev_major, &dev_minor, &inode, &name_at) != 7 || offset)
			continue;
		if (inode == exe->st_ino && dev_major == major(exe->st_dev) &&
		    dev_minor == minor(exe->st_dev)) {
			*start = lo;
			return 0;
		}
		line[strcspn(line, "\n")] = '\0';
		if (!by_path && exe_path && name_at && !strcmp(line + name_at, exe_path))
			by_path = lo;
	}
	*start = by_path;
	return by_path ? 0 : -ENODATA;
}

static int read_load_bias(struct goproc *gp, Elf *elf, const struct stat *exe)
{
	char path[64], exe_path[PATH_MAX];
	__u64 first_vaddr = 0, start;
	bool found_load = false, have_path = false;
	GElf_Ehdr ehdr;
	size_t phnum;
	ssize_t len;
	FILE *maps;
	int err;

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
	len = procfs__readlink(path, exe_path, sizeof(exe_path));
	have_path = len > 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", gp->pid);
	maps = procfs__fopen(path);
	if (!maps)
		return gomem__errno(errno);
	err = gobinary__exe_start(maps, exe, have_path ? exe_path : NULL, &start);
	fclose(maps);
	if (!err)
		gp->bias = start - first_vaddr;
	return err;
}

int gobinary__add_wrapper(struct goproc *gp, size_t *cap, __u64 lo, __u64 hi)
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

/*
 * .gopclntab, which even stripped binaries keep, as util/goelf.h finds it:
 * copied, since the goroutine walks outlive the ELF handle (the inline
 * trees, which only the symbolizer reads, are left behind).  Returns 0,
 * -ENOTSUP (none, or a layout it doesn't know: *copy stays NULL) or
 * -ENOMEM.
 */
int gobinary__read_pclntab(Elf *elf, __u8 **copy, struct pclntab *tab)
{
	struct pclntab in_file;

	*copy = NULL;
	if (goelf__pclntab(elf, &in_file) || !in_file.text_start)
		return -ENOTSUP;
	*copy = malloc(in_file.size);
	if (!*copy)
		return -ENOMEM;
	memcpy(*copy, in_file.data, in_file.size);
	*tab = in_file;
	tab->data = *copy;
	pclntab__set_gofunc(tab, NULL, 0);
	return 0;
}

static int read_pclntab(struct goproc *gp, Elf *elf)
{
	int err = gobinary__read_pclntab(elf, &gp->pcln_buf, &gp->pcln);

	if (err)
		return err;
	gp->sp_cache = calloc(1ULL << GO_SP_CACHE_BITS, sizeof(*gp->sp_cache));
	return gp->sp_cache ? 0 : -ENOMEM; /* pcln_buf: goproc__free's */
}

/* The functions the compiler generated (pclntab's wrapper funcID), which
 * Go's tracebacks leave out.  Returns 0, or -ENOTSUP for a table without
 * the funcID. */
int gobinary__read_wrappers(struct goproc *gp)
{
	const struct pclntab *tab = &gp->pcln;
	struct pclntab_func func;
	size_t cap = 0;

	if (!gp->pcln_buf || !tab->wrapper_funcid)
		return -ENOTSUP;
	for (__u64 i = 0; i < tab->nfunc; i++) {
		if (pclntab__func_at(tab, i, &func))
			return -ENOTSUP;
		if (func.funcid != tab->wrapper_funcid)
			continue;
		if (gobinary__add_wrapper(gp, &cap, func.entry, func.end))
			return -ENOMEM;
	}
	return 0;
}

static const char *machine_name(int machine)
{
	switch (machine) {
	case EM_AARCH64:
		return "arm64";
	case EM_386:
		return "386";
	case EM_RISCV:
		return "riscv64";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390x";
	default:
		return "another architecture";
	}
}

int gobinary__read(struct goproc *gp, Elf *elf, const struct stat *exe, struct go_symbols *syms,
		   char *why, size_t why_size)
{
	struct go_vars vars = { 0 };
	__u64 build_version = 0;
	bool is_go = false;
	GElf_Ehdr ehdr;
	GElf_Shdr shdr;
	int err;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr))
		return -ENOEXEC;
	if (gobinary__version(elf, gp->version, sizeof(gp->version), &is_go))
		gp->minor = gobinary__version_minor(gp->version);
	/* pre-1.18 binaries and ones without .go.buildinfo still carry these */
	if (!is_go && !goelf__progbits(elf, ".gopclntab") &&
	    !goelf__section(elf, ".note.go.buildid", &shdr))
		return -ENOEXEC;
	if (ehdr.e_machine != EM_X86_64) {
		/* goroutine stacks are only walked on amd64 */
		snprintf(why, why_size, "it is built for %s, and goroutines are read on amd64 only",
			 machine_name(ehdr.e_machine));
		return -ENODATA;
	}

	err = read_load_bias(gp, elf, exe);
	if (err == -ENODATA)
		snprintf(why, why_size, "its executable is position-independent, and not among "
			 "its mappings");
	if (err)
		return err;
	read_text_range(gp, elf);
	if (!gp->text.hi) {
		snprintf(why, why_size, "its executable has no code segment");
		return -ENODATA;
	}
	err = read_pclntab(gp, elf);
	if (err == -ENOMEM)
		return err;
	/* else without one: stacks are walked by frame pointers, functions
	 * and variables come from .symtab alone */
	if (gp->pcln_buf) {
		err = read_functions(gp);
		if (err == -ENOMEM)
			return err;
		if (err) { /* a table that can't be read through: none */
			free(gp->pcln_buf);
			gp->pcln_buf = NULL;
			memset(&gp->pcln, 0, sizeof(gp->pcln));
			gp->runtime_func_count = 0;
			gp->sigpanic = (struct range){ 0, 0 };
		}
	}
	err = read_symtab(gp, elf, &vars, &build_version);
	if (err)
		return err;
	if (!vars.allglen || !(vars.allgptr || vars.allgs)) {
		/* stripped (-s) */
		memset(&vars, 0, sizeof(vars));
		if (!gp->pcln_buf) {
			snprintf(why, why_size, "no .symtab, and no .gopclntab this parkwatch "
				 "reads to find runtime.allgs by");
			return -ENODATA;
		}
		err = govars__from_code(elf, &gp->pcln, &vars, why, why_size);
		if (err)
			return err;
		syms->from_code = true;
	}
	gp->allglen = vars.allglen + gp->bias;
	gp->allgptr = vars.allgptr ? vars.allgptr + gp->bias : 0;
	gp->allgs = vars.allgs ? vars.allgs + gp->bias : 0;
	gp->fing_running = vars.fing_running ? vars.fing_running + gp->bias : 0;
	gp->fing_status = vars.fing_status ? vars.fing_status + gp->bias : 0;
	gp->semtable = vars.semtable ? vars.semtable + gp->bias : 0;
	gp->semtable_size = vars.semtable_size;
	if (vars.types && vars.etypes > vars.types)
		gp->types = (struct range){ vars.types + gp->bias, vars.etypes + gp->bias };
	syms->reasons = vars.reasons ? vars.reasons + gp->bias : 0;
	syms->reasons_size = vars.reasons_size;
	syms->build_version = build_version ? build_version + gp->bias : 0;
	return 0;
}
