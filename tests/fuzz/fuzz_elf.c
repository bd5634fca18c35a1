// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes what parkwatch reads of an ELF file a process maps, the file
 * given as bytes through elf_memory: its build id and .gnu_debuglink (how
 * its debug info is looked for), .go.buildinfo (util/gobinary.c), the
 * .gopclntab and module data (util/goelf.c, go/gobinary.c) and runtime.g's
 * layout in its DWARF (go/golayout.c).
 */
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include "go/gobinary.h"
#include "go/golayout.h"
#include "util/goelf.h"
#include "fuzz.h"

static void read_go(Elf *elf)
{
	struct pclntab tab;
	struct go_layout layout;
	char version[64];
	bool is_go = false;
	__u8 *copy = NULL;

	if (gobinary__version(elf, version, sizeof(version), &is_go))
		fuzz_use((size_t)gobinary__version_minor(version) + strlen(version));
	if (!goelf__pclntab(elf, &tab))
		fuzz_use(tab.nfunc);
	if (!gobinary__read_pclntab(elf, &copy, &tab))
		fuzz_use(tab.nfunc);
	free(copy);
	if (!golayout__from_dwarf(elf, &layout))
		fuzz_use((size_t)layout.g_read_size);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *image = malloc(size ? size : 1); /* elf_memory may write to it */
	GElf_Word crc;
	const void *id;
	const char *link;
	Elf *elf;

	if (!image)
		return 0;
	memcpy(image, data, size);
	elf_version(EV_CURRENT);
	elf = elf_memory(image, size);
	if (elf) {
		if (dwelf_elf_gnu_build_id(elf, &id) > 0)
			fuzz_use(*(const unsigned char *)id);
		link = dwelf_elf_gnu_debuglink(elf, &crc);
		if (link)
			fuzz_use(strlen(link) + crc);
		read_go(elf);
		elf_end(elf);
	}
	free(image);
	return 0;
}
