// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The runtime's variables from its code (govars.h).
 *
 * Why decoding: a binary linked with -s has no .symtab, and the runtime's
 * variables are in .bss and .data with nothing else pointing at them from
 * the file.  .gopclntab still names every function, and these few are
 * small, exist as functions (not only inlined) in every release from 1.19
 * to 1.27, and have used the variables the same way throughout:
 *
 *   runtime.allgadd: `allgs = append(allgs, gp)` loads and stores the three
 *     words of the slice header; `&allgs[0] != allgptr` compares allgptr;
 *     atomicstorep(&allgptr) and atomic.Storeuintptr(&allglen) are the only
 *     two XCHGs;
 *   runtime.waitReason.String: `w >= len(waitReasonStrings)` is the one
 *     compare with a constant, and waitReasonStrings[w] an indexed load
 *     from the array's address;
 *   runtime.isSystemGoroutine: fingRunning (bool, < 1.21) or fingStatus
 *     (uint32) is the only variable it reads;
 *   runtime.semrelease1: semtable.rootFor(addr), inlined, multiplies by
 *     semTabSize (251) and indexes the one table it takes the address of.
 *
 * So the decoder looks at what each instruction does with memory (read,
 * write, compare, exchange; through rip directly or through a register a
 * LEA of rip just set), not at where in the function it sits or which
 * registers the compiler chose.  The instructions are decoded by capstone:
 * amd64's prefixes, ModRM and SIB bytes and many encodings of one
 * operation are a well-kept library's job.  tests/unit/go/test_govars.c
 * checks the answers against .symtab for the binaries of every release.
 *
 * Searching the data instead (an array of string headers whose second is
 * "GC assist marking") would find waitReasonStrings but not its length
 * (gStatusStrings may follow it), and nothing of allgs, which is zero in
 * the file: code is where the runtime itself says where they are.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "go/gocode.h"
#include "go/govars.h"
#include "util/goelf.h"

/*
 * allgs: the one address whose three words (array, len, cap) are all read
 * or written; allgptr and allglen: the two addresses exchanged, allgptr
 * the one also compared.
 */
static int find_allg_vars(const struct refs *refs, struct go_allg_vars *out)
{
	__u64 slice = 0, exchanged[2] = { 0 };
	size_t slices = 0, exchanges = 0, compared = 0;

	for (size_t i = 0; i < refs->count; i++) {
		const struct ref *r = &refs->items[i];

		if (r->indexed || r->size != 8 || r->kind == REF_EXCHANGE ||
		    !gocode__has_ref(refs, r->target + 8, -1, 8) || !gocode__has_ref(refs, r->target + 16, -1, 8))
			continue;
		if (!slices || r->target != slice)
			slices++;
		slice = r->target;
	}
	if (slices != 1)
		return -ENOENT;
	for (size_t i = 0; i < refs->count; i++) {
		const struct ref *r = &refs->items[i];

		if (r->kind != REF_EXCHANGE || r->indexed || r->size != 8 ||
		    (r->target >= slice && r->target < slice + 24))
			continue;
		if ((exchanges >= 1 && r->target == exchanged[0]) ||
		    (exchanges == 2 && r->target == exchanged[1]))
			continue;
		if (exchanges == 2)
			return -ENOENT; /* a third */
		exchanged[exchanges++] = r->target;
	}
	if (exchanges != 2)
		return -ENOENT;
	for (int i = 0; i < 2; i++)
		compared += gocode__has_ref(refs, exchanged[i], REF_COMPARE, 8);
	if (compared != 1)
		return -ENOENT;
	out->allgs = slice;
	out->allgptr = gocode__has_ref(refs, exchanged[0], REF_COMPARE, 8) ? exchanged[0] : exchanged[1];
	out->allglen = out->allgptr == exchanged[0] ? exchanged[1] : exchanged[0];
	return 0;
}

int govars__allgadd(const __u8 *code, size_t size, __u64 addr, struct go_allg_vars *out)
{
	struct refs *refs;
	int err = gocode__refs(code, size, addr, &refs);

	if (!err)
		err = find_allg_vars(refs, out);
	free(refs);
	return err;
}

