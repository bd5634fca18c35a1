// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of what a Go binary says without .symtab or DWARF: the
 * runtime's variables found in its code (user/go/govars.c), its version
 * (.go.buildinfo) and .gopclntab (gobinary.c), and runtime.g's layout
 * table (golayout.c).
 *
 * The decoders first run on real instruction bytes (go1.27's
 * runtime.allgadd and runtime.waitReason.String, copied below with their
 * addresses and the .symtab values they name) and on damaged copies,
 * which must be refused.  Then each Go binary given is read as a stripped
 * one would be, and checked against what the linker itself wrote where the
 * binary keeps it: .symtab's runtime.allgs, allglen, allgptr,
 * waitReasonStrings (and its size), fingRunning or fingStatus, semtable
 * (and its size: 251 entries of 64 bytes), runtime.text
 * and the runtime.* functions; DWARF's runtime.g, sudog, hchan and
 * semaRoot for the layout table.
 * The binaries: PARKWATCH_GO_BINARIES (paths separated by ':';
 * tests/integration/test_go_stripped.py passes leaky's builds of every
 * release, from make go-matrix), else build/targets/go/1.19/leaky and its
 * variants (make targets).
 * Last, damaged copies of the stripped build say, each in its phrase, why
 * their goroutines can't be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <gelf.h>
#include "go/gobinary.h"
#include "go/golayout.h"
#include "go/goproc.h"
#include "go/govars.h"
#include "support/gotargets.h"

#define DEFAULT_BINARIES GO_TARGETS "leaky:" GO_TARGETS "leaky-pie:" \
	GO_TARGETS "leaky-nodwarf:" GO_TARGETS "leaky-stripped"

/* runtime.allgadd of go1.27.4's leaky, at 0x451f60: allgs 0xa4ce00,
 * allglen 0xa6eea8, allgptr 0xa4c340 in its .symtab. */
