// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of goroutine pictures (user/goreport.c, user/goexport.c) on a
 * child running build/targets/go/leaky (make targets builds it), whose
 * start-up leaks are known: no root (a parent may read its child), no BPF.
 * The comparison with the runtime's own dumps is tests/integration/test_go.py's.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "collect/goreport.h"
#include "collect/goview.h"

#define LEAKY_PATH "build/targets/go/leaky"

static struct procs *procs;
static pid_t leaky_pid;

/* Starts leaky and waits for its READY line. */
static int group_setup(void **state)
{
	const char *path = getenv("PARKWATCH_GO_LEAKY") ? getenv("PARKWATCH_GO_LEAKY") : LEAKY_PATH;
	char line[256] = "";
	int pipe_fds[2];
	FILE *ready;

	(void)state;
	if (access(path, X_OK)) {
		fprintf(stderr, "test_goreport: %s is missing (run make targets)\n", path);
		return -1;
	}
	if (pipe(pipe_fds))
		return -1;
	leaky_pid = fork();
	if (leaky_pid < 0)
		return -1;
	if (!leaky_pid) {
		dup2(pipe_fds[1], STDOUT_FILENO);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		execl(path, path, "-port", "0", (char *)NULL);
		_exit(127);
	}
	close(pipe_fds[1]);
	ready = fdopen(pipe_fds[0], "r");
	if (!ready || !fgets(line, sizeof(line), ready) || strncmp(line, "READY ", 6)) {
		fprintf(stderr, "test_goreport: %s never said READY\n", path);
		return -1;
	}
	/* the pipe stays open: leaky writes nothing more */
	procs = procs__new();
	return procs ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	procs__free(procs);
	if (leaky_pid > 0) {
		kill(leaky_pid, SIGKILL);
		waitpid(leaky_pid, NULL, 0);
	}
	return 0;
}

static struct goreport *picture(void)
{
	struct goreport *report = NULL;

	procs__begin(procs);
	assert_int_equal(goreport__build(procs__get(procs, leaky_pid), &report), 0);
	procs__end(procs);
	assert_non_null(report);
	return report;
}

static bool stack_has(const struct gostack *stack, const char *function)
{
	for (int i = 0; stack && i < stack->depth; i++)
		for (int j = 0; j < stack->symbols[i]->frame_count; j++)
			if (stack->symbols[i]->frames[j].function &&
			    !strcmp(stack->symbols[i]->frames[j].function, function))
				return true;
	return false;
}

static const struct gogroup *group_with(const struct goreport *report, const char *function)
{
	const struct gogroup *groups;
	size_t count = goreport__groups(report, &groups);

	for (size_t g = 0; g < count; g++)
		if (stack_has(groups[g].stack, function))
			return &groups[g];
	return NULL;
}

static void test_not_go(void **state)
{
	struct goreport *report = (struct goreport *)1;

	(void)state;
	procs__begin(procs);
	assert_int_equal(goreport__build(procs__get(procs, getpid()), &report), -ENOEXEC);
	procs__end(procs);
	assert_null(report);
	goreport__free(NULL);
	assert_non_null(strstr(goreport__strerror(-ENOEXEC), "not a Go program"));
	assert_non_null(strstr(goreport__strerror(-ENODATA), "-ldflags=-s"));
}

static void test_leaks(void **state)
{
	static const struct {
		const char *function, *reason;
		size_t count;
		bool has_timeout;
	} leaks[] = {
		{ "main.computeReply", "chan send", 5, false },
		{ "main.queryStuckDependency", "sync.Cond.Wait", 3, false },
		{ "main.waitForWorkers", NULL, 2, false },
		{ "main.waitForLock", NULL, 3, false },
		{ "main.pollForever", "chan receive", 2, false },
		{ "main.runPool", "sleep", 1, true },
	};
	struct goreport *report = picture();

	(void)state;
	assert_int_equal(goreport__pid(report), leaky_pid);
	assert_non_null(strstr(goreport__go_version(report), "go1."));
	assert_non_null(goreport__exe(report));
	assert_true(goreport__total(report) >= 21);
	for (size_t i = 0; i < sizeof(leaks) / sizeof(leaks[0]); i++) {
		const struct gogroup *group = group_with(report, leaks[i].function);

		assert_non_null(group);
		assert_int_equal(group->count, leaks[i].count);
		assert_int_equal(group->pid, leaky_pid);
		if (leaks[i].reason)
			assert_string_equal(group->reason, leaks[i].reason);
		assert_int_equal(group->has_timeout, leaks[i].has_timeout);
		/* the table's WHERE: the program's own frame, with its line */
		assert_non_null(group->where);
		assert_string_equal(group->where->function, leaks[i].function);
		assert_non_null(strstr(group->where->file, "/leaky/main.go"));
		assert_true(group->where->line > 0);
		assert_non_null(group->creator);
		for (size_t m = 0; m < group->count; m++) {
			assert_ptr_equal(group->members[m]->group, group);
			assert_ptr_equal(group->members[m]->stack, group->stack);
			assert_string_equal(group->members[m]->reason, group->reason);
			assert_false(group->members[m]->system);
		}
	}
	goreport__free(report);
}

