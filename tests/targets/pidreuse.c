// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A process given a pid of the caller's choice: pidreuse PID PROGRAM [ARG...]
 * starts PROGRAM as a child whose pid is PID (clone3 with set_tid, which
 * root may ask for), so that a test can hand a gone process's pid to a new
 * one at once.  Waits for the child and exits with its status; 3 when PID is
 * taken.
 */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "target_util.h"

int main(int argc, char **argv)
{
	pid_t want = argc > 2 ? (pid_t)atoi(argv[1]) : 0, child;
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (__u64)(uintptr_t)&want,
		.set_tid_size = 1,
	};
	int status;

	if (want <= 0) {
		fprintf(stderr, "usage: pidreuse PID PROGRAM [ARG...]\n");
		return 2;
	}
	child = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (child < 0) {
		fprintf(stderr, "pidreuse: pid %d: %s\n", (int)want, strerror(errno));
		return errno == EEXIST ? 3 : 1;
	}
	if (!child) {
		execv(argv[2], argv + 2);
		tu_die("execv", errno);
	}
	if (waitpid(child, &status, 0) != child)
		tu_die("waitpid", errno);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
