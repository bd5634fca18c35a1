// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes what parkwatch reads of an ELF file a process maps, the file
 * given as bytes through elf_memory: its build id and .gnu_debuglink (how
 * its debug info is looked for), .go.buildinfo (go/gobinary.c), the
 * .gopclntab and module data (util/goelf.c), and all a Go executable is
 * read for before its memory (go/gobinary.c, govars.c and gocode.c for the
 * runtime's variables in its code, golayout.c for runtime.g's layout in
 * its DWARF), as goproc__open reads it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <unistd.h>
#include "go/go_internal.h"
#include "go/gobinary.h"
#include "go/golayout.h"
#include "util/goelf.h"
#include "fuzz.h"

/* What goproc__open reads of the executable (goopen.c's goproc_load),
 * up to the first read of the process's memory. */
static void read_executable(Elf *elf)
{
	struct goproc *gp = calloc(1, sizeof(*gp));
	struct go_symbols syms = { 0 };
	struct stat exe = { 0 };
	char why[256];

	if (!gp)
		return;
	gp->pid = getpid(); /* a PIE's load bias is looked for in our own maps */
	gp->mem_fd = -1;
	if (!gobinary__read(gp, elf, &exe, &syms, why, sizeof(why))) {
		if (gobinary__read_wrappers(gp) != -ENOMEM)
			golayout__read(gp, elf, true);
		fuzz_use(gp->allglen + gp->layout.g_read_size + gp->wrapper_count);
	}
	goproc__free(gp);
}

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
	read_executable(elf);
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