#define ALLGADD_127_ADDR 0x451f60
static const __u8 allgadd_127[] = {
	0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x3c, 0x01, 0x00, 0x00, 0x55, 0x48,
	0x89, 0xe5, 0x48, 0x83, 0xec, 0x48, 0x8b, 0x88, 0x90, 0x00, 0x00, 0x00,
	0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x85, 0xc9, 0x0f, 0x84,
	0x08, 0x01, 0x00, 0x00, 0x48, 0x89, 0x44, 0x24, 0x58, 0x90, 0x90, 0x48,
	0x8d, 0x05, 0x0a, 0xcf, 0x61, 0x00, 0xe8, 0x25, 0xbd, 0xfc, 0xff, 0x48,
	0x8b, 0x0d, 0x6e, 0xae, 0x5f, 0x00, 0x48, 0x8b, 0x1d, 0x5f, 0xae, 0x5f,
	0x00, 0x48, 0xff, 0xc3, 0x48, 0x8b, 0x05, 0x4d, 0xae, 0x5f, 0x00, 0x48,
	0x39, 0xd9, 0x73, 0x3b, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35,
	0xec, 0x47, 0x53, 0x00, 0xe8, 0xd7, 0xa3, 0x03, 0x00, 0x48, 0x89, 0x0d,
	0x40, 0xae, 0x5f, 0x00, 0x83, 0x3d, 0xe9, 0xd1, 0x61, 0x00, 0x00, 0x74,
	0x13, 0x48, 0x8b, 0x0d, 0x20, 0xae, 0x5f, 0x00, 0xe8, 0x1b, 0xf0, 0x03,
	0x00, 0x49, 0x89, 0x03, 0x49, 0x89, 0x4b, 0x08, 0x48, 0x89, 0x05, 0x0d,
	0xae, 0x5f, 0x00, 0x48, 0x89, 0x1d, 0x0e, 0xae, 0x5f, 0x00, 0x83, 0x3d,
	0xbf, 0xd1, 0x61, 0x00, 0x00, 0x75, 0x07, 0x48, 0x8b, 0x54, 0x24, 0x58,
	0xeb, 0x16, 0x48, 0x8b, 0x4c, 0xd8, 0xf8, 0xe8, 0xec, 0xef, 0x03, 0x00,
	0x48, 0x8b, 0x54, 0x24, 0x58, 0x49, 0x89, 0x13, 0x49, 0x89, 0x4b, 0x08,
	0x48, 0x89, 0x54, 0xd8, 0xf8, 0x48, 0x85, 0xdb, 0x76, 0x61, 0x48, 0x8b,
	0x1d, 0xcf, 0xad, 0x5f, 0x00, 0x48, 0x39, 0x1d, 0x08, 0xa3, 0x5f, 0x00,
	0x74, 0x2a, 0x90, 0x80, 0x3d, 0x7e, 0xd1, 0x61, 0x00, 0x00, 0x74, 0x16,
	0x48, 0x89, 0x5c, 0x24, 0x40, 0x48, 0x8d, 0x05, 0xf0, 0xa2, 0x5f, 0x00,
	0xe8, 0x2b, 0x53, 0x03, 0x00, 0x48, 0x8b, 0x5c, 0x24, 0x40, 0x48, 0x8d,
	0x0d, 0xdf, 0xa2, 0x5f, 0x00, 0x48, 0x87, 0x19, 0x48, 0x8b, 0x0d, 0x9d,
	0xad, 0x5f, 0x00, 0x48, 0x8d, 0x15, 0x36, 0xce, 0x61, 0x00, 0x48, 0x87,
	0x0a, 0x90, 0x90, 0x48, 0x8d, 0x05, 0x22, 0xce, 0x61, 0x00, 0x66, 0x90,
	0xe8, 0xbb, 0xc0, 0xfc, 0xff, 0x48, 0x83, 0xc4, 0x48, 0x5d, 0xc3, 0xe8,
	0x10, 0xf3, 0x03, 0x00, 0x48, 0x8d, 0x05, 0x04, 0x10, 0x2a, 0x00, 0xbb,
	0x19, 0x00, 0x00, 0x00, 0x0f, 0x1f, 0x40, 0x00, 0xe8, 0x1b, 0x80, 0x03,
	0x00, 0x90, 0x48, 0x89, 0x44, 0x24, 0x08, 0xe8, 0xb0, 0xd6, 0x03, 0x00,
	0x48, 0x8b, 0x44, 0x24, 0x08, 0xe9, 0xa6, 0xfe, 0xff, 0xff,
};
#define ALLGADD_127_CMP_ALLGPTR 0xd1    /* cmpq %rbx, allgptr(%rip): 7 bytes */
#define ALLGADD_127_XCHG_ALLGLEN 0x112  /* xchgq %rcx, (%rdx), allglen's store */

/* runtime.waitReason.String of the same binary, at 0x4629c0:
 * waitReasonStrings is 0xa47220, 752 bytes (47 strings). */
#define REASON_STRING_127_ADDR 0x4629c0
static const __u8 reason_string_127[] = {
	0x3c, 0x2f, 0x72, 0x0d, 0x48, 0x8d, 0x05, 0x8a, 0xd4, 0x28, 0x00, 0xbb,
	0x13, 0x00, 0x00, 0x00, 0xc3, 0x0f, 0xb6, 0xc8, 0x48, 0xc1, 0xe1, 0x04,
	0x48, 0x8d, 0x15, 0x41, 0x48, 0x5e, 0x00, 0x48, 0x8b, 0x04, 0x0a, 0x48,
	0x8b, 0x5c, 0x0a, 0x08, 0xc3,
};

static void test_allgadd_bytes(void **state)
{
	struct go_allg_vars vars;

	(void)state;
	assert_int_equal(govars__allgadd(allgadd_127, sizeof(allgadd_127), ALLGADD_127_ADDR,
					 &vars), 0);
	assert_int_equal(vars.allgs, 0xa4ce00);
	assert_int_equal(vars.allglen, 0xa6eea8);
	assert_int_equal(vars.allgptr, 0xa4c340);
}

