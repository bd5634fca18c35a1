// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of user-space symbolization (user/proc/symbolize.c) on this
 * test binary's own process: no root, no BPF.  The functions below are the
 * addresses looked up; they are kept out of line and uncloned so their
 * names stay exactly as written.  And a child running the Go target
 * build/targets/go/1.19/leaky, stripped and not (make targets).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>
#include <gelf.h>
#include "proc/symbolize.h"
#include "util/pclntab.h"
#include "support/fixtures.h"
#include "support/leaky.h"
#include "support/procs_self.h"

#define NOINLINE __attribute__((noinline, noclone, used))

static struct procs *procs;
static struct proc *self;

volatile int sink;
int inlined_call_line;   /* line of the call inside inlined_helper */
int helper_call_line;    /* line where inline_caller calls inlined_helper */

NOINLINE int some_noinline_function(int x)
{
	int total = 0;

	for (int i = 0; i < x; i++)
		total += sink * i + 3;
	sink = total;
	return total;
}

NOINLINE static int static_noinline_function(int x)
{
	sink = x * 7;
	return sink + 1;
}

/* Returns the address right after its call site: a pc inside the caller. */
NOINLINE static unsigned long return_address(void)
{
	unsigned long pc = (unsigned long)__builtin_return_address(0);

	__asm__ volatile("" ::: "memory");
	return pc;
}

static inline __attribute__((always_inline)) unsigned long inlined_helper(int x)
{
	unsigned long pc;

	sink = x * 3;
	pc = return_address(); inlined_call_line = __LINE__;
	sink += 1;
	return pc;
}

NOINLINE unsigned long inline_caller(int x)
{
	unsigned long pc;

	sink = x;
	pc = inlined_helper(x + 1); helper_call_line = __LINE__;
	__asm__ volatile("" ::: "memory");
	return pc;
}

/* A function the linker knows by a C++ mangled name (an asm label): DWARF
 * gives it that DW_AT_linkage_name, as g++ does for ns::demangle(int). */
NOINLINE int mangled_function(int x) __asm__("_ZN2pw4test8demangleEi");
NOINLINE int mangled_function(int x)
{
	sink = x + 11;
	return sink;
}

/* A Go assembly function as Go's linker names it in .symtab: NAME.abi0,
 * with no DWARF of its own. */
__asm__(".text\n"
	".globl pw_asm_stub.abi0\n"
	".type pw_asm_stub.abi0, @function\n"
	"pw_asm_stub.abi0:\n"
	"\tnop\n\tnop\n\tnop\n\tret\n"
	".size pw_asm_stub.abi0, .-pw_asm_stub.abi0\n");
extern void asm_stub(void) __asm__("pw_asm_stub.abi0");

/* Prints what was found when its outermost function does not contain
 * expected: the assertions that follow then fail with the details shown. */
static void show_unless(const struct symbol *symbol, const char *expected)
{
	const char *function = symbol && symbol->frame_count ?
				       symbol->frames[symbol->frame_count - 1].function : NULL;

	if (function && strstr(function, expected))
		return;
	if (!symbol) {
		print_message("symbol: NULL\n");
		return;
	}
	print_message("symbol: module %s +0x%llx, %d frame(s)\n",
		      symbol->module ? symbol->module : "(none)", symbol->module_offset,
		      symbol->frame_count);
	for (int i = 0; i < symbol->frame_count; i++)
		print_message("  %s %s:%d +0x%llx%s\n",
			      symbol->frames[i].function ? symbol->frames[i].function : "??",
			      symbol->frames[i].file ? symbol->frames[i].file : "?",
			      symbol->frames[i].line, symbol->frames[i].function_offset,
			      symbol->frames[i].inlined ? " (inlined)" : "");
}

static int group_setup(void **state)
{
	(void)state;
	return procs_self_open(&procs, &self);
}

static int group_teardown(void **state)
{
	(void)state;
	procs_self_close(procs);
	return 0;
}

static void test_own_dwfl(void **state)
{
	(void)state;
	assert_int_equal(self->pid, getpid());
	assert_non_null(procs__dwfl(self));
	assert_false(self->dwfl_failed);
	/* the same session while the snapshot lasts */
	assert_ptr_equal(procs__dwfl(self), procs__dwfl(self));
}

