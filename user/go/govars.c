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
#include <dlfcn.h>
#include <capstone/capstone.h>
#include "go/govars.h"
#include "util/goelf.h"

#define MAX_REFS 512                /* these functions make a few dozen */
#define MAX_CODE 16384              /* bytes decoded per function; allgadd has ~400 */

/*
 * capstone, loaded the first time a stripped binary is decoded: linked
 * in, its load-time relocations cost every run of parkwatch some 10 ms
 * and 3 MiB.
 */
#define CS_STR(x) #x
#define CS_SONAME(major) "libcapstone.so." CS_STR(major)

static struct {
	bool tried, loaded;
	cs_err (*open)(cs_arch arch, cs_mode mode, csh *handle);
	cs_err (*option)(csh handle, cs_opt_type type, size_t value);
	cs_insn *(*malloc)(csh handle);
	bool (*disasm_iter)(csh handle, const uint8_t **code, size_t *size, uint64_t *address,
			    cs_insn *insn);
	void (*free)(cs_insn *insn, size_t count);
	cs_err (*close)(csh *handle);
	cs_err (*regs_access)(csh handle, const cs_insn *insn, cs_regs read, uint8_t *nread,
			      cs_regs written, uint8_t *nwritten);
} cs;

static bool load_capstone(void)
{
	void *lib;

	if (cs.tried)
		return cs.loaded;
	cs.tried = true;
	lib = dlopen(CS_SONAME(CS_API_MAJOR), RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return false;
	*(void **)&cs.open = dlsym(lib, "cs_open");
	*(void **)&cs.option = dlsym(lib, "cs_option");
	*(void **)&cs.malloc = dlsym(lib, "cs_malloc");
	*(void **)&cs.disasm_iter = dlsym(lib, "cs_disasm_iter");
	*(void **)&cs.free = dlsym(lib, "cs_free");
	*(void **)&cs.close = dlsym(lib, "cs_close");
	*(void **)&cs.regs_access = dlsym(lib, "cs_regs_access");
	cs.loaded = cs.open && cs.option && cs.malloc && cs.disasm_iter && cs.free && cs.close &&
		    cs.regs_access;
	return cs.loaded; /* the library stays loaded for the process's life */
}

enum ref_kind {
	REF_READ,
	REF_WRITE,
	REF_COMPARE,                /* cmp or test */
	REF_EXCHANGE,               /* xchg: an atomic store */
};

/* One access to memory at a known address. */
struct ref {
	__u64 target;
	__u64 base;                 /* indexed: the address in the base register */
	enum ref_kind kind;
	unsigned int size;          /* bytes accessed */
	bool indexed;               /* base + index * scale: an array element */
};

struct refs {
	struct ref items[MAX_REFS];
	size_t count;
	/* `cmp reg, imm`: the immediate, and how many such compares */
	__s64 compare_imm;
	size_t compare_imm_count;
	/* `lea (reg1, reg2)`, one of them holding a known address: a table
	 * that address starts; how many distinct ones */
	__u64 table;
	size_t table_count;
	/* `imul reg, reg, imm`: the immediates */
	__s64 imul_imms[8];
	size_t imul_count;
};

/* The 64-bit register each general register is part of, so a write to
 * ecx forgets what a LEA put in rcx. */
static const x86_reg families[][5] = {
	{ X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH },
	{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH },
	{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH },
	{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH },
	{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, X86_REG_INVALID },
	{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, X86_REG_INVALID },
	{ X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, X86_REG_INVALID },
	{ X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, X86_REG_INVALID },
	{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, X86_REG_INVALID },
	{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, X86_REG_INVALID },
	{ X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B, X86_REG_INVALID },
	{ X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B, X86_REG_INVALID },
	{ X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, X86_REG_INVALID },
	{ X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, X86_REG_INVALID },
	{ X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, X86_REG_INVALID },
	{ X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, X86_REG_INVALID },
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

static int family_of(unsigned int reg)
{
	if (reg == X86_REG_INVALID)
		return -1;
	for (size_t f = 0; f < NFAMILIES; f++)
		for (size_t i = 0; i < 5; i++)
			if (families[f][i] == reg)
				return (int)f;
	return -1;
}

/* What a LEA of rip left in each register, while nothing overwrote it. */
struct regs {
	__u64 value[NFAMILIES];
	bool known[NFAMILIES];
};

static void forget_written(csh handle, const cs_insn *insn, struct regs *regs)
{
	cs_regs read, written;
	uint8_t nread, nwritten;

	if (cs.regs_access(handle, insn, read, &nread, written, &nwritten)) {
		memset(regs->known, 0, sizeof(regs->known));
		return;
	}
	for (uint8_t i = 0; i < nwritten; i++) {
		int f = family_of(written[i]);

		if (f >= 0)
			regs->known[f] = false;
	}
}

static enum ref_kind kind_of(const cs_insn *insn, const cs_x86_op *op)
{
	switch (insn->id) {
	case X86_INS_CMP:
	case X86_INS_TEST:
		return REF_COMPARE;
	case X86_INS_XCHG:
		return REF_EXCHANGE;
	default:
		return op->access & CS_AC_WRITE ? REF_WRITE : REF_READ;
	}
}

/* lea (base, index): the element address of a table one register holds. */
static void note_table(const cs_x86_op *op, const struct regs *regs, struct refs *refs)
{
	int base = family_of(op->mem.base), index = family_of(op->mem.index);
	bool base_known = base >= 0 && regs->known[base], index_known = index >= 0 && regs->known[index];
	__u64 table;

	if (op->mem.scale != 1 || op->mem.disp || base < 0 || index < 0 || base_known == index_known)
		return;
	table = base_known ? regs->value[base] : regs->value[index];
	if (!refs->table_count || refs->table != table)
		refs->table_count++;
	refs->table = table;
}

static void note_insn(const cs_insn *insn, const struct regs *regs, struct refs *refs)
{
	const cs_x86 *x86 = &insn->detail->x86;
	__u64 next = insn->address + insn->size;

	if (insn->id == X86_INS_IMUL && x86->op_count == 3 && x86->operands[2].type == X86_OP_IMM &&
	    refs->imul_count < sizeof(refs->imul_imms) / sizeof(refs->imul_imms[0]))
		refs->imul_imms[refs->imul_count++] = x86->operands[2].imm;
	if (insn->id == X86_INS_LEA && x86->op_count == 2 && x86->operands[1].type == X86_OP_MEM)
		note_table(&x86->operands[1], regs, refs);

	if (insn->id == X86_INS_CMP && x86->op_count == 2 && x86->operands[0].type == X86_OP_REG &&
	    x86->operands[1].type == X86_OP_IMM) {
		refs->compare_imm = x86->operands[1].imm;
		refs->compare_imm_count++;
	}
	for (uint8_t i = 0; i < x86->op_count; i++) {
		const cs_x86_op *op = &x86->operands[i];
		struct ref ref = { 0 };
		int base;

		if (op->type != X86_OP_MEM || op->mem.segment != X86_REG_INVALID)
			continue;
		if (op->mem.base == X86_REG_RIP) {
			if (op->mem.index != X86_REG_INVALID)
				continue;
			ref.target = next + (__u64)op->mem.disp;
		} else {
			base = family_of(op->mem.base);
			if (base < 0 || !regs->known[base])
				continue;
			ref.base = regs->value[base];
			ref.target = ref.base + (__u64)op->mem.disp;
			ref.indexed = op->mem.index != X86_REG_INVALID;
		}
		if (insn->id == X86_INS_LEA)
			continue; /* an address taken, not memory touched: below */
		ref.kind = kind_of(insn, op);
		ref.size = op->size;
		if (refs->count < MAX_REFS)
			refs->items[refs->count++] = ref;
	}
}

/* Every access to a known address in code, in order, into *out (freed
 * by the caller). */
static int collect_refs(const __u8 *code, size_t size, __u64 addr, struct refs **out)
{
	struct regs regs = { 0 };
	const uint8_t *at = code;
	uint64_t pc = addr;
	struct refs *refs;
	cs_insn *insn;
	csh handle;

	*out = NULL;
	if (!code || !size)
		return -ENOENT;
	if (size > MAX_CODE)
		size = MAX_CODE;
	if (!load_capstone())
		return -ENOTSUP;
	refs = calloc(1, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	if (cs.open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) {
		free(refs);
		return -ENOMEM;
	}
	cs.option(handle, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs.malloc(handle);
	if (!insn) {
		cs.close(&handle);
		free(refs);
		return -ENOMEM;
	}
	/* stops at the end, or at bytes that aren't an instruction (the
	 * padding between functions) */
	while (cs.disasm_iter(handle, &at, &size, &pc, insn)) {
		const cs_x86 *x86 = &insn->detail->x86;

		note_insn(insn, &regs, refs);
		forget_written(handle, insn, &regs);
		if (insn->id == X86_INS_LEA && x86->op_count == 2 &&
		    x86->operands[0].type == X86_OP_REG && x86->operands[1].type == X86_OP_MEM &&
		    x86->operands[1].mem.base == X86_REG_RIP &&
		    x86->operands[1].mem.index == X86_REG_INVALID) {
			int f = family_of(x86->operands[0].reg);

			if (f >= 0) {
				regs.value[f] = insn->address + insn->size +
						(__u64)x86->operands[1].mem.disp;
				regs.known[f] = true;
			}
		}
		/* what follows a call, a return or a jump starts with other registers */
		if (insn->id == X86_INS_CALL || insn->id == X86_INS_RET || insn->id == X86_INS_JMP)
			memset(regs.known, 0, sizeof(regs.known));
	}
	cs.free(insn, 1);
	cs.close(&handle);
	*out = refs;
	return 0;
}

static bool has_ref(const struct refs *refs, __u64 target, int kind, unsigned int size)
{
	for (size_t i = 0; i < refs->count; i++)
		if (refs->items[i].target == target && !refs->items[i].indexed &&
		    (kind < 0 || refs->items[i].kind == (enum ref_kind)kind) &&
		    (!size || refs->items[i].size == size))
			return true;
	return false;
}

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
		    !has_ref(refs, r->target + 8, -1, 8) || !has_ref(refs, r->target + 16, -1, 8))
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
		compared += has_ref(refs, exchanged[i], REF_COMPARE, 8);
	if (compared != 1)
		return -ENOENT;
	out->allgs = slice;
	out->allgptr = has_ref(refs, exchanged[0], REF_COMPARE, 8) ? exchanged[0] : exchanged[1];
	out->allglen = out->allgptr == exchanged[0] ? exchanged[1] : exchanged[0];
	return 0;
}

int govars__allgadd(const __u8 *code, size_t size, __u64 addr, struct go_allg_vars *out)
{
	struct refs *refs;
	int err = collect_refs(code, size, addr, &refs);

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
	int err = collect_refs(code, size, addr, &refs);

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
	int err = collect_refs(code, size, addr, &refs);

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
	int err = collect_refs(code, size, addr, &refs);

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
			 "with (apt-get install libcapstone4)", CS_SONAME(CS_API_MAJOR));
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
