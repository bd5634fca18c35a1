// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * What a Go executable says (gobinary.h): .go.buildinfo's version, the
 * PIE load bias and executable segment, the runtime's variables and
 * functions in .symtab, and the compiler's wrappers in .gopclntab.  Only
 * the file is read here, bar /proc/PID/maps for the bias.
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
#include "util/pclntab.h"

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
int gobinary__version_minor(const char *version)
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
	if (gp->runtime_func_count) /* none (not Go): no array, and qsort wants one */
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
		return gomem__errno(errno);
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
 * .gopclntab, which even stripped binaries keep (util/pclntab.h), named
 * .data.rel.ro.gopclntab in a PIE (its header's textStart, relocated at
 * load, is 0 in the file): copied, since the goroutine walks outlive the
 * ELF handle, and its entries made to count from .symtab's runtime.text
 * where there is one.
 */
static Elf_Data *progbits(Elf *elf, const char *name)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = section_by_name(elf, name, &shdr);

	return scn && shdr.sh_type == SHT_PROGBITS ? elf_getdata(scn, NULL) : NULL;
}

int gobinary__read_pclntab(struct goproc *gp, Elf *elf, const struct go_symbols *syms)
{
	Elf_Data *data = progbits(elf, ".gopclntab");
	struct pclntab tab;
	__u8 *copy;

	if (!data)
		data = progbits(elf, ".data.rel.ro.gopclntab");
	if (!data || !data->d_buf || pclntab__init(&tab, data->d_buf, data->d_size, syms->text))
		return -ENOTSUP;
	copy = malloc(data->d_size);
	gp->sp_cache = calloc(1ULL << GO_SP_CACHE_BITS, sizeof(*gp->sp_cache));
	if (!copy || !gp->sp_cache) {
		free(copy);
		return -ENOMEM;     /* sp_cache: goproc__free's */
	}
	memcpy(copy, data->d_buf, data->d_size);
	if (pclntab__init(&gp->pcln, copy, data->d_size, syms->text)) {
		free(copy);
		return -ENOTSUP;
	}
	if (syms->text)
		gp->pcln.text_start = syms->text;
	gp->pcln_buf = copy;
	return 0;
}

/*
 * The functions the compiler generated (FuncID wrapper: the closures of
 * `go f(x)`, promoted-method and interface wrappers), which Go's tracebacks
 * leave out, from gp->pcln.  The wrapper's funcID moves between versions
 * but always follows systemstack_switch's, so it is read off that
 * function.  Returns 0, or -ENOTSUP for a table this code can't read.
 */
int gobinary__read_wrappers(struct goproc *gp, const struct go_symbols *syms)
{
	const struct pclntab *tab = &gp->pcln;
	struct pclntab_func func;
	size_t cap = 0;
	__u8 wrapper;

	if (!gp->pcln_buf || !syms->systemstack_switch)
		return -ENOTSUP;
	if (pclntab__find(tab, syms->systemstack_switch, &func) ||
	    func.entry != syms->systemstack_switch)
		return -ENOTSUP;
	wrapper = func.funcid + 1;
	for (__u64 i = 0; i < tab->nfunc; i++) {
		if (pclntab__func_at(tab, i, &func))
			return -ENOTSUP;
		if (func.funcid != wrapper)
			continue;
		if (gobinary__add_wrapper(gp, &cap, func.entry, func.end))
			return -ENOMEM;
	}
	return 0;
}

int gobinary__read_symbols(struct goproc *gp, Elf *elf, const struct stat *exe,
			   struct go_symbols *syms)
{
	bool is_go = false;
	GElf_Ehdr ehdr;
	int err;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr))
		return -ENOEXEC;
	if (buildinfo_version(elf, gp->version, sizeof(gp->version), &is_go))
		gp->minor = gobinary__version_minor(gp->version);
	/* pre-1.18 binaries and ones without .go.buildinfo still carry these */
	if (!is_go && !has_section(elf, ".gopclntab") && !has_section(elf, ".note.go.buildid"))
		return -ENOEXEC;
	if (ehdr.e_machine != EM_X86_64)
		return -ENOEXEC; /* goroutine stacks are only walked on amd64 */

	err = read_load_bias(gp, elf, exe);
	if (err)
		return err;
	read_text_range(gp, elf);
	err = read_symtab(gp, elf, syms);
	if (err)
		return err;
	/* stripped (-s): allgs can't be found, whatever the version */
	if (!syms->have_allglen || !(syms->have_allgptr || syms->have_allgs) || !gp->text.hi)
		return -ENODATA;
	gp->allglen = syms->allglen.st_value + gp->bias;
	gp->allgptr = syms->have_allgptr ? syms->allgptr.st_value + gp->bias : 0;
	gp->allgs = syms->have_allgs ? syms->allgs.st_value + gp->bias : 0;
	gp->fing_running = syms->have_fing_running ? syms->fing_running.st_value + gp->bias : 0;
	gp->fing_status = syms->have_fing_status ? syms->fing_status.st_value + gp->bias : 0;
	return 0;
}