static void test_noinline_function(void **state)
{
	unsigned long pc = (unsigned long)&some_noinline_function + 4;
	const struct symbol *symbol = symbolize__user(self, pc);
	const struct symbol_frame *last;

	(void)state;
	show_unless(symbol, "some_noinline_function");
	assert_non_null(symbol);
	assert_true(symbol->frame_count >= 1);
	last = &symbol->frames[symbol->frame_count - 1];
	assert_non_null(last->function);
	assert_string_equal(last->function, "some_noinline_function");
	assert_false(last->inlined);
	assert_true(last->function_offset == 4);
	assert_true(ends_with(last->file, "/tests/unit/proc/test_symbolize.c"));
	assert_true(last->file[0] == '/'); /* made absolute with the compilation directory */
	assert_true(last->line > 0);
	assert_true(ends_with(symbol->module, "/test_symbolize"));
	assert_true(pc >= symbol->module_start && pc < symbol->module_end);
	assert_non_null(symbol->build_id);
	assert_true(strlen(symbol->build_id) >= 16);
	assert_true(strspn(symbol->build_id, "0123456789abcdef") == strlen(symbol->build_id));
}

static void test_function_start_and_static(void **state)
{
	const struct symbol *start = symbolize__user(self, (unsigned long)&some_noinline_function);
	const struct symbol *local = symbolize__user(self,
						     (unsigned long)&static_noinline_function + 1);

	(void)state;
	show_unless(start, "some_noinline_function");
	show_unless(local, "static_noinline_function");
	assert_non_null(start);
	assert_true(start->frame_count >= 1);
	assert_string_equal(start->frames[start->frame_count - 1].function, "some_noinline_function");
	assert_true(start->frames[start->frame_count - 1].function_offset == 0);
	/* a static function is named from the local symbol table */
	assert_non_null(local);
	assert_true(local->frame_count >= 1);
	assert_string_equal(local->frames[local->frame_count - 1].function,
			    "static_noinline_function");
	assert_true(local->frames[local->frame_count - 1].function_offset == 1);
}

static void test_inlined_function(void **state)
{
	unsigned long ret = inline_caller(5);
	const struct symbol *symbol;
	const struct symbol_frame *last;

	(void)state;
	/* a return address is looked up one byte back, inside the call */
	symbol = symbolize__user(self, ret - 1);
	show_unless(symbol, "inline_caller");
	assert_non_null(symbol);
	assert_true(symbol->frame_count >= 2);
	assert_non_null(symbol->frames[0].function);
	assert_string_equal(symbol->frames[0].function, "inlined_helper");
	assert_true(symbol->frames[0].inlined);
	assert_true(ends_with(symbol->frames[0].file, "test_symbolize.c"));
	assert_int_equal(symbol->frames[0].line, inlined_call_line);
	last = &symbol->frames[symbol->frame_count - 1];
	assert_non_null(last->function);
	assert_string_equal(last->function, "inline_caller");
	assert_false(last->inlined);
	/* the caller's line is the call site of the inlined function */
	assert_true(ends_with(last->file, "test_symbolize.c"));
	assert_int_equal(last->line, helper_call_line);
	assert_true(last->function_offset > 0);
	assert_true(ret - 1 - last->function_offset == (unsigned long)&inline_caller);
	for (int i = 0; i < symbol->frame_count - 1; i++)
		assert_true(symbol->frames[i].inlined);
}

static void test_libc_function(void **state)
{
	unsigned long pc = (unsigned long)&getpid;
	const struct symbol *symbol = symbolize__user(self, pc + 1);

	(void)state;
	show_unless(symbol, "getpid");
	assert_non_null(symbol);
	assert_non_null(symbol->module);
	assert_non_null(strstr(symbol->module, "libc"));
	assert_true(symbol->frame_count >= 1);
	assert_non_null(symbol->frames[symbol->frame_count - 1].function);
	assert_non_null(strstr(symbol->frames[symbol->frame_count - 1].function, "getpid"));
	/* no ELF version suffix in the name */
	assert_null(strchr(symbol->frames[symbol->frame_count - 1].function, '@'));
	assert_true(pc >= symbol->module_start && pc < symbol->module_end);
}

/* The name shown is the demangled one, the mangled one kept beside it;
 * both are made once, with the symbol the cache holds for the pc. */
static void test_mangled_name(void **state)
{
	unsigned long pc = (unsigned long)&mangled_function + 1;
	const struct symbol *symbol = symbolize__user(self, pc);
	const struct symbol_frame *last;

	(void)state;
	show_unless(symbol, "pw::test::demangle");
	assert_non_null(symbol);
	assert_true(symbol->frame_count >= 1);
	last = &symbol->frames[symbol->frame_count - 1];
	assert_string_equal(last->function, "pw::test::demangle(int)");
	assert_non_null(last->system_name);
	assert_string_equal(last->system_name, "_ZN2pw4test8demangleEi");
	assert_true(symbol->function_entry == (unsigned long)&mangled_function);
	assert_ptr_equal(symbolize__user(self, pc), symbol);
	/* a C name is its own system name */
	symbol = symbolize__user(self, (unsigned long)&some_noinline_function + 1);
	assert_non_null(symbol);
	assert_null(symbol->frames[symbol->frame_count - 1].system_name);
}

