// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Many processes, each parked: forkfarm N forks N children that each wait
 * in pause() under farm_child_wait(), a frame of their own for a dump to
 * name.  Once /proc shows every child asleep in pause, prints one line
 *   READY {"children": [pid, ...]}
 * and waits in pause() until killed; the children die with it
 * (PR_SET_PDEATHSIG).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "target_util.h"

#define FARM_MAX 4096

__attribute__((noinline)) static void farm_child_wait(void)
{
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	static pid_t children[FARM_MAX];
	pid_t parent = getpid();
	struct tu_role role = { "children", children, 0 };
	int count = argc > 1 ? atoi(argv[1]) : 0;

	if (count <= 0 || count > FARM_MAX) {
		fprintf(stderr, "usage: forkfarm N (1 to %d children)\n", FARM_MAX);
		return 2;
	}
	for (int i = 0; i < count; i++) {
		pid_t pid = fork();

		if (pid < 0)
			tu_die("fork", errno);
		if (!pid) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
				_exit(1);
			farm_child_wait();
		}
		children[role.n++] = pid;
	}
	for (int i = 0; i < count; i++)
		tu_wait_blocked_of(children[i], children[i], "child", SYS_pause, SYS_pause);
	tu_print_roles("READY", &role, 1);
	for (;;)
		pause();
}
