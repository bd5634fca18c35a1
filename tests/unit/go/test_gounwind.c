// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the goroutine stack walk (user/go/gounwind.c), by pcsp as
 * the runtime does it: on children running build/targets/go/1.19/leaky and its
 * -pie build (make targets), every parked goroutine's walk is checked
 * against the frame-pointer walk of the same read-only snapshot (which Go
 * 1.19's parked stacks keep complete), and the leaked chan senders show
 * their callers down to runtime.goexit; on a hand-made stack, a walk
 * whose deltas lead outside the goroutine's stack stops there, truncated;
 * on build/targets/go/1.19/insyscall, a goroutine in read(2) has its stack.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "go/go_internal.h"
#include "go/gounwind.h"
#include "support/leaky.h"

/* One read of a goproc's goroutines, by pcsp or by frame pointers. */
static void read_all(struct goproc *gp, bool by_pcsp, struct goroutine **gs, size_t *count)
{
	__u8 *keep = gp->pcln_buf;

	if (!by_pcsp)
		gp->pcln_buf = NULL;
	assert_int_equal(goproc__read(gp, gs, count, NULL), 0);
	gp->pcln_buf = keep;
}

static const char *name_of(const struct goproc *gp, __u64 lookup_pc)
{
	struct pclntab_func func;
	const char *name;

	if (pclntab__find(&gp->pcln, lookup_pc - gp->bias, &func))
		return "?";
	name = pclntab__name(&gp->pcln, &func);
	return name ? name : "?";
}

static const struct goroutine *by_goid(const struct goroutine *gs, size_t count, __u64 goid)
{
	for (size_t i = 0; i < count; i++)
		if (gs[i].goid == goid)
			return &gs[i];
	return NULL;
}

static bool has_frame(const struct goproc *gp, const struct goroutine *g, const char *function)
{
	for (int i = 0; i < g->depth; i++) {
		const char *name = name_of(gp, goroutine__lookup_pc(g, i));

		if (name && !strcmp(name, function))
			return true;
	}
	return false;
}

static void check_variant(const char *variant)
{
	struct goroutine *by_sp = NULL, *by_fp = NULL;
	size_t sp_count = 0, fp_count = 0, compared = 0, senders = 0;
	struct goproc *gp = NULL;
	char path[512];
	pid_t pid;

	pid = start_leaky(leaky_path(variant, path, sizeof(path)));
	if (pid < 0)
		skip();
	assert_int_equal(goproc__open(pid, NULL, &gp, NULL, 0), 0);
	assert_non_null(gp->pcln_buf);
	read_all(gp, true, &by_sp, &sp_count);
	read_all(gp, false, &by_fp, &fp_count);
	for (size_t i = 0; i < sp_count; i++) {
		const struct goroutine *g = &by_sp[i], *f = by_goid(by_fp, fp_count, g->goid);

		if (!g->depth)
			continue;
		assert_false(g->truncated);
		assert_string_equal(name_of(gp, goroutine__lookup_pc(g, g->depth - 1)),
				    "runtime.goexit");
		/* the leaked ones never move: the two walks see one stack */
		if (g->status != GO_STATUS_WAITING || !f || f->pc != g->pc || f->sp != g->sp)
			continue;
		if (f->depth != g->depth || memcmp(f->pcs, g->pcs, g->depth * sizeof(*g->pcs)) ||
		    memcmp(f->exact, g->exact, sizeof(g->exact)) || f->truncated) {
			for (int k = 0; k < g->depth || k < f->depth; k++)
				fprintf(stderr, "  %d: %s | %s\n", k,
					k < g->depth ? name_of(gp, goroutine__lookup_pc(g, k)) : "-",
					k < f->depth ? name_of(gp, goroutine__lookup_pc(f, k)) : "-");
			fail_msg("goroutine %llu: pcsp and frame pointers disagree",
				 (unsigned long long)g->goid);
		}
		compared++;
		if (g->wait_reason && !strcmp(g->wait_reason, "chan send")) {
			/* runtime.gopark, chansend, chansend1, main.computeReply, goexit */
			assert_true(g->depth >= 5);
			assert_true(has_frame(gp, g, "runtime.chansend1"));
			assert_true(has_frame(gp, g, "main.computeReply"));
			senders++;
		}
	}
	print_message("%s: %zu goroutines, %zu walked both ways, %zu chan senders\n",
		      variant[0] ? variant : "leaky", sp_count, compared, senders);
	assert_true(compared >= 20);
	assert_int_equal(senders, 5);
	goproc__free_goroutines(by_sp);
	goproc__free_goroutines(by_fp);
	goproc__free(gp);
	stop_leaky(pid);
}

static void test_leaky(void **state)
{
	(void)state;
	check_variant("");
}

/* PIE: pclntab counts in file addresses, the stack holds loaded ones. */
static void test_leaky_pie(void **state)
{
	(void)state;
	check_variant("-pie");
}

/* ------------------------------------------------ a goroutine in a syscall */

/* build/targets/go/1.19/insyscall, next to leaky, or its variant. */
static const char *insyscall_path(const char *variant, char *buf, size_t size)
{
	char *slash;

	leaky_path("", buf, size);
	slash = strrchr(buf, '/');
	snprintf(slash ? slash + 1 : buf, size - (size_t)(slash ? slash + 1 - buf : 0),
		 "insyscall%s", variant);
	return buf;
}

/*
 * blockRead in read(2) is unwound from g.syscallsp / g.syscallpc, as the
 * runtime's dump shows it: syscall.Syscall first, then syscall.read,
 * main.blockRead, down to runtime.goexit.  The -nodwarf build takes the
 * two offsets from the per-version table.
 */
static void check_in_syscall(const char *variant)
{
	const struct goroutine *found = NULL;
	struct goroutine *gs = NULL;
	struct goproc *gp = NULL;
	size_t count = 0;
	char path[512];
	pid_t pid;

	pid = start_leaky(insyscall_path(variant, path, sizeof(path)));
	if (pid < 0)
		skip();
	assert_int_equal(goproc__open(pid, NULL, &gp, NULL, 0), 0);
	/* READY comes just before the call: give it a moment to get there */
	for (int tries = 0; tries < 100 && !found; tries++) {
		goproc__free_goroutines(gs);
		gs = NULL;
		assert_int_equal(goproc__read(gp, &gs, &count, NULL), 0);
		for (size_t i = 0; i < count && !found; i++)
			if (gs[i].status == GO_STATUS_SYSCALL && has_frame(gp, &gs[i], "main.blockRead"))
				found = &gs[i];
		if (!found)
			usleep(20 * 1000);
	}
	assert_non_null(found);
	assert_true(found->depth >= 4);
	assert_false(found->truncated);
	assert_string_equal(name_of(gp, goroutine__lookup_pc(found, 0)), "syscall.Syscall");
	assert_true(has_frame(gp, found, "syscall.read"));
	assert_string_equal(name_of(gp, goroutine__lookup_pc(found, found->depth - 1)),
			    "runtime.goexit");
	assert_true(found->tid > 0); /* and its thread, as before */
	goproc__free_goroutines(gs);
	goproc__free(gp);
	stop_leaky(pid);
}

static void test_in_syscall(void **state)
{
	(void)state;
	check_in_syscall("");
}

static void test_in_syscall_nodwarf(void **state)
{
	(void)state;
	check_in_syscall("-nodwarf");
}

/* ---------------------------------------------------- a hand-made stack */

static void put32(__u8 *at, __u32 v)
{
	memcpy(at, &v, 4);
}

static void put64(__u8 *at, __u64 v)
{
	memcpy(at, &v, 8);
}

/*
 * A Go 1.18 table at text 0x1000 with main.f [0x1000, 0x1010), sp 16
 * below its entry's after the first byte, and runtime.goexit [0x1010,
 * 0x1020), TOPFRAME, sp at its entry's throughout.
 */
static void build_table(__u8 *buf, size_t *size)
{
	const __u32 names = 72, cutab = 104, filetab = 108, pctab = 112, functab = 128;
	static const __u8 pcs[] = {
		0,                      /* offset 0: no table */
		2, 1, 32, 15, 0,        /* 1: sp delta 0 for 1 byte, then 16 for 15 */
		2, 16, 0,               /* 6: sp delta 0 for 16 */
	};

	memset(buf, 0, 256);
	put32(buf, PCLNTAB_MAGIC_118);
	buf[6] = 1;
	buf[7] = 8;
	put64(buf + 8, 2);
	put64(buf + 24, 0x1000);
	put64(buf + 32, names);
	put64(buf + 40, cutab);
	put64(buf + 48, filetab);
	put64(buf + 56, pctab);
	put64(buf + 64, functab);
	memcpy(buf + names, "main.f\0runtime.goexit\0", 22);
	memcpy(buf + pctab, pcs, sizeof(pcs));
	put32(buf + functab, 0);
	put32(buf + functab + 4, 24);
	put32(buf + functab + 8, 0x10);
	put32(buf + functab + 12, 24 + 40);
	put32(buf + functab + 16, 0x20);
	for (int i = 0; i < 2; i++) {
		__u8 *f = buf + functab + 24 + i * 40;

		put32(f, i * 0x10);
		put32(f + 4, i * 7);
		put32(f + 16, i ? 6 : 1);       /* pcsp */
		f[37] = i ? PCLNTAB_FLAG_TOPFRAME : 0;
	}
	*size = functab + 24 + 2 * 40;
}

/*
 * main.f called itself twice from 0x1008 and was called from goexit+1:
 * each frame 16 bytes of locals, then the return address.  No frame
 * pointers: only pcsp finds the callers.
 */
static void test_hand_made(void **state)
{
	static struct sp_cache_entry cache[1 << GO_SP_CACHE_BITS];
	__u8 table[256], stack[128];
	__u64 pcs[GO_MAX_DEPTH], exact[GO_EXACT_FRAMES / 64];
	struct goproc gp = { .mem_fd = -1 };
	struct graw g = { 0 };
	struct stack_view view;
	bool truncated;
	size_t size;
	int depth;

	(void)state;
	build_table(table, &size);
	assert_int_equal(pclntab__init(&gp.pcln, table, size, 0), 0);
	gp.pcln_buf = table;
	gp.sp_cache = cache;
	gp.text.lo = 0x1000;
	gp.text.hi = 0x1020;
	memset(stack, 0, sizeof(stack));
	put64(stack + 16, 0x1009);      /* f's return into f */
	put64(stack + 40, 0x1009);
	put64(stack + 64, 0x1011);      /* into goexit */
	g.sp = 0x7000;
	g.lo = 0x6000;
	g.hi = 0x7000 + sizeof(stack);
	g.pc = 0x1004;
	g.startpc = 0x1000;
	view.buf = stack;
	view.base = g.sp;
	view.len = sizeof(stack);

	depth = gounwind__walk_stack(&gp, &g, &view, pcs, exact, &truncated);
	assert_int_equal(depth, 4);
	assert_false(truncated);
	assert_true(pcs[0] == 0x1004 && pcs[1] == 0x1009 && pcs[2] == 0x1009 && pcs[3] == 0x1011);
	assert_true(!exact[0] && !exact[1]); /* no frame is exact */

	/* a call at main.f's very end returns to goexit's entry: its frame is
	 * main.f's all the same */
	put64(stack + 16, 0x1010);
	put64(stack + 40, 0x1011);
	depth = gounwind__walk_stack(&gp, &g, &view, pcs, exact, &truncated);
	assert_int_equal(depth, 3);
	assert_false(truncated);
	assert_true(pcs[1] == 0x1010 && pcs[2] == 0x1011);
	put64(stack + 16, 0x1009);
	put64(stack + 40, 0x1009);

	/* the stack ends where the second return address would be */
	g.hi = 0x7000 + 40;
	depth = gounwind__walk_stack(&gp, &g, &view, pcs, exact, &truncated);
	assert_int_equal(depth, 2);
	assert_true(truncated);

	/* a return address outside the text */
	g.hi = 0x7000 + sizeof(stack);
	put64(stack + 40, 0x2000);
	depth = gounwind__walk_stack(&gp, &g, &view, pcs, exact, &truncated);
	assert_int_equal(depth, 2);
	assert_true(truncated);

	/* a return address into no function */
	gp.text.hi = 0x3000;
	depth = gounwind__walk_stack(&gp, &g, &view, pcs, exact, &truncated);
	assert_int_equal(depth, 3);
	assert_true(truncated);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaky),
		cmocka_unit_test(test_leaky_pie),
		cmocka_unit_test(test_in_syscall),
		cmocka_unit_test(test_in_syscall_nodwarf),
		cmocka_unit_test(test_hand_made),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