static void test_goroutines(void **state)
{
	struct goreport *report = picture();
	const struct goroutine_info *goroutines;
	size_t count = goreport__goroutines(report, &goroutines), users = 0, main_seen = 0;

	(void)state;
	assert_true(count > goreport__total(report)); /* the runtime's own are there too */
	for (size_t i = 0; i < count; i++) {
		const struct goroutine_info *g = &goroutines[i];
		const struct gostack *stack = g->stack;

		assert_true(g->goid > 0);
		assert_non_null(g->status);
		assert_non_null(g->reason);
		assert_true(g->system == !g->group);
		users += !g->system;
		if (g->wait_reason)
			assert_string_equal(g->status, "waiting");
		if (g->goid == 1) {
			main_seen++;
			assert_true(stack_has(stack, "main.main"));
		}
		if (!stack)
			continue;
		/* runtime.goexit ends a complete stack and is never shown */
		assert_true(stack->pc_count == stack->depth || stack->pc_count == stack->depth + 1);
		for (int f = 0; f < stack->depth; f++) {
			const struct symbol *symbol = stack->symbols[f];

			for (int j = 0; j < symbol->frame_count; j++) {
				const char *name = symbol->frames[j].function;
				size_t len = name ? strlen(name) : 0;

				assert_false(name && !strcmp(name, "runtime.goexit"));
				assert_false(len > 5 && !strcmp(name + len - 5, ".abi0"));
			}
		}
	}
	assert_int_equal(users, goreport__total(report));
	assert_int_equal(main_seen, 1);
	goreport__free(report);
}

static void test_signatures_stable(void **state)
{
	struct goreport *first = picture(), *second = picture();
	const char *functions[] = { "main.computeReply", "main.waitForLock", "main.pollForever" };

	(void)state;
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		const struct gogroup *a = group_with(first, functions[i]);
		const struct gogroup *b = group_with(second, functions[i]);

		assert_non_null(a);
		assert_non_null(b);
		assert_true(a->signature == b->signature);
		assert_true(a->stack->signature == b->stack->signature);
		for (size_t j = 0; j < i; j++)
			assert_true(a->signature != group_with(first, functions[j])->signature);
	}
	goreport__free(first);
	goreport__free(second);
}

static char *written(const struct goreport *report, enum output_format format, int debug,
		     size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	assert_non_null(out);
	assert_int_equal(goreport__write(out, format, debug, report, NULL), 0);
	assert_int_equal(fclose(out), 0);
	return text;
}

