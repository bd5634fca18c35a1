// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the leak report (user/out/leaks.c) on a trend fed with
 * hand-built pictures of one group that only grows: a suspect whose wait
 * reason, process name and frames carry what a hostile process can put in
 * them.  No BPF, no process is looked at.
 */
#include "out/leaks.h"
#include "support/fixtures.h"

#define STEPS 40
#define STEP_NS (2 * SEC)

/* Escape sequences, a forged line and invalid UTF-8 */
#define HOSTILE_REASON "chan\x1b[2J\nsuspect 9: \xff"
#define HOSTILE_COMM "leak\x1b]0;x\x07"
#define HOSTILE_FUNCTION "main.le\x1b[31mak"
#define HOSTILE_FILE "/app/\r\xc2\x9bmain.go"

/* Process 4242 with `parked` threads parked for the same reason on one
 * stack, thread i since i steps after the first. */
static struct pw_picture *growing_picture(const struct symbol *symbol, int parked)
{
	struct pw_picture *picture = picture__new();
	const struct pw_stack *stack;

	assert_non_null(picture);
	add_proc(picture, 4242, HOSTILE_COMM, "/app/leaky");
	stack = make_stack(picture, 4242, (const __u64[]){ 0x401000 }, &symbol, 1);
	for (int i = 0; i < parked; i++)
		add_thread(picture, 4242, 5000 + i, HOSTILE_REASON, false,
			   (__u64)(parked - i) * STEP_NS, stack);
	regroup(picture);
	return picture;
}

static void test_hostile_strings_escaped(void **state)
{
	struct symbol *symbol = make_symbol("/app/leaky", 0x400000, 0x500000, NULL, 0x1000, 1);
	struct trend *trend = trend__new(NULL);
	struct pw_picture *picture = NULL;
	char *buf = NULL;
	size_t len = 0;
	const char *out;
	FILE *stream;

	(void)state;
	assert_non_null(trend);
	set_frame(symbol, 0, HOSTILE_FUNCTION, HOSTILE_FILE, 12, 0x10, false);
	for (int step = 1; step <= STEPS; step++) {
		picture__put(picture);
		picture = growing_picture(symbol, step);
		assert_int_equal(trend__update(trend, picture, NOW_NS + (__u64)step * STEP_NS), 0);
	}
	stream = open_output(&buf, &len);
	assert_int_equal(leaks__write(stream, PW_FORMAT_TEXT, trend, picture, NULL,
				      STEPS * STEP_NS), 1);
	out = close_output(stream, &buf);
	expect(out, "\nsuspect 1: process 4242 (leak\\x1b]0;x\\x07), "
		    "chan\\x1b[2J\\nsuspect 9: \\xff, no timeout, score ");
	expect(out, "parked in chan\\x1b[2J\\nsuspect 9: \\xff with no timeout");
	expect(out, "main.le\\x1b[31mak");
	expect(out, "/app/\\r\\u009bmain.go:12");
	for (const unsigned char *c = (const unsigned char *)out; *c; c++)
		assert_true((*c >= 0x20 && *c != 0x7f) || *c == '\n' || *c == '\t');
	expect_not(out, "\xff");
	expect_not(out, "\xc2\x9b");

	free(buf);
	picture__put(picture);
	trend__free(trend);
	symbol__put(symbol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_strings_escaped),
	};

	return cmocka_run_group_tests_name("leaks", tests, NULL, NULL);
}