/* Without what tells the variables apart, nothing is guessed. */
static void test_allgadd_damaged(void **state)
{
	__u8 copy[sizeof(allgadd_127)];
	struct go_allg_vars vars;

	(void)state;
	/* the compare that tells allgptr from allglen, made nops */
	memcpy(copy, allgadd_127, sizeof(copy));
	assert_int_equal(copy[ALLGADD_127_CMP_ALLGPTR], 0x48);
	memset(copy + ALLGADD_127_CMP_ALLGPTR, 0x90, 7);
	assert_int_equal(govars__allgadd(copy, sizeof(copy), ALLGADD_127_ADDR, &vars), -ENOENT);
	/* cut before allglen's store: one exchange */
	assert_int_equal(govars__allgadd(allgadd_127, ALLGADD_127_XCHG_ALLGLEN, ALLGADD_127_ADDR,
					 &vars), -ENOENT);
	/* another function's code */
	assert_int_equal(govars__allgadd(reason_string_127, sizeof(reason_string_127),
					 REASON_STRING_127_ADDR, &vars), -ENOENT);
	/* nothing, and bytes that are no instructions */
	assert_int_equal(govars__allgadd(allgadd_127, 0, ALLGADD_127_ADDR, &vars), -ENOENT);
	memset(copy, 0xff, sizeof(copy));
	assert_int_equal(govars__allgadd(copy, sizeof(copy), ALLGADD_127_ADDR, &vars), -ENOENT);
}

static void test_wait_reasons_bytes(void **state)
{
	__u8 copy[sizeof(reason_string_127)];
	unsigned int count = 0;
	__u64 array = 0;

	(void)state;
	assert_int_equal(govars__wait_reasons(reason_string_127, sizeof(reason_string_127),
					      REASON_STRING_127_ADDR, &array, &count), 0);
	assert_int_equal(array, 0xa47220);
	assert_int_equal(count, 752 / 16);
	/* no bounds check: no length */
	memcpy(copy, reason_string_127, sizeof(copy));
	copy[0] = copy[1] = 0x90;
	assert_int_equal(govars__wait_reasons(copy, sizeof(copy), REASON_STRING_127_ADDR, &array,
					      &count), -ENOENT);
	/* cut before the indexed load: no array */
	assert_int_equal(govars__wait_reasons(reason_string_127, 30, REASON_STRING_127_ADDR, &array,
					      &count), -ENOENT);
	assert_int_equal(govars__allgadd(NULL, 10, 0, &(struct go_allg_vars){ 0 }), -ENOENT);
}

/* isSystemGoroutine's one read: movzbl fingRunning(%rip) in go1.19, movl
 * fingStatus(%rip) since go1.21 (both copied from the binaries of those
 * releases, at their addresses there). */
static void test_finalizer_bytes(void **state)
{
	static const __u8 byte_119[] = { 0x0f, 0xb6, 0x05, 0xb4, 0x9a, 0x4c, 0x00, 0xc3 };
	static const __u8 word_127[] = { 0x8b, 0x0d, 0x47, 0x8b, 0x5f, 0x00, 0xc3 };
	/* both, one after the other: which one? */
	static const __u8 two[] = { 0x8b, 0x0d, 0x47, 0x8b, 0x5f, 0x00,
				    0x8b, 0x0d, 0x47, 0x8b, 0x5f, 0x00, 0xc3 };
	/* movq: a pointer, neither */
	static const __u8 quad[] = { 0x48, 0x8b, 0x0d, 0x47, 0x8b, 0x5f, 0x00, 0xc3 };
	unsigned int size = 0;
	__u64 var = 0;

	(void)state;
	assert_int_equal(govars__finalizer(byte_119, sizeof(byte_119), 0x45ff81, &var, &size), 0);
	assert_int_equal(var, 0x929a3c);
	assert_int_equal(size, 1);
	assert_int_equal(govars__finalizer(word_127, sizeof(word_127), 0x4761a3, &var, &size), 0);
	assert_int_equal(var, 0xa6ecf0);
	assert_int_equal(size, 4);
	assert_int_equal(govars__finalizer(two, sizeof(two), 0x4761a3, &var, &size), -ENOENT);
	assert_int_equal(govars__finalizer(quad, sizeof(quad), 0x4761a3, &var, &size), -ENOENT);
}

/* ------------------------------------------------------------ binaries */

struct binary {
	const char *path;
	int fd;
	Elf *elf;
	char version[64];
	int minor;
	__u8 *pcln_buf;
	struct pclntab pcln;
	bool has_symtab;
};

