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
	expect(out, "threads/min parked in chan\\x1b[2J\\nsuspect 9: \\xff with no timeout");
	expect(out, "\n  threads 40 now, ");
	expect_not(out, "created by");
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

/* Go process 4343: `parked` goroutines in chan receive on one stack,
 * goroutine 10 + i since i steps after the first; the even ones made by
 * one go statement in goroutine 1, the odd ones by another in goroutines
 * of their own. */
static struct pw_picture *growing_goroutines(const struct symbol *leaf,
					     const struct symbol *const creators[2], int parked)
{
	struct pw_picture *picture = picture__new();
	const struct pw_stack *stack;

	assert_non_null(picture);
	add_go_proc(picture, 4343, "goleak", "/app/goleak", "go1.22.0");
	stack = make_go_stack(picture, 4343, (const __u64[]){ 0x401001 }, &leaf, 1, 1, false);
	for (int i = 0; i < parked; i++) {
		struct pw_goroutine *go;

		add_goroutine(picture, 4343, 10 + (__u64)i, "waiting", "chan receive",
			      (__u64)(parked - i) * STEP_NS, stack, &go);
		go->gopc = i % 2 ? 0x402001 : 0x403001;
		go->parent_goid = i % 2 ? 100 + (__u64)i : 1;
		go->creator = picture__hold_symbol(picture, creators[i % 2]);
		assert_non_null(go->creator);
	}
	regroup(picture);
	return picture;
}

/* A group of goroutines is called so, in the explanation too, and shows
 * what created it in the Go runtime's debug=2 words: "in goroutine N" only
 * where one goroutine made them all. */
static void test_goroutine_words(void **state)
{
	struct symbol *leaf = make_symbol("/app/goleak", 0x400000, 0x500000, NULL, 0x1000, 1);
	struct symbol *creators[2] = {
		make_symbol("/app/goleak", 0x400000, 0x500000, NULL, 0x3000, 1),
		make_symbol("/app/goleak", 0x400000, 0x500000, NULL, 0x2000, 1),
	};
	struct trend *trend = trend__new(NULL);
	struct pw_picture *picture = NULL;
	char *buf = NULL;
	size_t len = 0;
	const char *out;
	FILE *stream;

	(void)state;
	assert_non_null(trend);
	set_frame(leaf, 0, "main.awaitReply", "/app/main.go", 12, 0x20, false);
	set_frame(creators[0], 0, "main.serve", "/app/main.go", 40, 0x5d, false);
	set_frame(creators[1], 0, "main.handle", "/app/handle.go", 7, 0x3c, false);
	for (int step = 1; step <= STEPS; step++) {
		picture__put(picture);
		picture = growing_goroutines(leaf, (const struct symbol *const *)creators, step);
		assert_int_equal(trend__update(trend, picture, NOW_NS + (__u64)step * STEP_NS), 0);
	}
	stream = open_output(&buf, &len);
	assert_int_equal(leaks__write(stream, PW_FORMAT_TEXT, trend, picture, NULL,
				      STEPS * STEP_NS), 1);
	out = close_output(stream, &buf);
	expect(out, "goroutines/min parked in chan receive with no timeout");
	expect(out, "\n  goroutines 40 now, ");
	expect_not(out, "threads");
	expect(out, "\ncreated by main.serve in goroutine 1\n\t/app/main.go:40 +0x5e\n");
	expect(out, "\ncreated by main.handle\n\t/app/handle.go:7 +0x3d\n");
	assert_int_equal(occurrences(out, "created by "), 2);
	free(buf);
	buf = NULL;

	stream = open_output(&buf, &len);
	assert_int_equal(leaks__write(stream, PW_FORMAT_JSON, trend, picture, NULL,
				      STEPS * STEP_NS), 1);
	out = close_output(stream, &buf);
	expect(out, "\"unit_kind\":\"goroutine\"");
	expect(out, "goroutines/min parked in chan receive");
	free(buf);
	picture__put(picture);
	trend__free(trend);
	symbol__put(leaf);
	symbol__put(creators[0]);
	symbol__put(creators[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_strings_escaped),
		cmocka_unit_test(test_goroutine_words),
	};

	return cmocka_run_group_tests_name("leaks", tests, NULL, NULL);
}
