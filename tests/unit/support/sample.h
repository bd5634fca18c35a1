/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The hand-built picture the folded and pprof tests both write:
 *   process 4242 "app" (exe APP): 4242 running; 4243 (5 s) and 4244 (2 s) in
 *     the same cond wait, stack S1, leaf first: pthread_cond_wait in libc;
 *     level_three with inlined_helper inlined into it; an unsymbolized frame
 *     at offset 0x11233 of libplugin.so; a pc no mapping covers (pc
 *     0x4000); main.
 *   process 5000 "other" (exe OTHER): 5000 in a finite sleep for 300 ms,
 *     stack S2: clock_nanosleep (a name, no file or line), main of other.c.
 */
#ifndef PARKWATCH_TESTS_SAMPLE_H
#define PARKWATCH_TESTS_SAMPLE_H

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

/* units, in the picture's order */
enum { T_RUN, T_COND1, T_COND2, T_SLEEP, N_THREADS };
enum { S1_DEPTH = 5, S2_DEPTH = 2 };

extern const __u64 s1_pcs[S1_DEPTH];
extern const __u64 s2_pcs[S2_DEPTH];

struct sample {
	struct pw_picture *picture;
	const struct pw_stack *s1, *s2;
	struct symbol *libc_cond, *app_inl, *plugin, *unmapped, *app_main, *libc_sleep, *other_main;
};

/* Builds it: two groups, three parked threads. */
void sample_build(struct sample *s);
void sample_free(struct sample *s);

#endif /* PARKWATCH_TESTS_SAMPLE_H */
