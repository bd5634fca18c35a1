// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the cgroup label parser (user/proc/cgroup.c): a table of
 * /proc/PID/cgroup texts as Docker, containerd, CRI-O, podman, kubelet
 * (cgroupfs and systemd drivers) and systemd write them, on cgroup v1 and
 * v2, and paths a hostile delegated subtree could make.  No root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "proc/cgroup.h"

#define ID_A "3f4e8a0c1b2d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789ab"
#define ID_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POD "8dbd3f6f-3c9b-4d3e-9a1a-6d1e2c3b4a59"
#define POD_ "8dbd3f6f_3c9b_4d3e_9a1a_6d1e2c3b4a59"

struct label_case {
	const char *text;           /* /proc/PID/cgroup */
	const char *path, *runtime, *container, *pod, *qos, *unit; /* NULL: empty */
};

static const struct label_case cases[] = {
	/* Docker, cgroupfs driver, v1: every hierarchy has the same path */
	{ "12:pids:/docker/" ID_A "\n11:memory:/docker/" ID_A "\n1:name=systemd:/docker/" ID_A "\n",
	  "/docker/" ID_A, "docker", ID_A, NULL, NULL, NULL },
	/* Docker, systemd driver, v2 */
	{ "0::/system.slice/docker-" ID_A ".scope\n",
	  "/system.slice/docker-" ID_A ".scope", "docker", ID_A, NULL, NULL, NULL },
	/* Docker under cgroupfs on v2 */
	{ "0::/docker/" ID_B "\n", "/docker/" ID_B, "docker", ID_B, NULL, NULL, NULL },
	/* containerd outside Kubernetes (ctr run), its namespace as parent */
	{ "0::/k8s.io/" ID_A "\n", "/k8s.io/" ID_A, "containerd", ID_A, NULL, NULL, NULL },
	/* Kubernetes, cgroupfs driver, v1, burstable pod, containerd */
	{ "10:pids:/kubepods/burstable/pod" POD "/" ID_A "\n"
	  "4:memory:/kubepods/burstable/pod" POD "/" ID_A "\n",
	  "/kubepods/burstable/pod" POD "/" ID_A, NULL, ID_A, POD, "burstable", NULL },
	/* guaranteed pods sit straight under kubepods */
	{ "0::/kubepods/pod" POD "/" ID_B "\n",
	  "/kubepods/pod" POD "/" ID_B, NULL, ID_B, POD, "guaranteed", NULL },
	{ "0::/kubepods/besteffort/pod" POD "/" ID_B "\n",
	  "/kubepods/besteffort/pod" POD "/" ID_B, NULL, ID_B, POD, "besteffort", NULL },
	/* Kubernetes, systemd driver, v2, containerd */
	{ "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_
	  ".slice/cri-containerd-" ID_A ".scope\n",
	  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_
	  ".slice/cri-containerd-" ID_A ".scope", "containerd", ID_A, POD, "burstable", NULL },
	/* systemd driver, guaranteed, CRI-O */
	{ "0::/kubepods.slice/kubepods-pod" POD_ ".slice/crio-" ID_B ".scope\n",
	  "/kubepods.slice/kubepods-pod" POD_ ".slice/crio-" ID_B ".scope",
	  "cri-o", ID_B, POD, "guaranteed", NULL },
	/* systemd driver, besteffort, Docker (dockershim), v1 */
	{ "11:pids:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_
	  ".slice/docker-" ID_A ".scope\n",
	  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_
	  ".slice/docker-" ID_A ".scope", "docker", ID_A, POD, "besteffort", NULL },
	/* the pod's own cgroup (the pause container's parent): pod, no container */
	{ "0::/kubepods/burstable/pod" POD "\n",
	  "/kubepods/burstable/pod" POD, NULL, NULL, POD, "burstable", NULL },
	/* CRI-O's conmon is a monitor, not the container */
	{ "0::/kubepods.slice/kubepods-pod" POD_ ".slice/crio-conmon-" ID_B ".scope\n",
	  "/kubepods.slice/kubepods-pod" POD_ ".slice/crio-conmon-" ID_B ".scope",
	  NULL, NULL, POD, "guaranteed", "crio-conmon-" ID_B ".scope" },
	/* podman, systemd (rootful and rootless) and cgroupfs */
	{ "0::/machine.slice/libpod-" ID_A ".scope/container\n",
	  "/machine.slice/libpod-" ID_A ".scope/container", "podman", ID_A, NULL, NULL, NULL },
	{ "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_B ".scope\n",
	  "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_B ".scope",
	  "podman", ID_B, NULL, NULL, "user@1000.service" },
	{ "0::/libpod_parent/" ID_A "\n", "/libpod_parent/" ID_A, "podman", ID_A, NULL, NULL, NULL },
	/* systemd services and sessions */
	{ "0::/system.slice/nginx.service\n", "/system.slice/nginx.service", NULL, NULL, NULL, NULL,
	  "nginx.service" },
	{ "0::/user.slice/user-1000.slice/session-3.scope\n",
	  "/user.slice/user-1000.slice/session-3.scope", NULL, NULL, NULL, NULL, "session-3.scope" },
	{ "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-foo-123.scope\n",
	  "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-foo-123.scope",
	  NULL, NULL, NULL, NULL, "app-gnome-foo-123.scope" },
	{ "0::/system.slice/system-getty.slice/getty@tty1.service\n",
	  "/system.slice/system-getty.slice/getty@tty1.service", NULL, NULL, NULL, NULL,
	  "getty@tty1.service" },
	/* a service inside a container (systemd in Docker, no cgroupns) */
	{ "0::/docker/" ID_A "/system.slice/nginx.service\n",
	  "/docker/" ID_A "/system.slice/nginx.service", "docker", ID_A, NULL, NULL, "nginx.service" },
	/* hybrid v1/v2: v2 says only the unit, pids names the container */
	{ "0::/system.slice/containerd.service\n12:pids:/k8s.io/" ID_B "\n",
	  "/k8s.io/" ID_B, "containerd", ID_B, NULL, NULL, NULL },
	/* v1 systemd in name=systemd only */
	{ "3:cpu,cpuacct:/\n1:name=systemd:/system.slice/redis-server.service\n0::/\n",
	  "/system.slice/redis-server.service", NULL, NULL, NULL, NULL, "redis-server.service" },
	/* no label: the root, or a path of no known pattern */
	{ "0::/\n", "/", NULL, NULL, NULL, NULL, NULL },
	{ "12:pids:/\n4:memory:/process_api/1a79c85a3e3d9c57129fff645f0fd480\n0::/\n",
	  "/process_api/1a79c85a3e3d9c57129fff645f0fd480", NULL, NULL, NULL, NULL, NULL },
	{ "", NULL, NULL, NULL, NULL, NULL, NULL },
	/* hostile or broken: short or non-hex ids, a bare id under nothing
	 * known, a pod with a foreign alphabet, no colons, relative paths */
	{ "0::/docker/" "3f4e8a0c1b2d\n", "/docker/3f4e8a0c1b2d", NULL, NULL, NULL, NULL, NULL },
	{ "0::/system.slice/docker-" ID_A "x.scope\n", "/system.slice/docker-" ID_A "x.scope",
	  NULL, NULL, NULL, NULL, "docker-" ID_A "x.scope" },
	{ "0::/random/" ID_A "\n", "/random/" ID_A, NULL, NULL, NULL, NULL, NULL },
	{ "0::/kubepods/burstable/pod$(reboot)/" ID_A "\n",
	  "/kubepods/burstable/pod$(reboot)/" ID_A, NULL, NULL, NULL, NULL, NULL },
	{ "0::/system.slice/bad\"name.service\n", "/system.slice/bad\"name.service",
	  NULL, NULL, NULL, NULL, NULL },
	{ "garbage without colons\n12:pids\n0::relative/docker/" ID_A "\n", NULL,
	  NULL, NULL, NULL, NULL, NULL },
	/* a line cut short and no final newline */
	{ "0::/system.slice/nginx.service", "/system.slice/nginx.service", NULL, NULL, NULL, NULL,
	  "nginx.service" },
};