static bool open_binary(const char *path, struct binary *bin)
{
	bool is_go = false;

	memset(bin, 0, sizeof(*bin));
	bin->path = path;
	bin->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (bin->fd < 0)
		return false;
	bin->elf = elf_begin(bin->fd, ELF_C_READ_MMAP_PRIVATE, NULL);
	assert_non_null(bin->elf);
	if (!gobinary__version(bin->elf, bin->version, sizeof(bin->version), &is_go))
		fail_msg("%s: no version in .go.buildinfo", path);
	bin->minor = gobinary__version_minor(bin->version);
	assert_true(bin->minor >= 19);
	if (gobinary__read_pclntab(bin->elf, &bin->pcln_buf, &bin->pcln))
		fail_msg("%s: no .gopclntab read", path);
	return true;
}

static void close_binary(struct binary *bin)
{
	free(bin->pcln_buf);
	elf_end(bin->elf);
	close(bin->fd);
}

/* The oracle: the linker's .symtab.  false when the binary has none, or
 * not name. */
static bool symbol(struct binary *bin, const char *name, GElf_Sym *out)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(bin->elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB || !shdr.sh_entsize)
			continue;
		bin->has_symtab = true;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < shdr.sh_size / shdr.sh_entsize; i++) {
			const char *sym_name;

			if (!gelf_getsym(data, (int)i, out))
				break;
			sym_name = elf_strptr(bin->elf, shdr.sh_link, out->st_name);
			if (sym_name && !strcmp(sym_name, name))
				return true;
		}
	}
	return false;
}

static void expect_symbol(struct binary *bin, const char *name, __u64 found, __u64 size)
{
	GElf_Sym sym;

	if (!symbol(bin, name, &sym))
		fail_msg("%s (%s): no %s in .symtab", bin->path, bin->version, name);
	if (sym.st_value != found || (size && sym.st_size != size))
		fail_msg("%s (%s): %s is 0x%llx (%llu bytes) in .symtab, found 0x%llx (%llu)",
			 bin->path, bin->version, name, (unsigned long long)sym.st_value,
			 (unsigned long long)sym.st_size, (unsigned long long)found,
			 (unsigned long long)size);
}

/* Every runtime.* function of .symtab, where .gopclntab has it, by name. */
static size_t check_functions(struct binary *bin)
{
	Elf_Scn *scn = NULL;
	size_t checked = 0;

	while ((scn = elf_nextscn(bin->elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB || !shdr.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < shdr.sh_size / shdr.sh_entsize; i++) {
			struct pclntab_func func;
			const char *name, *pcln_name;
			GElf_Sym sym;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			name = elf_strptr(bin->elf, shdr.sh_link, sym.st_name);
			if (!name || strncmp(name, "runtime.", 8) ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_size)
				continue;
			if (pclntab__find(&bin->pcln, sym.st_value, &func) ||
			    func.entry != sym.st_value)
				fail_msg("%s: %s at 0x%llx: no function there in .gopclntab",
					 bin->path, name, (unsigned long long)sym.st_value);
			pcln_name = pclntab__name(&bin->pcln, &func);
			/* .symtab names an assembly function's ABI0 symbol name.abi0 */
			if (!pcln_name || strncmp(name, pcln_name, strlen(pcln_name)) ||
			    (name[strlen(pcln_name)] && strcmp(name + strlen(pcln_name), ".abi0")))
				fail_msg("%s: %s at 0x%llx is %s in .gopclntab", bin->path,
					 name, (unsigned long long)sym.st_value,
					 pcln_name ? pcln_name : "?");
			checked++;
		}
	}
	return checked;
}

static void check_layout(struct binary *bin)
{
	struct go_layout from_dwarf, from_table;
	const struct {
		const char *name;
		size_t offset;
	} fields[] = {
#define F(f) { #f, offsetof(struct go_layout, f) }
		F(stack_lo), F(stack_hi), F(sched_sp), F(sched_pc), F(sched_bp), F(syscallsp),
		F(syscallpc), F(atomicstatus), F(goid), F(waitsince), F(waitreason), F(gopc),
		F(startpc), F(parent_goid), F(lockedm), F(m), F(m_procid), F(g_read_size),
		F(waiting), F(tracking_seq), F(wait.sudog_g), F(wait.sudog_next), F(wait.sudog_prev),
		F(wait.sudog_elem), F(wait.sudog_waitlink), F(wait.sudog_c), F(wait.hchan_qcount),
		F(wait.hchan_dataqsiz), F(wait.hchan_closed), F(wait.hchan_elemtype),
		F(wait.hchan_recvq), F(wait.hchan_sendq), F(wait.semaroot_treap),
#undef F
	};

	if (golayout__from_dwarf(bin->elf, &from_dwarf))
		return; /* -w */
	if (!golayout__table(bin->minor, &from_table))
		fail_msg("%s: no layout in the table for %s", bin->path, bin->version);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		int want, have;

		memcpy(&want, (const char *)&from_dwarf + fields[i].offset, sizeof(want));
		memcpy(&have, (const char *)&from_table + fields[i].offset, sizeof(have));
		if (want != have)
			fail_msg("%s (%s): the runtime's %s is %d in DWARF, %d in the table",
				 bin->path, bin->version, fields[i].name, want, have);
	}
	print_message("  %s: the table's go1.%d layout is its DWARF's\n", bin->version, bin->minor);
}