/* The array: the one base of indexed 8-byte reads; its length: the one
 * constant the reason is compared with. */
int govars__wait_reasons(const __u8 *code, size_t size, __u64 addr, __u64 *array,
			 unsigned int *count)
{
	struct refs *refs;
	__u64 base = 0;
	size_t bases = 0;
	int err = gocode__refs(code, size, addr, &refs);

	if (err)
		return err;
	for (size_t i = 0; i < refs->count; i++) {
		const struct ref *r = &refs->items[i];

		if (!r->indexed || r->kind != REF_READ || r->size != 8)
			continue;
		if (!bases || r->base != base)
			bases++;
		base = r->base;
	}
	/* waitReason is a uint8: at most 256 strings */
	if (bases != 1 || refs->compare_imm_count != 1 || refs->compare_imm <= 0 ||
	    refs->compare_imm > 256) {
		err = -ENOENT;
	} else {
		*array = base;
		*count = (unsigned int)refs->compare_imm;
	}
	free(refs);
	return err;
}

/* The one variable read, as a bool or a uint32. */
int govars__finalizer(const __u8 *code, size_t size, __u64 addr, __u64 *var,
		      unsigned int *var_size)
{
	struct refs *refs;
	__u64 target = 0;
	unsigned int target_size = 0;
	size_t vars = 0;
	int err = gocode__refs(code, size, addr, &refs);

	if (err)
		return err;
	for (size_t i = 0; i < refs->count; i++) {
		const struct ref *r = &refs->items[i];

		if (r->indexed || (r->kind != REF_READ && r->kind != REF_COMPARE) ||
		    (vars && r->target == target))
			continue;
		vars++;
		target = r->target;
		target_size = r->size;
	}
	if (vars == 1 && (target_size == 1 || target_size == 4)) {
		*var = target;
		*var_size = target_size;
	} else {
		err = -ENOENT;
	}
	free(refs);
	return err;
}

/*
 * semrelease1's semtable.rootFor, inlined: (addr >> 3) % 251 (an imul by
 * semTabSize), shifted by the entry's size, added to the one table it
 * indexes.
 */
int govars__semtable(const __u8 *code, size_t size, __u64 addr, __u64 *var)
{
	struct refs *refs;
	bool by_tab_size = false;
	int err = gocode__refs(code, size, addr, &refs);

	if (err)
		return err;
	for (size_t i = 0; i < refs->imul_count; i++)
		by_tab_size |= refs->imul_imms[i] == GO_SEM_TAB_SIZE;
	if (by_tab_size && refs->table_count == 1)
		*var = refs->table;
	else
		err = -ENOENT;
	free(refs);
	return err;
}

/* The bytes of [f->entry, f->end) (file addresses); NULL when the file
 * doesn't hold them all. */
static const __u8 *code_of(Elf *elf, const struct pclntab_func *f, size_t *size)
{
	size_t held = 0;
	const __u8 *code = f->end > f->entry ? goelf__bytes_at(elf, f->entry, &held) : NULL;

	if (!code || held < f->end - f->entry)
		return NULL;
	*size = f->end - f->entry;
	return code;
}

/* addr lies in a writable section that takes memory (.data, .bss, ...). */
static bool in_data(Elf *elf, __u64 addr, __u64 size)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;

		if (gelf_getshdr(scn, &shdr) &&
		    (shdr.sh_flags & (SHF_ALLOC | SHF_WRITE)) == (SHF_ALLOC | SHF_WRITE) &&
		    addr >= shdr.sh_addr && size <= shdr.sh_size &&
		    addr - shdr.sh_addr <= shdr.sh_size - size)
			return true;
	}
	return false;
}

/* [entry, end) of the functions whose code names the variables; entry
 * 0: not in the table. */
struct var_users {
	struct pclntab_func allgadd, reason_string, is_system, semrelease;
};

