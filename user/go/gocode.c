// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Memory accesses in amd64 code, decoded by capstone (gocode.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <capstone/capstone.h>
#include "go/gocode.h"

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

const char *gocode__library(void)
{
	return CS_SONAME(CS_API_MAJOR);
}

static bool load_capstone(void)
{
	if (cs.tried)
		return cs.loaded;
	cs.tried = true;
#ifdef PARKWATCH_CAPSTONE_LINKED
	/* make static links capstone in: a static binary can't dlopen */
	cs.open = cs_open;
	cs.option = cs_option;
	cs.malloc = cs_malloc;
	cs.disasm_iter = cs_disasm_iter;
	cs.free = cs_free;
	cs.close = cs_close;
	cs.regs_access = cs_regs_access;
	cs.loaded = true;
#else
	void *lib = dlopen(gocode__library(), RTLD_NOW | RTLD_LOCAL);

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
#endif
	return cs.loaded; /* the library stays loaded for the process's life */
}

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
		if (refs->count < GOCODE_MAX_REFS)
			refs->items[refs->count++] = ref;
	}
}

int gocode__refs(const __u8 *code, size_t size, __u64 addr, struct refs **out)
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

bool gocode__has_ref(const struct refs *refs, __u64 target, int kind, unsigned int size)
{
	for (size_t i = 0; i < refs->count; i++)
		if (refs->items[i].target == target && !refs->items[i].indexed &&
		    (kind < 0 || refs->items[i].kind == (enum ref_kind)kind) &&
		    (!size || refs->items[i].size == size))
			return true;
	return false;
}