static void test_writers(void **state)
{
	struct goreport *report = picture();
	char header[64], *text;
	size_t len;

	(void)state;
	text = written(report, FORMAT_TEXT, 1, &len);
	snprintf(header, sizeof(header), "goroutine profile: total %zu\n", goreport__total(report));
	assert_true(!strncmp(text, header, strlen(header)));
	assert_non_null(strstr(text, "\n5 @ 0x"));
	assert_non_null(strstr(text, "\tmain.computeReply+0x"));
	assert_non_null(strstr(text, "/leaky/main.go:"));
	free(text);

	text = written(report, FORMAT_TEXT, 2, &len);
	assert_non_null(strstr(text, "goroutine 1 ["));
	assert_non_null(strstr(text, " [chan send]:\nmain.computeReply(...)\n\t"));
	assert_non_null(strstr(text, "\ncreated by main.callWithTimeout"));
	assert_null(strstr(text, "runtime.gopark"));
	free(text);

	text = written(report, FORMAT_JSON, 2, &len);
	assert_true(!strncmp(text, "{\"version\":", 11));
	assert_non_null(strstr(text, "\"goroutines\":[{\"goid\":"));
	assert_non_null(strstr(text, "\"wait_reason\":\"chan send\""));
	assert_true(len > 3 && !strcmp(text + len - 3, "]}\n"));
	free(text);

	text = written(report, FORMAT_FOLDED, 2, &len);
	assert_non_null(strstr(text, "\nmain.computeReply;runtime.chansend1;"));
	assert_non_null(strstr(text, ";[chan send] 5\n"));
	free(text);

	text = written(report, FORMAT_PPROF, 2, &len);
	assert_true(len > 100 && (unsigned char)text[0] == 0x1f && (unsigned char)text[1] == 0x8b);
	free(text);
	goreport__free(report);
}

/* The goroutine picture as a report (goview.c): groups, fake threads, ages. */
static void test_as_report(void **state)
{
	struct goreport_ages ages = { 0 };
	struct goreport *first = picture(), *second = picture();
	const struct gogroup *leak = group_with(first, "main.computeReply");
	size_t total = goreport__total(first), waiting_groups = 0;
	const struct gogroup *gogroups;
	size_t gogroup_count = goreport__groups(first, &gogroups);
	struct report *a, *b;
	const struct group *group = NULL;
	__u64 prev_goid = 0, prev_start = 0;

	(void)state;
	assert_non_null(leak);
	for (size_t g = 0; g < gogroup_count; g++)
		waiting_groups += gogroups[g].count &&
				  !strcmp(gogroups[g].members[0]->status, "waiting");
	assert_int_equal(goreport__as_report(first, &ages, 1000000, &a), 0);
	assert_int_equal(a->thread_count, total);
	assert_int_equal(a->proc_count, 1);
	assert_int_equal(a->procs[0].pid, goreport__pid(a->goroutines));
	assert_int_equal(a->procs[0].threads, total);
	assert_int_equal(a->procs[0].parked, a->parked_count);
	assert_int_equal(a->group_count, waiting_groups);
	for (size_t g = 0; g < a->group_count; g++)
		if (a->groups[g].signature == leak->signature)
			group = &a->groups[g];
	assert_non_null(group);
	assert_int_equal(group->count, 5);
	assert_string_equal(group->reason, "chan send");
	assert_string_equal(report__app_frame(group->members[0])->function, "main.computeReply");
	assert_non_null(group->members[0]->stack);
	assert_non_null(group->members[0]->symbols);
	assert_string_equal(group->members[0]->created_by, "main.callWithTimeout");
	/* all new: first seen in goid order, strictly increasing from now */
	for (size_t i = 0; i < a->thread_count; i++) {
		const struct thread_info *t = &a->threads[i];

		assert_true(t->rec->tid > prev_goid);
		prev_goid = t->rec->tid;
		if (!t->parked)
			continue;
		assert_true(t->rec->park_start_ns >= 1000000);
		assert_true(t->rec->park_start_ns > prev_start);
		prev_start = t->rec->park_start_ns;
	}
	/* the next picture keeps each still-waiting goroutine's first sighting */
	assert_int_equal(goreport__as_report(second, &ages, 6000000, &b), 0);
	for (size_t g = 0; g < b->group_count; g++) {
		if (b->groups[g].signature != leak->signature)
			continue;
		for (size_t m = 0; m < b->groups[g].count; m++) {
			const struct thread_info *t = b->groups[g].members[m];

			assert_true(t->rec->park_start_ns < 1001000);
			assert_true(t->park_ns == 6000000 - t->rec->park_start_ns);
			assert_true(m == 0 || t->rec->park_start_ns >
						     b->groups[g].members[m - 1]->rec->park_start_ns);
		}
		assert_true(b->groups[g].oldest_park_ns > 4990000);
	}
	report__free(a);
	report__free(b);
	goreport_ages__clear(&ages);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_go),
		cmocka_unit_test(test_leaks),
		cmocka_unit_test(test_goroutines),
		cmocka_unit_test(test_signatures_stable),
		cmocka_unit_test(test_writers),
		cmocka_unit_test(test_as_report),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