static void check_binary(const char *path)
{
	char why[256] = "";
	struct binary bin;
	struct go_vars vars;
	GElf_Sym sym;
	size_t functions;

	if (!open_binary(path, &bin)) {
		if (getenv("PARKWATCH_GO_BINARIES"))
			fail_msg("%s: can't be opened", path);
		print_message("  %s: missing (make targets)\n", path);
		return;
	}
	if (govars__from_code(bin.elf, &bin.pcln, &vars, why, sizeof(why)))
		fail_msg("%s (%s): %s", path, bin.version, why);
	assert_non_null(vars.reasons);
	assert_true(vars.fing_running || vars.fing_status);
	symbol(&bin, "runtime.text", &sym);
	if (!bin.has_symtab) {
		/* stripped: the process's memory is the test (test_go_stripped.py) */
		print_message("  %s (%s, stripped): allgs 0x%llx, %llu wait reasons\n", path,
			      bin.version, (unsigned long long)vars.allgs,
			      (unsigned long long)vars.reasons_size / 16);
		close_binary(&bin);
		return;
	}
	expect_symbol(&bin, "runtime.text", bin.pcln.text_start, 0);
	expect_symbol(&bin, "runtime.allgs", vars.allgs, 24);
	expect_symbol(&bin, "runtime.allglen", vars.allglen, 8);
	expect_symbol(&bin, "runtime.allgptr", vars.allgptr, 8);
	expect_symbol(&bin, "runtime.waitReasonStrings", vars.reasons, vars.reasons_size);
	expect_symbol(&bin, "runtime.semtable", vars.semtable, GO_SEM_TAB_SIZE * GO_SEM_ROOT_STRIDE);
	/* a bool before Go 1.21, a uint32 since */
	if (bin.minor < 21) {
		assert_int_equal(vars.fing_status, 0);
		expect_symbol(&bin, "runtime.fingRunning", vars.fing_running, 1);
	} else {
		assert_int_equal(vars.fing_running, 0);
		expect_symbol(&bin, "runtime.fingStatus", vars.fing_status, 4);
	}
	functions = check_functions(&bin);
	assert_true(functions > 500);
	print_message("  %s (%s): allgs, allglen, allgptr, waitReasonStrings (%llu), %s, "
		      "semtable and runtime.text as .symtab has them; %zu runtime functions in .gopclntab\n",
		      path, bin.version, (unsigned long long)vars.reasons_size / 16,
		      bin.minor < 21 ? "fingRunning" : "fingStatus", functions);
	check_layout(&bin);
	close_binary(&bin);
}

/*
 * A second process of a binary gets the layout the first one read from
 * DWARF without reading DWARF again: here its ELF is one without DWARF,
 * which the table would serve.  Another binary is read from its own ELF.
 */
