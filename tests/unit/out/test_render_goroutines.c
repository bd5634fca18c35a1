// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A real Go process's picture through the renderers (user/out/render.h):
 * the goroutines of a child running build/targets/go/1.19/leaky, read as the
 * collector reads them, written in Go's own shapes and in the common ones.
 * Hand-built goroutine pictures are test_text_go's; the comparison with
 * the runtime's own dumps is the integration tests'.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include "collect/goroutines.h"
#include "model/group.h"
#include "out/render.h"
#include "proc/procs.h"
#include "support/fixtures.h"
#include "support/leaky.h"

static struct pw_picture *picture;

static int setup(void **state)
{
	struct goroutines *goroutines = goroutines__new(false);
	struct procs *procs = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	char path[512];
	struct proc *proc;
	pid_t pid;
	int err = -1;

	(void)state;
	pid = start_leaky(leaky_path("", path, sizeof(path)));
	picture = picture__new();
	if (pid > 0 && goroutines && procs && picture) {
		procs__begin(procs);
		proc = procs__get(procs, pid);
		err = proc ? goroutines__add(goroutines, picture, proc, NOW_NS, NULL) : -1;
		if (!err)
			err = group__finish(picture);
		procs__end(procs);
	}
	goroutines__free(goroutines);
	procs__free(procs);
	stop_leaky(pid);
	return err ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	picture__put(picture);
	return 0;
}

static char *written(const struct pw_picture *picture, enum pw_format format, int debug,
		     size_t *len)
{
	struct pw_context ctx = { 0 };
	struct render_opts opts = { .debug = debug };
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	assert_non_null(out);
	assert_int_equal(render__write(out, format, picture, &ctx, &opts), 0);
	assert_int_equal(fclose(out), 0);
	return text;
}

/* A picture of one goroutine process is written in Go's own shapes. */
static void test_writers(void **state)
{
	char header[64], *text;
	size_t len;

	(void)state;
	text = written(picture, PW_FORMAT_TEXT, 1, &len);
	snprintf(header, sizeof(header), "goroutine profile: total %zu\n", picture->procs[0].units);
	assert_true(starts_with(text, header));
	expect(text, "\n5 @ 0x");
	expect(text, "\tmain.computeReply+0x");
	expect(text, "/leaky/main.go:");
	free(text);

	text = written(picture, PW_FORMAT_TEXT, 2, &len);
	expect(text, "goroutine 1 [");
	/* the channel each sender waits on, then its frames */
	expect(text, " [chan send]:\n\twaiting on channel 0x");
	expect(text, "1 sender, 0 receivers)\nmain.computeReply(...)\n\t");
	expect(text, "\ncreated by main.callWithTimeout");
	expect_not(text, "runtime.gopark");
	free(text);

	text = written(picture, PW_FORMAT_JSON, 2, &len);
	assert_true(starts_with(text, "{\"version\":"));
	expect(text, "\"units\":[{\"kind\":\"goroutine\",\"id\":");
	expect(text, "\"wait_reason\":\"chan send\"");
	expect(text, "\"created_by\":\"main.callWithTimeout\"");
	assert_true(ends_with(text, "]}\n"));
	free(text);

	text = written(picture, PW_FORMAT_FOLDED, 2, &len);
	expect(text, "\nmain.computeReply;runtime.chansend1;");
	expect(text, ";[chan send] 5\n");
	free(text);

	text = written(picture, PW_FORMAT_PPROF, 2, &len);
	assert_true(len > 100 && (unsigned char)text[0] == 0x1f && (unsigned char)text[1] == 0x8b);
	free(text);
}

/*
 * Ages: the runtime's waitsince is only set by a garbage collection, so a
 * waiting goroutine ages from when parkwatch first saw it in its current
 * wait.  All new: first seen in the runtime's order, strictly increasing
 * from now; the next picture keeps each still-waiting goroutine's first
 * sighting.
 */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
