// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of which processes a profile request selects
 * (user/serve/selection.c): by name, executable and cgroup, the cgroup
 * given as /proc/PID/cgroup names it or under either usual mount.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "serve/selection.h"

static struct pw_process process(const char *comm, const char *exe, const char *cgroup)
{
	struct pw_process proc = { .pid = 4242, .exe = (char *)exe };

	snprintf(proc.comm, sizeof(proc.comm), "%s", comm);
	proc.cgroup.path = cgroup;
	return proc;
}

static bool selects(enum selector_kind kind, const char *value, const struct pw_process *proc)
{
	struct selector selector = { .kind = kind, .value = value };

	return selection__matches(&selector, proc);
}

static void test_comm_and_exe_exactly(void **state)
{
	struct pw_process nginx = process("nginx", "/usr/sbin/nginx", "/system.slice/nginx.service");
	struct pw_process unknown = process("nginx", NULL, NULL);

	(void)state;
	assert_true(selects(SELECT_COMM, "nginx", &nginx));
	assert_false(selects(SELECT_COMM, "ngin", &nginx));
	assert_false(selects(SELECT_COMM, "nginx2", &nginx));
	assert_true(selects(SELECT_EXE, "/usr/sbin/nginx", &nginx));
	assert_false(selects(SELECT_EXE, "/usr/sbin", &nginx));
	assert_false(selects(SELECT_EXE, "/usr/sbin/nginx", &unknown));
	assert_false(selects(SELECT_CGROUP, "/system.slice", &unknown));
	assert_true(selects(SELECT_ALL, NULL, &unknown));
}

/* The cgroup or one below it, never a sibling that shares a prefix. */
static void test_cgroup_and_below(void **state)
{
	struct pw_process nginx = process("nginx", NULL, "/system.slice/nginx.service");
	struct pw_process pod = process("app", NULL, "/kubepods/burstable/pod1/abc");

	(void)state;
	assert_true(selects(SELECT_CGROUP, "/system.slice/nginx.service", &nginx));
	assert_true(selects(SELECT_CGROUP, "/system.slice/nginx.service/", &nginx));
	assert_true(selects(SELECT_CGROUP, "/system.slice", &nginx));
	assert_false(selects(SELECT_CGROUP, "/system.slice/nginx", &nginx));
	assert_false(selects(SELECT_CGROUP, "/system.slice/nginx.service/child", &nginx));
	assert_true(selects(SELECT_CGROUP, "/kubepods/burstable/pod1", &pod));
	assert_false(selects(SELECT_CGROUP, "/kubepods/burstable/pod", &pod));
	/* the root holds every process */
	assert_true(selects(SELECT_CGROUP, "/", &nginx));
}

/* --cgroup's form: the directory under cgroup v2's mount, alone or hybrid. */
static void test_cgroup_under_its_mount(void **state)
{
	struct pw_process nginx = process("nginx", NULL, "/system.slice/nginx.service");

	(void)state;
	assert_true(selects(SELECT_CGROUP, "/sys/fs/cgroup/system.slice/nginx.service", &nginx));
	assert_true(selects(SELECT_CGROUP, "/sys/fs/cgroup/unified/system.slice", &nginx));
	assert_true(selects(SELECT_CGROUP, "/sys/fs/cgroup", &nginx));
	assert_false(selects(SELECT_CGROUP, "/sys/fs/cgroupfoo/system.slice", &nginx));
	assert_false(selects(SELECT_CGROUP, "/sys/fs/cgroup/pids/system.slice", &nginx));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comm_and_exe_exactly),
		cmocka_unit_test(test_cgroup_and_below),
		cmocka_unit_test(test_cgroup_under_its_mount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
