// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Go's tables in an ELF file (goelf.h).  Where the text starts (which
 * the pclntab's header may leave to the loader) and the funcdata the
 * inline trees live in come from runtime.firstmoduledata: every binary,
 * stripped or not, has it in its data (.noptrdata, or .go.module from
 * 1.26 on), its first word the pclntab's address, filled in by the linker
 * even in a PIE file.  (1.27's .go.func section holds something else:
 * function descriptors, not gofunc.)
 */
#include <errno.h>
#include <string.h>
#include "util/goelf.h"

#define MODULE_WORDS 56             /* moduledata words read: gofunc is among them */

Elf_Scn *goelf__section(Elf *elf, const char *name, GElf_Shdr *shdr)
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

Elf_Data *goelf__progbits(Elf *elf, const char *name)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = goelf__section(elf, name, &shdr);
	Elf_Data *data = scn && shdr.sh_type == SHT_PROGBITS ? elf_getdata(scn, NULL) : NULL;

	return data && data->d_buf && data->d_size ? data : NULL;
}

static __u64 section_addr(Elf *elf, const char *name)
{
	GElf_Shdr shdr;

	return goelf__section(elf, name, &shdr) ? shdr.sh_addr : 0;
}

/* [lo, hi] lies in the section called name, or there is none. */
static bool in_section(Elf *elf, const char *name, __u64 lo, __u64 hi)
{
	GElf_Shdr shdr;

	if (!goelf__section(elf, name, &shdr))
		return true;
	return lo <= hi && lo >= shdr.sh_addr && hi - shdr.sh_addr <= shdr.sh_size;
}

/* addr is in the executable code of the file. */
static bool in_code(Elf *elf, __u64 addr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;

		if (gelf_getshdr(scn, &shdr) && shdr.sh_flags & SHF_EXECINSTR &&
		    addr >= shdr.sh_addr && addr - shdr.sh_addr < shdr.sh_size)
			return true;
	}
	return false;
}

const __u8 *goelf__bytes_at(Elf *elf, __u64 addr, size_t *size)
{
	Elf_Scn *scn = NULL;

	while (addr && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_PROGBITS ||
		    addr < shdr.sh_addr || addr - shdr.sh_addr >= shdr.sh_size)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || addr - shdr.sh_addr >= data->d_size)
			return NULL;
		*size = data->d_size - (addr - shdr.sh_addr);
		return (const __u8 *)data->d_buf + (addr - shdr.sh_addr);
	}
	return NULL;
}

static __u64 word_at(const __u8 *at)
{
	__u64 v;

	memcpy(&v, at, sizeof(v));
	return v;
}

/*
 * runtime.firstmoduledata in the section called name: the 8-aligned word
 * equal to the pclntab's address, followed after its six slices by
 * findfunctab, minpc, maxpc, text (word 22), etext, and the bounds of the
 * module's noptrdata, data, bss and noptrbss (words 24 to 31), each inside
 * the section of that name (the check that it is a moduledata: C code
 * linked in shares the sections).  The layout holds from Go 1.18 to 1.27.
 * Returns the offset of its first word in the section's data, or -1.
 */
static ssize_t find_moduledata(Elf_Data *data, Elf *elf, __u64 pclntab_addr)
{
	const char *const bounds[] = { ".noptrdata", ".data", ".bss", ".noptrbss" };
	const __u8 *raw = data->d_buf;

	for (size_t at = 0; at + MODULE_WORDS * 8 <= data->d_size; at += 8) {
		bool ok = word_at(raw + at) == pclntab_addr;

		for (size_t i = 0; ok && i < sizeof(bounds) / sizeof(bounds[0]); i++)
			ok = in_section(elf, bounds[i], word_at(raw + at + (24 + 2 * i) * 8),
					word_at(raw + at + (25 + 2 * i) * 8));
		if (ok && in_code(elf, word_at(raw + at + 22 * 8)))
			return (ssize_t)at;
	}
	return -1;
}

/*
 * gofunc, one of the words after the data bounds whose place moves
 * between releases (after rodata; 1.20 added coverage counters before it,
 * 1.27 type and itab sizes): the first whose bytes fit the inline trees.
 */
static void find_gofunc(Elf *elf, struct pclntab *tab, const __u8 *module)
{
	for (size_t w = 32; w < MODULE_WORDS; w++) {
		size_t size = 0;
		const __u8 *bytes = goelf__bytes_at(elf, word_at(module + w * 8), &size);

		if (bytes && pclntab__gofunc_fits(tab, bytes, size)) {
			pclntab__set_gofunc(tab, bytes, size);
			return;
		}
	}
}

int goelf__pclntab(Elf *elf, struct pclntab *tab)
{
	static const char *const names[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	static const char *const homes[] = { ".go.module", ".noptrdata" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		Elf_Data *data = goelf__progbits(elf, names[i]);
		__u64 addr = section_addr(elf, names[i]);
		const __u8 *module = NULL;
		int err;

		if (!data)
			continue;
		for (size_t h = 0; !module && h < sizeof(homes) / sizeof(homes[0]); h++) {
			Elf_Data *home = goelf__progbits(elf, homes[h]);
			ssize_t at = home ? find_moduledata(home, elf, addr) : -1;

			if (at >= 0)
				module = (const __u8 *)home->d_buf + at;
		}
		/* the header's textStart is 0 in a PIE file, and from Go 1.26 on
		 * in any externally linked one, whose .text starts with C code */
		err = pclntab__init(tab, data->d_buf, data->d_size,
				    module ? word_at(module + 22 * 8) : section_addr(elf, ".text"));
		if (err)
			return err;
		pclntab__find_wrapper_funcid(tab);
		if (module)
			find_gofunc(elf, tab, module);
		return 0;
	}
	return -ENOENT;
}
