// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the reading of /proc/PID/stat (user/cli/preflight.c): the
 * state after a name that may hold spaces and parentheses, and the flag
 * that tells a kernel thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cli/preflight.h"

/* ppid pgrp session tty_nr tpgid flags ... after the state */
#define AFTER_STATE " 1 4242 4242 0 -1 "
#define PF_KTHREAD "2129984"         /* 0x208040: PF_KTHREAD | PF_NOFREEZE | ... */
#define PF_USER "4194560"            /* 0x400100: PF_RANDOMIZE | PF_FORKNOEXEC */

static void test_parse_stat(void **state)
{
	static const struct {
		const char *stat;
		char state;
		bool kernel_thread;
	} cases[] = {
		{ "4242 (app) S" AFTER_STATE PF_USER " 100 0", 'S', false },
		{ "2 (kthreadd) S" AFTER_STATE PF_KTHREAD " 0 0", 'S', true },
		/* a name made to look like the end of one */
		{ "4242 (a) R 1 1 1 0 -1 2129984 x) Z" AFTER_STATE PF_USER, 'Z', false },
		{ "4242 (app) D", 'D', false },             /* cut after the state */
		{ "4242 (app)", 0, false },
		{ "4242 (app", 0, false },
		{ "", 0, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool kernel_thread = false;

		assert_int_equal(preflight__parse_stat(cases[i].stat, &kernel_thread), cases[i].state);
		assert_int_equal(kernel_thread, cases[i].kernel_thread);
		assert_int_equal(preflight__parse_stat(cases[i].stat, NULL), cases[i].state);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_stat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
