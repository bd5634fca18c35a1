/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The hand-built picture the text and JSON dump tests both write:
 *   process 4242 "condwait" (exe DUMP_APP): 4242 running; 4243 "worker-1"
 *     (5m30s) and 4244 "worker-2" (12s) in the same cond wait in futex,
 *     stack S1, leaf first: pthread_cond_wait in libc (no line info);
 *     level_three with check_ready inlined into it; an unsymbolized frame
 *     of a plugin; a pc no mapping covers (0x4000).  4243 also has two
 *     kernel frames.
 *   process 5000 "io\"x" (a quote to escape; no exe): 5000, named like its
 *     process, asleep in nanosleep for 2s with a timeout and its start
 *     estimated, stack S2 (clock_nanosleep); 5001 "reader" in a pipe read
 *     with a timeout for 340ms, no user stack.
 * Groups: the two cond waiters, then the sleeper, then the reader.
 */
#ifndef PARKWATCH_TESTS_DUMP_SAMPLE_H
#define PARKWATCH_TESTS_DUMP_SAMPLE_H

#include "support/fixtures.h"
#include "util/ksyms.h"

#define DUMP_TIME_UNIX_NS 1700000000123456789ULL
#define DUMP_APP "/src/condwait"
#define DUMP_LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define DUMP_PLUGIN "/opt/app/libplugin.so"
#define DUMP_SOURCE "/src/condwait.c"
#define DUMP_SLEEP_SOURCE "../sysdeps/clock_nanosleep.c"

/* units, in the picture's order */
enum { D_MAIN, D_COND1, D_COND2, D_SLEEP, D_IO, D_UNITS };
enum { D_S1_DEPTH = 4 };

extern const __u64 dump_s1_pcs[D_S1_DEPTH];
extern const __u64 dump_kstack[2];

struct dump_sample {
	struct pw_picture *picture;
	const struct pw_stack *s1, *s2;
	struct symbol *libc_cond, *level_three, *plugin, *unmapped, *libc_sleep;
};

void dump_sample_build(struct dump_sample *d);
/* Kernel symbols that name the first of dump_kstack futex_wait_queue+0x10
 * and not the second (ksyms__free). */
struct ksyms *dump_ksyms(void);
void dump_sample_free(struct dump_sample *d);

/* A cmocka fixture around it: the sample, kernel symbols a test may load,
 * and the output of the last run. */
struct dump_fixture {
	struct dump_sample d;
	struct ksyms *ksyms;
	char *out;
	size_t out_len;
};

int dump_fixture_setup(void **state);
int dump_fixture_teardown(void **state);

#endif /* PARKWATCH_TESTS_DUMP_SAMPLE_H */
