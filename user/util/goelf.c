// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Go's tables in an ELF file (goelf.h).  The inline trees are funcdata,
 * addressed from moduledata.gofunc, which the file gives in one of two
 * ways, tried in turn: a binary with a symbol table names it go:func.*
 * (go.func.* before 1.20); and every binary, stripped or not, has
 * runtime.firstmoduledata in its data (.noptrdata, or .go.module from
 * 1.26 on), whose first word is the pclntab's address and which the
 * linker fills in even in a PIE file.  (1.27's .go.func section holds
 * something else: function descriptors.)
 */
#include <errno.h>
#include <string.h>
#include "util/goelf.h"

#define MODULE_WORDS 56             /* moduledata words read: gofunc is before the 48th */

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

/* The bytes of the file from address addr to the end of the PROGBITS
 * section holding it. */
static const __u8 *bytes_at(Elf *elf, __u64 addr, size_t *size)
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

/* The values of the symbols called names[i] into values[i] (0: absent),
 * in one pass over the symbol table. */
static void symbol_values(Elf *elf, const char *const names[], __u64 values[], size_t count)
{
	Elf_Scn *scn = NULL;

	memset(values, 0, count * sizeof(values[0]));
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB || !shdr.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			name = elf_strptr(elf, shdr.sh_link, sym.st_name);
			for (size_t n = 0; name && n < count; n++)
				if (!values[n] && !strcmp(name, names[n]))
					values[n] = sym.st_value;
		}
	}
}

static __u64 word_at(const __u8 *at)
{
	__u64 v;

	memcpy(&v, at, sizeof(v));
	return v;
}

/*
 * gofunc from a runtime.firstmoduledata in the section called name: the
 * 8-aligned word equal to the pclntab's address, followed after its six
 * slices by findfunctab, minpc, maxpc, text, etext and the bounds of the
 * data sections, which must be the section headers' own (the check that
 * it is a moduledata).  gofunc follows rodata, the last word equal to
 * .rodata's address before the slices that end the struct (types, which
 * may precede it, starts .rodata too).
 */
static __u64 moduledata_gofunc(Elf *elf, const char *name, __u64 pclntab_addr)
{
	const char *const bounds[] = { ".noptrdata", ".data", ".bss", ".noptrbss" };
	Elf_Data *data = goelf__progbits(elf, name);
	__u64 rodata = section_addr(elf, ".rodata");
	const __u8 *raw;

	if (!data || !rodata)
		return 0;
	raw = data->d_buf;
	for (size_t at = 0; at + MODULE_WORDS * 8 <= data->d_size; at += 8) {
		__u64 gofunc = 0;
		bool ok = word_at(raw + at) == pclntab_addr;

		for (size_t i = 0; ok && i < sizeof(bounds) / sizeof(bounds[0]); i++) {
			__u64 want = section_addr(elf, bounds[i]);

			ok = !want || word_at(raw + at + (24 + 2 * i) * 8) == want;
		}
		for (size_t w = 32; ok && w + 1 < 48; w++)
			if (word_at(raw + at + w * 8) == rodata)
				gofunc = word_at(raw + at + (w + 1) * 8);
		if (ok && gofunc)
			return gofunc;
	}
	return 0;
}

static void find_gofunc(Elf *elf, struct pclntab *tab, __u64 pclntab_addr, __u64 symbol)
{
	const __u8 *bytes = NULL;
	size_t size = 0;
	__u64 addr = symbol;

	if (!addr)
		addr = moduledata_gofunc(elf, ".go.module", pclntab_addr);
	if (!addr)
		addr = moduledata_gofunc(elf, ".noptrdata", pclntab_addr);
	bytes = bytes_at(elf, addr, &size);
	pclntab__set_gofunc(tab, bytes, size);
}

int goelf__pclntab(Elf *elf, struct pclntab *tab)
{
	static const char *const names[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	static const char *const symbols[] = { "go:func.*", "go.func.*" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		Elf_Data *data = goelf__progbits(elf, names[i]);
		__u64 gofunc[2];
		int err;

		if (!data)
			continue;
		/* the header's textStart is 0 in a PIE file: runtime.text, which
		 * Go's linker puts at the start of .text */
		err = pclntab__init(tab, data->d_buf, data->d_size, section_addr(elf, ".text"));
		if (err)
			return err;
		symbol_values(elf, symbols, gofunc, 2);
		find_gofunc(elf, tab, section_addr(elf, names[i]), gofunc[0] ? gofunc[0] : gofunc[1]);
		return 0;
	}
	return -ENOENT;
}
