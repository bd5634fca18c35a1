// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The shared hand-built picture (sample.h). */
#include "support/sample.h"

const __u64 s1_pcs[S1_DEPTH] = { 0x7f0000028100, 0x401236, 0x7f1000011234, 0x4000, 0x401100 };
const __u64 s2_pcs[S2_DEPTH] = { 0x7f00000e0010, 0x555500001010 };

void sample_build(struct sample *s)
{
	const struct symbol *s1_symbols[S1_DEPTH], *s2_symbols[S2_DEPTH];

	s->libc_cond = make_symbol(LIBC, LIBC_START, LIBC_END, "b1bc", s1_pcs[0] - LIBC_START, 1);
	set_frame(s->libc_cond, 0, "pthread_cond_wait", COND_SRC, 618, 0, false);
	s->app_inl = make_symbol(APP, APP_START, APP_END, "a99", s1_pcs[1] - 1 - APP_START, 2);
	set_frame(s->app_inl, 0, "inlined_helper", APP_SRC, 12, 0, true);
	set_frame(s->app_inl, 1, "level_three", APP_SRC, 29, 0, false);
	s->plugin = make_symbol(PLUGIN, PLUGIN_START, PLUGIN_END, NULL,
				s1_pcs[2] - 1 - PLUGIN_START, 0);
	s->unmapped = make_unknown(s1_pcs[3]);
	s->app_main = make_symbol(APP, APP_START, APP_END, "a99", s1_pcs[4] - 1 - APP_START, 1);
	set_frame(s->app_main, 0, "main", APP_SRC, 100, 0, false);
	s->libc_sleep = make_symbol(LIBC, LIBC_START, LIBC_END, "b1bc", s2_pcs[0] - LIBC_START, 1);
	set_frame(s->libc_sleep, 0, "clock_nanosleep", NULL, 0, 0, false);
	s->other_main = make_symbol(OTHER, OTHER_START, OTHER_END, NULL,
				    s2_pcs[1] - 1 - OTHER_START, 1);
	set_frame(s->other_main, 0, "main", OTHER_SRC, 40, 0, false);

	s->picture = picture__new();
	assert_non_null(s->picture);
	s->picture->time_unix_ns = TIME_UNIX_NS;
	s1_symbols[0] = s->libc_cond;
	s1_symbols[1] = s->app_inl;
	s1_symbols[2] = s->plugin;
	s1_symbols[3] = s->unmapped;
	s1_symbols[4] = s->app_main;
	s2_symbols[0] = s->libc_sleep;
	s2_symbols[1] = s->other_main;
	s->s1 = make_stack(s->picture, 4242, s1_pcs, s1_symbols, S1_DEPTH);
	s->s2 = make_stack(s->picture, 5000, s2_pcs, s2_symbols, S2_DEPTH);

	add_proc(s->picture, 4242, "app", APP);
	add_proc(s->picture, 5000, "other", OTHER);
	add_thread(s->picture, 4242, 4242, NULL, false, 0, NULL);
	/* a pool's threads share a name, as pthread_create's inherit it */
	snprintf(add_thread(s->picture, 4242, 4243, "cond wait", false, 5 * SEC, s->s1)->comm,
		 PARK_COMM_LEN, "pool");
	snprintf(add_thread(s->picture, 4242, 4244, "cond wait", false, 2 * SEC, s->s1)->comm,
		 PARK_COMM_LEN, "pool");
	add_thread(s->picture, 5000, 5000, "sleep", true, 300 * MS, s->s2);
	regroup(s->picture);
	assert_int_equal(s->picture->parked_count, 3);
	assert_int_equal(s->picture->group_count, 2);
}

void sample_free(struct sample *s)
{
	picture__put(s->picture);
	symbol__put(s->libc_cond);
	symbol__put(s->app_inl);
	symbol__put(s->plugin);
	symbol__put(s->unmapped);
	symbol__put(s->app_main);
	symbol__put(s->libc_sleep);
	symbol__put(s->other_main);
}