static void expect_field(const char *what, const char *got, const char *want, size_t i)
{
	if (!want)
		want = "";
	if (!got)
		got = "";
	if (strcmp(got, want))
		fail_msg("case %zu: %s is \"%s\", expected \"%s\"", i, what, got, want);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct label_case *c = &cases[i];
		struct cgroup_label label;

		cgroup__parse(c->text, strlen(c->text), &label);
		expect_field("path", label.path, c->path, i);
		expect_field("runtime", label.runtime, c->runtime, i);
		expect_field("container", label.container, c->container, i);
		expect_field("pod", label.pod, c->pod, i);
		expect_field("qos", label.qos, c->qos, i);
		expect_field("unit", label.unit, c->unit, i);
	}
}

/* The text is not read past len, and a NUL inside it ends nothing early. */
static void test_bounded(void **state)
{
	const char text[] = "0::/docker/" ID_A "\n0::/system.slice/nginx.service\n";
	char *copy = malloc(strlen("0::/docker/") + 64);
	struct cgroup_label label;

	(void)state;
	assert_non_null(copy);
	/* exactly the first line without its newline, in a block of that size */
	memcpy(copy, text, strlen("0::/docker/") + 64);
	cgroup__parse(copy, strlen("0::/docker/") + 64, &label);
	assert_string_equal(label.container, ID_A);
	/* cut inside the id: no container */
	cgroup__parse(copy, strlen("0::/docker/") + 63, &label);
	assert_string_equal(label.container, "");
	free(copy);
}

/* A path longer than the label keeps: cut, and the id past the cut is
 * still read off the whole path. */
static void test_long_path(void **state)
{
	char text[4096];
	struct cgroup_label label;
	int len = snprintf(text, sizeof(text), "0::/");

	(void)state;
	for (int i = 0; i < 60; i++)
		len += snprintf(text + len, sizeof(text) - len, "deep-level-%02d/", i);
	len += snprintf(text + len, sizeof(text) - len, "docker/%s\n", ID_B);
	cgroup__parse(text, (size_t)len, &label);
	assert_int_equal(strlen(label.path), CGROUP_PATH_MAX - 1);
	assert_memory_equal(label.path, text + 3, CGROUP_PATH_MAX - 1);
	assert_string_equal(label.container, ID_B);
	assert_string_equal(label.runtime, "docker");
}

/* This process's own file: whatever it says, it parses, and a process
 * that doesn't exist gives -ENOENT and an empty label. */
static void test_read(void **state)
{
	struct cgroup_label label;

	(void)state;
	assert_int_equal(cgroup__read(getpid(), &label), 0);
	assert_true(label.path[0] == '/');
	memset(&label, 'x', sizeof(label));
	assert_int_equal(cgroup__read(0x7ffffff0, &label), -ENOENT);
	assert_string_equal(label.path, "");
	assert_null(label.runtime);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