static void test_layout_cache(void **state)
{
	struct golayout_cache *cache = golayout_cache__new();
	struct binary with, without;
	struct goproc gp = { 0 };
	struct go_layout first;
	struct stat exe;

	(void)state;
	assert_non_null(cache);
	if (!open_binary(GO_TARGETS "leaky", &with))
		skip();
	assert_true(open_binary(GO_TARGETS "leaky-nodwarf", &without));
	assert_int_equal(fstat(with.fd, &exe), 0);
	gp.minor = with.minor;
	assert_int_equal(golayout__read_cached(&gp, with.elf, false, cache, &exe), 0);
	assert_true(gp.layout.from_dwarf);
	first = gp.layout;

	memset(&gp.layout, 0, sizeof(gp.layout));
	assert_int_equal(golayout__read_cached(&gp, without.elf, false, cache, &exe), 0);
	assert_memory_equal(&gp.layout, &first, sizeof(first));

	assert_int_equal(fstat(without.fd, &exe), 0);
	assert_int_equal(golayout__read_cached(&gp, without.elf, false, cache, &exe), 0);
	assert_false(gp.layout.from_dwarf);
	golayout_cache__free(cache);
	close_binary(&with);
	close_binary(&without);
}

static void test_binaries(void **state)
{
	const char *list = getenv("PARKWATCH_GO_BINARIES");
	char *paths = strdup(list ? list : DEFAULT_BINARIES), *save = NULL;

	(void)state;
	assert_non_null(paths);
	for (char *path = strtok_r(paths, ":", &save); path; path = strtok_r(NULL, ":", &save))
		check_binary(path);
	free(paths);
}

/* ------------------------------------------------ why it can't be read */

#define STRIPPED GO_TARGETS "leaky-stripped"

struct image {
	char *bytes;
	size_t size;
};

static bool load_image(const char *path, struct image *img)
{
	FILE *f = fopen(path, "rb");
	long size;

	if (!f)
		return false;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	img->size = (size_t)size;
	img->bytes = malloc(img->size);
	assert_non_null(img->bytes);
	assert_int_equal(fread(img->bytes, 1, img->size, f), img->size);
	fclose(f);
	return true;
}

/* The file offset, size and address of a section of the image. */
static void section_of(struct image *img, const char *name, size_t *off, size_t *size,
		       __u64 *addr)
{
	Elf *elf = elf_memory(img->bytes, img->size);
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;

		assert_non_null(gelf_getshdr(scn, &shdr));
		if (!strcmp(elf_strptr(elf, shstrndx, shdr.sh_name), name)) {
			*off = shdr.sh_offset;
			*size = shdr.sh_size;
			if (addr)
				*addr = shdr.sh_addr;
			elf_end(elf);
			return;
		}
	}
	fail_msg("no section %s", name);
}

/* Replaces the first text inside section with replacement (as long). */
static void patch_in(struct image *img, const char *section, const char *text,
		     const char *replacement)
{
	size_t off, size, len = strlen(text) + 1;

	section_of(img, section, &off, &size, NULL);
	for (size_t i = off; i + len <= off + size; i++) {
		if (!memcmp(img->bytes + i, text, len)) {
			memcpy(img->bytes + i, replacement, len);
			return;
		}
	}
	fail_msg("no %s in %s", text, section);
}

/* gobinary__read of the image, as goproc__open would for a process running
 * it (a non-PIE: nothing of the process is read); its why. */
static int read_image(struct image *img, char *why, size_t why_size)
{
	struct goproc *gp = calloc(1, sizeof(*gp));
	Elf *elf = elf_memory(img->bytes, img->size);
	struct go_symbols syms = { 0 };
	struct stat exe = { 0 };
	int err;

	assert_non_null(gp);
	assert_non_null(elf);
	gp->mem_fd = -1;
	why[0] = '\0';
	err = gobinary__read(gp, elf, &exe, &syms, why, why_size);
	elf_end(elf);
	goproc__free(gp);
	return err;
}

static void expect_why(struct image *img, const char *want)
{
	char why[256];

	assert_int_equal(read_image(img, why, sizeof(why)), -ENODATA);
	if (!strstr(why, want))
		fail_msg("why: \"%s\", expected \"%s\" in it", why, want);
	print_message("  %s\n", why);
}

/* Each reason a stripped binary's goroutines can't be read, on damaged
 * copies of build/targets/go/1.19/leaky-stripped: one phrase each. */