static int find_users(const struct pclntab *tab, struct var_users *users)
{
	struct {
		const char *name;
		struct pclntab_func *func;
	} wanted[] = {
		{ "runtime.allgadd", &users->allgadd },
		{ "runtime.waitReason.String", &users->reason_string },
		{ "runtime.isSystemGoroutine", &users->is_system },
		{ "runtime.semrelease1", &users->semrelease },
	};
	struct pclntab_func func;

	memset(users, 0, sizeof(*users));
	for (__u64 i = 0; i < tab->nfunc; i++) {
		const char *name;

		if (pclntab__func_at(tab, i, &func))
			return -EINVAL;
		name = pclntab__name(tab, &func);
		if (!name || strncmp(name, "runtime.", 8))
			continue;
		for (size_t w = 0; w < sizeof(wanted) / sizeof(wanted[0]); w++)
			if (!strcmp(name, wanted[w].name))
				*wanted[w].func = func;
	}
	return 0;
}

/*
 * runtime.allgadd for allgs, allglen and allgptr; runtime.waitReason.String
 * for the wait reasons; runtime.isSystemGoroutine for the finalizer's
 * state.  Only allgs is needed: without the reasons the codes are
 * reported, without the finalizer's state its goroutine counts as the
 * runtime's.
 */
int govars__from_code(Elf *elf, const struct pclntab *tab, struct go_vars *out, char *why,
		      size_t why_size)
{
	struct go_allg_vars allg;
	struct var_users users;
	const __u8 *code;
	unsigned int count, size;
	size_t len;
	__u64 var;
	int err;

	memset(out, 0, sizeof(*out));
	if (find_users(tab, &users)) {
		snprintf(why, why_size, "no .symtab, and a .gopclntab that can't be read through");
		return -ENODATA;
	}
	code = users.allgadd.entry ? code_of(elf, &users.allgadd, &len) : NULL;
	if (!code) {
		snprintf(why, why_size, "no .symtab, and no runtime.allgadd in .gopclntab whose "
			 "code would say where runtime.allgs is");
		return -ENODATA;
	}
	err = govars__allgadd(code, len, users.allgadd.entry, &allg);
	if (err == -ENOMEM)
		return err;
	if (err == -ENOTSUP) {
		snprintf(why, why_size, "no .symtab, and no %s to decode runtime.allgadd's code "
			 "with (apt-get install libcapstone4)", gocode__library());
		return -ENODATA;
	}
	if (err || !in_data(elf, allg.allgs, 24) || !in_data(elf, allg.allglen, 8) ||
	    !in_data(elf, allg.allgptr, 8)) {
		snprintf(why, why_size, "no .symtab, and runtime.allgadd's code doesn't name "
			 "runtime.allgs the way Go 1.19 to 1.27 do");
		return -ENODATA;
	}
	out->allgs = allg.allgs;
	out->allglen = allg.allglen;
	out->allgptr = allg.allgptr;

	code = users.reason_string.entry ? code_of(elf, &users.reason_string, &len) : NULL;
	err = code ? govars__wait_reasons(code, len, users.reason_string.entry, &var, &count) :
		     -ENOENT;
	if (err == -ENOMEM)
		return err;
	if (!err && in_data(elf, var, (__u64)count * 16)) {
		out->reasons = var;
		out->reasons_size = (__u64)count * 16;
	}

	code = users.is_system.entry ? code_of(elf, &users.is_system, &len) : NULL;
	err = code ? govars__finalizer(code, len, users.is_system.entry, &var, &size) : -ENOENT;
	if (err == -ENOMEM)
		return err;
	if (!err && in_data(elf, var, size)) {
		if (size == 1)
			out->fing_running = var;
		else
			out->fing_status = var;
	}

	code = users.semrelease.entry ? code_of(elf, &users.semrelease, &len) : NULL;
	err = code ? govars__semtable(code, len, users.semrelease.entry, &var) : -ENOENT;
	if (err == -ENOMEM)
		return err;
	if (!err && in_data(elf, var, GO_SEM_TAB_SIZE * GO_SEM_ROOT_STRIDE)) {
		out->semtable = var;
		out->semtable_size = GO_SEM_TAB_SIZE * GO_SEM_ROOT_STRIDE;
	}
	return 0;
}
