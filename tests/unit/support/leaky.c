// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A child running build/targets/go/1.19/leaky (leaky.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "support/gotargets.h"
#include "support/leaky.h"

#define LEAKY_PATH GO_TARGETS "leaky"

/* The leaky binary, or one of its variants (-nodwarf, -pie, -stripped). */
const char *leaky_path(const char *variant, char *buf, size_t size)
{
	const char *base = getenv("PARKWATCH_GO_LEAKY") ? getenv("PARKWATCH_GO_LEAKY") : LEAKY_PATH;

	snprintf(buf, size, "%s%s", base, variant);
	return buf;
}

/* Starts leaky and waits for its READY line; -1 when it can't. */
pid_t start_leaky(const char *path)
{
	char line[256] = "";
	int pipe_fds[2];
	FILE *ready;
	pid_t pid;

	if (access(path, X_OK)) {
		fprintf(stderr, "leaky: %s is missing (run make targets)\n", path);
		return -1;
	}
	if (pipe(pipe_fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		/* dies with the test, even one that aborts before its teardown */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pipe_fds[1], STDOUT_FILENO);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		execl(path, path, "-port", "0", (char *)NULL);
		_exit(127);
	}
	close(pipe_fds[1]);
	ready = fdopen(pipe_fds[0], "r");
	if (!ready || !fgets(line, sizeof(line), ready) || strncmp(line, "READY ", 6)) {
		fprintf(stderr, "leaky: %s never said READY\n", path);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	/* the pipe stays open (leaked on purpose): leaky writes nothing more */
	return pid;
}

void stop_leaky(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}