static void test_why(void **state)
{
	struct image img = { 0 }, copy;
	char why[256];
	size_t off, size;

	(void)state;
	if (!load_image(STRIPPED, &img))
		skip();
	copy.size = img.size;
	copy.bytes = malloc(img.size);
	assert_non_null(copy.bytes);

	/* whole, it reads */
	memcpy(copy.bytes, img.bytes, img.size);
	assert_int_equal(read_image(&copy, why, sizeof(why)), 0);

	/* another machine (e_machine, at 18 in the ELF header) */
	memcpy(copy.bytes, img.bytes, img.size);
	copy.bytes[18] = (char)EM_AARCH64;
	copy.bytes[19] = 0;
	expect_why(&copy, "it is built for arm64, and goroutines are read on amd64 only");

	/* no .gopclntab: nothing says where the functions are */
	memcpy(copy.bytes, img.bytes, img.size);
	patch_in(&copy, ".shstrtab", ".gopclntab", ".gopclntaX");
	expect_why(&copy, "no .symtab, and no .gopclntab");

	/* a runtime without allgadd */
	memcpy(copy.bytes, img.bytes, img.size);
	patch_in(&copy, ".gopclntab", "runtime.allgadd", "runtime.allgaXX");
	expect_why(&copy, "no runtime.allgadd in .gopclntab");

	/* an allgadd of another shape: its code made traps */
	memcpy(copy.bytes, img.bytes, img.size);
	{
		Elf *elf = elf_memory(copy.bytes, copy.size);
		struct pclntab_func func;
		struct pclntab tab;
		size_t text_off, text_size;
		__u64 text_addr;
		__u8 *pcln = NULL;
		bool found = false;

		assert_non_null(elf);
		assert_int_equal(gobinary__read_pclntab(elf, &pcln, &tab), 0);
		for (__u64 i = 0; i < tab.nfunc && !found; i++) {
			assert_int_equal(pclntab__func_at(&tab, i, &func), 0);
			found = !strcmp(pclntab__name(&tab, &func), "runtime.allgadd");
		}
		assert_true(found);
		section_of(&copy, ".text", &text_off, &text_size, &text_addr);
		off = text_off + (func.entry - text_addr);
		size = func.end - func.entry;
		free(pcln);
		elf_end(elf);
	}
	memset(copy.bytes + off, 0xcc, size);
	expect_why(&copy, "runtime.allgadd's code doesn't name runtime.allgs");
	free(copy.bytes);
	free(img.bytes);
}

/* A PIE file may leave .gopclntab's textStart 0 for the loader to fill:
 * entries then count from .text, which Go's linker starts with
 * runtime.text. */
static void test_text_start_from_text(void **state)
{
	struct image img = { 0 };
	size_t off, size;
	struct binary bin;
	struct pclntab tab;
	__u8 *pcln = NULL;
	GElf_Sym text;
	Elf *elf;

	(void)state;
	if (!load_image(GO_TARGETS "leaky", &img))
		skip();
	assert_true(open_binary(GO_TARGETS "leaky", &bin));
	assert_true(symbol(&bin, "runtime.text", &text));
	close_binary(&bin);
	section_of(&img, ".gopclntab", &off, &size, NULL);
	memset(img.bytes + off + 24, 0, 8);
	elf = elf_memory(img.bytes, img.size);
	assert_non_null(elf);
	assert_int_equal(gobinary__read_pclntab(elf, &pcln, &tab), 0);
	assert_int_equal(tab.text_start, text.st_value);
	free(pcln);
	elf_end(elf);
	free(img.bytes);
}

/* Not Go: no .go.buildinfo, no .gopclntab. */
static void test_not_go(void **state)
{
	char version[64];
	bool is_go = false;
	__u8 *copy = (__u8 *)1;
	struct pclntab tab;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	Elf *elf;

	(void)state;
	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(elf);
	assert_false(gobinary__version(elf, version, sizeof(version), &is_go));
	assert_false(is_go);
	assert_int_equal(gobinary__read_pclntab(elf, &copy, &tab), -ENOTSUP);
	assert_null(copy);
	elf_end(elf);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allgadd_bytes),
		cmocka_unit_test(test_allgadd_damaged),
		cmocka_unit_test(test_wait_reasons_bytes),
		cmocka_unit_test(test_finalizer_bytes),
		cmocka_unit_test(test_binaries),
		cmocka_unit_test(test_layout_cache),
		cmocka_unit_test(test_why),
		cmocka_unit_test(test_text_start_from_text),
		cmocka_unit_test(test_not_go),
	};

	elf_version(EV_CURRENT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