/* A tail-call frame is its function alone (no inlined frames), at the
 * line of the pc, marked, and made once per pc. */
static void test_tail_call_symbol(void **state)
{
	unsigned long ret = inline_caller(7);
	const struct symbol *tail = symbolize__tail_call(self, ret - 1);
	const struct symbol *plain = symbolize__user(self, ret - 1);

	(void)state;
	assert_non_null(tail);
	assert_non_null(plain);
	assert_ptr_not_equal(tail, plain);
	assert_int_equal(tail->frame_count, 1);
	assert_string_equal(tail->frames[0].function, "inline_caller");
	assert_true(tail->frames[0].tail_call);
	assert_false(tail->frames[0].inlined);
	assert_true(ends_with(tail->frames[0].file, "test_symbolize.c"));
	assert_int_equal(tail->frames[0].line, inlined_call_line);
	assert_false(plain->frames[plain->frame_count - 1].tail_call);
	assert_ptr_equal(symbolize__tail_call(self, ret - 1), tail);
}

static void test_unmapped_address(void **state)
{
	const struct symbol *symbol = symbolize__user(self, 0x10);

	(void)state;
	assert_non_null(symbol);
	assert_int_equal(symbol->frame_count, 0);
	assert_null(symbol->module);
	assert_null(symbol->build_id);
	assert_true(symbol->module_offset == 0x10);
	assert_null(symbol__function(symbol));
	/* the miss is cached too */
	assert_ptr_equal(symbolize__user(self, 0x10), symbol);
}

/* pc 0 (a zeroed capture, a garbage leaf) is a miss like any other: NULL
 * is for out of memory only, and the stacks that name it need a symbol. */
static void test_pc_zero(void **state)
{
	const struct symbol *symbol = symbolize__user(self, 0);

	(void)state;
	assert_non_null(symbol);
	assert_int_equal(symbol->frame_count, 0);
	assert_null(symbol->module);
	assert_true(symbol->module_offset == 0);
	assert_ptr_equal(symbolize__user(self, 0), symbol);
	assert_ptr_not_equal(symbolize__user(self, 0x10), symbol);
}

static void test_cached(void **state)
{
	unsigned long pc = (unsigned long)&some_noinline_function + 4;
	const struct symbol *first = symbolize__user(self, pc);
	const struct symbol *other = symbolize__user(self, pc + 1);

	(void)state;
	assert_non_null(first);
	assert_ptr_equal(symbolize__user(self, pc), first);
	assert_ptr_equal(u64map__get(&self->symbols, pc), first);
	assert_non_null(other);
	assert_ptr_not_equal(other, first);
	assert_ptr_equal(symbolize__user(self, pc + 1), other);
}

/* Go's assembly functions read as Go's tracebacks print them: no ".abi0". */
static void test_abi0_suffix_dropped(void **state)
{
	const struct symbol *symbol = symbolize__user(self, (unsigned long)&asm_stub + 2);

	(void)state;
	show_unless(symbol, "pw_asm_stub");
	assert_non_null(symbol);
	assert_true(symbol->frame_count >= 1);
	assert_string_equal(symbol__function(symbol), "pw_asm_stub");
	assert_true(symbol->frames[symbol->frame_count - 1].function_offset == 2);
}

/*
 * The cache holds one reference to each symbol; whoever keeps one (a
 * picture) takes its own, and it outlives the cache: a process no snapshot
 * touched is dropped with its cache at once.
 */
static void test_cache_reference(void **state)
{
	struct procs *session = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	struct proc *proc;
	const struct symbol *symbol, *kept;

	(void)state;
	assert_non_null(session);
	procs__begin(session);
	proc = procs__get(session, getpid());
	assert_non_null(proc);
	symbol = symbolize__user(proc, (unsigned long)&some_noinline_function + 4);
	assert_non_null(symbol);
	assert_int_equal(symbol->refs, 1);
	assert_int_equal(procs__symbol_count(session), 1);
	kept = symbol__get(symbol);
	assert_ptr_equal(kept, symbol);
	assert_int_equal(symbol->refs, 2);
	procs__end(session);
	assert_int_equal(procs__symbol_count(session), 1);
	/* the next snapshot does not touch the process: it goes, cache and all */
	procs__begin(session);
	procs__end(session);
	assert_int_equal(procs__symbol_count(session), 0);
	assert_int_equal(kept->refs, 1);
	assert_string_equal(symbol__function(kept), "some_noinline_function");
	assert_true(ends_with(kept->module, "/test_symbolize"));
	symbol__put(kept);
	procs__free(session);
}

