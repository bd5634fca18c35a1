/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The hand-built report that the folded and pprof tests both write:
 *   process 4242 "app" (exe APP): 4242 running; 4243 (5 s) and 4244 (2 s) in
 *     the same cond wait, stack S1, leaf first: pthread_cond_wait in libc;
 *     level_three with inlined_helper inlined into it; an unsymbolized frame
 *     at offset 0x11233 of libplugin.so; a pc no mapping covers (NULL
 *     symbol, pc 0x4000); main.
 *   process 5000 "other" (exe OTHER): 5000 in a finite sleep for 300 ms,
 *     stack S2: clock_nanosleep (a name, no file or line), main of other.c.
 */
#ifndef PARKWATCH_TESTS_PICTURE_H
#define PARKWATCH_TESTS_PICTURE_H

#include "support/fixtures.h"

#define TIME_UNIX_NS 1700000000123456789ULL

#define APP "/usr/bin/app"
#define OTHER "/usr/bin/other"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define PLUGIN "/opt/app/libplugin.so"
#define APP_SRC "/src/app.c"
#define OTHER_SRC "/src/other.c"
#define COND_SRC "./nptl/pthread_cond_wait.c"

#define APP_START 0x400000ULL
#define APP_END 0x405000ULL
#define LIBC_START 0x7f0000000000ULL
#define LIBC_END 0x7f0000200000ULL
#define PLUGIN_START 0x7f1000000000ULL
#define PLUGIN_END 0x7f1000100000ULL
#define OTHER_START 0x555500000000ULL
#define OTHER_END 0x555500004000ULL

enum { T_RUN, T_COND1, T_COND2, T_SLEEP, N_THREADS };
enum { S1_DEPTH = 5, S2_DEPTH = 2 };

static const __u64 s1_pcs[S1_DEPTH] = { 0x7f0000028100, 0x401236, 0x7f1000011234, 0x4000,
					0x401100 };
static const __u64 s2_pcs[S2_DEPTH] = { 0x7f00000e0010, 0x555500001010 };

struct picture {
	struct task_record recs[N_THREADS];
	struct thread_info threads[N_THREADS];
	struct proc_summary procs[2];
	struct stack *s1, *s2;
	struct symbol *libc_cond, *app_inl, *plugin, *app_main, *libc_sleep, *other_main;
	const struct symbol *s1_symbols[S1_DEPTH], *s2_symbols[S2_DEPTH];
	struct report report;
};

static void picture_build(struct picture *p)
{
	p->libc_cond = make_symbol(LIBC, LIBC_START, LIBC_END, "b1bc", s1_pcs[0] - LIBC_START, 1);
	set_frame(p->libc_cond, 0, "pthread_cond_wait", COND_SRC, 618, 0, false);
	p->app_inl = make_symbol(APP, APP_START, APP_END, "a99", s1_pcs[1] - 1 - APP_START, 2);
	set_frame(p->app_inl, 0, "inlined_helper", APP_SRC, 12, 0, true);
	set_frame(p->app_inl, 1, "level_three", APP_SRC, 29, 0, false);
	p->plugin = make_symbol(PLUGIN, PLUGIN_START, PLUGIN_END, NULL,
				s1_pcs[2] - 1 - PLUGIN_START, 0);
	p->app_main = make_symbol(APP, APP_START, APP_END, "a99", s1_pcs[4] - 1 - APP_START, 1);
	set_frame(p->app_main, 0, "main", APP_SRC, 100, 0, false);
	p->libc_sleep = make_symbol(LIBC, LIBC_START, LIBC_END, "b1bc", s2_pcs[0] - LIBC_START, 1);
	set_frame(p->libc_sleep, 0, "clock_nanosleep", NULL, 0, 0, false);
	p->other_main = make_symbol(OTHER, OTHER_START, OTHER_END, NULL,
				    s2_pcs[1] - 1 - OTHER_START, 1);
	set_frame(p->other_main, 0, "main", OTHER_SRC, 40, 0, false);

	p->s1 = make_stack(s1_pcs, S1_DEPTH);
	p->s2 = make_stack(s2_pcs, S2_DEPTH);
	p->s1_symbols[0] = p->libc_cond;
	p->s1_symbols[1] = p->app_inl;
	p->s1_symbols[2] = p->plugin;
	p->s1_symbols[3] = NULL;
	p->s1_symbols[4] = p->app_main;
	p->s2_symbols[0] = p->libc_sleep;
	p->s2_symbols[1] = p->other_main;

	set_thread(&p->recs[T_RUN], &p->threads[T_RUN], 4242, 4242, NULL, false, 0, NULL, NULL);
	set_thread(&p->recs[T_COND1], &p->threads[T_COND1], 4242, 4243, "cond wait", false,
		   5 * SEC, p->s1, p->s1_symbols);
	set_thread(&p->recs[T_COND2], &p->threads[T_COND2], 4242, 4244, "cond wait", false,
		   2 * SEC, p->s1, p->s1_symbols);
	set_thread(&p->recs[T_SLEEP], &p->threads[T_SLEEP], 5000, 5000, "sleep", true, 300 * MS,
		   p->s2, p->s2_symbols);

	p->procs[0].pid = 4242;
	strcpy(p->procs[0].comm, "app");
	p->procs[0].exe = strdup(APP);
	p->procs[0].threads = 3;
	p->procs[0].parked = 2;
	p->procs[1].pid = 5000;
	strcpy(p->procs[1].comm, "other");
	p->procs[1].exe = strdup(OTHER);
	p->procs[1].threads = 1;
	p->procs[1].parked = 1;

	p->report.time_unix_ns = TIME_UNIX_NS;
	fill_report(&p->report, p->threads, N_THREADS, p->procs, 2);
	assert_int_equal(p->report.parked_count, 3);
	regroup(&p->report);
	assert_int_equal(p->report.group_count, 2);
}

static void picture_free(struct picture *p)
{
	group__free_all(p->report.groups, p->report.group_count);
	symbol__free(p->libc_cond);
	symbol__free(p->app_inl);
	symbol__free(p->plugin);
	symbol__free(p->app_main);
	symbol__free(p->libc_sleep);
	symbol__free(p->other_main);
	free(p->s1);
	free(p->s2);
	free(p->procs[0].exe);
	free(p->procs[1].exe);
}

#endif /* PARKWATCH_TESTS_PICTURE_H */