/* A process whose maps can't be read: symbols still come back, module-less. */
static void test_unreadable_process(void **state)
{
	struct procs *others = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	struct proc *gone;
	const struct symbol *symbol;

	(void)state;
	assert_non_null(others);
	procs__begin(others);
	gone = procs__get(others, 0x7ffffff0);
	assert_non_null(gone);
	assert_null(procs__dwfl(gone));
	assert_true(gone->dwfl_failed);
	symbol = symbolize__user(gone, 0x401000);
	assert_non_null(symbol);
	assert_int_equal(symbol->frame_count, 0);
	assert_null(symbol->module);
	procs__end(others);
	procs__free(others);
}

/* The entry of the function called name in the .gopclntab of the file at
 * path (a non-PIE Go binary: file addresses are the process's); 0 if none. */
static __u64 go_function_entry(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	__u64 entry = 0;

	elf_version(EV_CURRENT);
	elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	while (elf && !elf_getshdrstrndx(elf, &shstrndx) && (scn = elf_nextscn(elf, scn))) {
		struct pclntab tab;
		GElf_Shdr shdr;
		Elf_Data *data;
		const char *scn_name;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		scn_name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!scn_name || strcmp(scn_name, ".gopclntab") || !(data = elf_getdata(scn, NULL)) ||
		    pclntab__init(&tab, data->d_buf, data->d_size, 0))
			continue;
		for (__u64 i = 0; i < tab.nfunc && !entry; i++) {
			struct pclntab_func func;
			const char *got;

			if (!pclntab__func_at(&tab, i, &func) && (got = pclntab__name(&tab, &func)) &&
			    !strcmp(got, name))
				entry = func.entry;
		}
		break;
	}
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	return entry;
}

/* main.main + 9 in a child running the leaky variant, symbolized. */
static const struct symbol *symbolize_go(struct procs *session, const char *variant, pid_t *pid)
{
	char path[4096];
	__u64 entry;
	struct proc *proc;

	leaky_path(variant, path, sizeof(path));
	entry = go_function_entry(path, "main.main");
	if (!entry)
		return NULL;
	*pid = start_leaky(path);
	assert_true(*pid > 0);
	proc = procs__get(session, *pid);
	assert_non_null(proc);
	return symbolize__user(proc, entry + 9);
}

/*
 * -ldflags='-s -w': no .symtab, no DWARF, yet the function, file and line
 * come from .gopclntab, and are what the unstripped build's DWARF says.
 */
static void test_stripped_go(void **state)
{
	struct procs *session = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	const struct symbol *stripped, *full;
	pid_t stripped_pid, full_pid;

	(void)state;
	assert_non_null(session);
	procs__begin(session);
	stripped = symbolize_go(session, "-stripped", &stripped_pid);
	if (!stripped) {
		procs__free(session);
		skip();
	}
	show_unless(stripped, "main.main");
	assert_int_equal(stripped->frame_count, 1);
	assert_string_equal(stripped->frames[0].function, "main.main");
	assert_non_null(stripped->frames[0].file);
	assert_true(ends_with(stripped->frames[0].file, "/tests/targets/go/leaky/main.go"));
	assert_true(stripped->frames[0].line > 0);
	assert_int_equal(stripped->frames[0].function_offset, 9);
	assert_false(stripped->frames[0].inlined);
	assert_true(ends_with(stripped->module, "/leaky-stripped"));

	full = symbolize_go(session, "", &full_pid);
	assert_non_null(full);
	show_unless(full, "main.main");
	assert_int_equal(full->frame_count, 1);
	assert_string_equal(full->frames[0].function, "main.main");
	assert_string_equal(full->frames[0].file, stripped->frames[0].file);
	assert_int_equal(full->frames[0].line, stripped->frames[0].line);
	assert_int_equal(full->frames[0].function_offset, 9);
	stop_leaky(stripped_pid);
	stop_leaky(full_pid);
	procs__end(session);
	procs__free(session);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_dwfl),
		cmocka_unit_test(test_noinline_function),
		cmocka_unit_test(test_function_start_and_static),
		cmocka_unit_test(test_inlined_function),
		cmocka_unit_test(test_libc_function),
		cmocka_unit_test(test_mangled_name),
		cmocka_unit_test(test_tail_call_symbol),
		cmocka_unit_test(test_unmapped_address),
		cmocka_unit_test(test_pc_zero),
		cmocka_unit_test(test_cached),
		cmocka_unit_test(test_abi0_suffix_dropped),
		cmocka_unit_test(test_cache_reference),
		cmocka_unit_test(test_unreadable_process),
		cmocka_unit_test(test_stripped_go),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
