// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The broker and the drop to an unprivileged user (privileges.h). */
#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cli/options.h"
#include "cli/privileges.h"
#include "cli/sandbox.h"
#include "util/broker.h"

#define PASSWD_BUFFER_BYTES 16384

/* The kernel's overflow id, which Debian also gives nobody. */
#define NOBODY_ID 65534

/* A uid written in digits: 0, or -ENOENT when text is not one. */
static int parse_uid(const char *text, uid_t *uid)
{
	unsigned long value;
	char *end;

	if (*text < '0' || *text > '9')
		return -ENOENT;
	errno = 0;
	value = strtoul(text, &end, 10);
	/* (uid_t)-1 means "unchanged" to setresuid */
	if (*end || errno || value >= (uid_t)-1)
		return -ENOENT;
	*uid = (uid_t)value;
	return 0;
}

int privileges__lookup(const char *user, struct privileges *privileges)
{
	struct passwd entry, *found = NULL;
	char *buffer = malloc(PASSWD_BUFFER_BYTES);
	uid_t uid;
	int err;

	if (!buffer)
		return -ENOMEM;
	err = getpwnam_r(user, &entry, buffer, PASSWD_BUFFER_BYTES, &found);
	if (!err && found) {
		privileges->uid = found->pw_uid;
		privileges->gid = found->pw_gid;
	}
	free(buffer);
	if (found)
		return 0;
	/* without a user database (a static binary in an empty chroot or a
	 * FROM scratch image), a number is a uid, group the same, and the
	 * default, nobody, is the overflow id */
	if (parse_uid(user, &uid)) {
		if (strcmp(user, "nobody"))
			return err && err != ENOENT && err != ESRCH ? -err : -ENOENT;
		uid = NOBODY_ID;
	}
	privileges->uid = uid;
	privileges->gid = (gid_t)uid;
	return 0;
}

/* -o's last step, run in the broker: the file put in place, or dropped. */
static int commit_output(void *ctx, bool keep)
{
	struct output *out = ctx;

	return keep ? output__place(out) : output__discard(out);
}

/* Every fd but stderr, the socket and -o's file: the broker holds no BPF
 * object, listening socket or terminal. */
static void close_others(int socket, int out_fd)
{
	int keep[3] = { STDERR_FILENO, socket, out_fd }, from = 0;

	/* sorted, so the ranges between them are closed */
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				int swap = keep[i];

				keep[i] = keep[j];
				keep[j] = swap;
			}
	for (int i = 0; i < 3; i++) {
		if (keep[i] < 0)
			continue;
		if (keep[i] > from)
			close_range((unsigned int)from, (unsigned int)keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	close_range((unsigned int)from, ~0U, 0);
}

/* The broker's whole life; never returns. */
static void run_broker(pid_t parent, int socket, struct output *out)
{
	static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	const capng_type_t sets = CAPNG_EFFECTIVE | CAPNG_PERMITTED;
	bool checkpoint_restore;

	/* it ends with parkwatch: by its socket closing, or this */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(EXIT_FAILURE_OTHER);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		signal(stop_signals[i], SIG_IGN);
	close_others(socket, out && out->final_path ? out->fd : -1);
	/* without CAP_CHECKPOINT_RESTORE (a kernel before 5.9, or a service not
	 * granted it) binaries are opened by path only: asking for it then
	 * would fail the whole set */
	capng_get_caps_process();
	checkpoint_restore = capng_have_capability(CAPNG_PERMITTED, CAP_CHECKPOINT_RESTORE);
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_updatev(CAPNG_ADD, sets, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, -1))
		_exit(EXIT_FAILURE_OTHER);
	if (checkpoint_restore)
		capng_update(CAPNG_ADD, sets, CAP_CHECKPOINT_RESTORE);
	if (capng_apply(CAPNG_SELECT_ALL) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    sandbox__enter_broker())
		_exit(EXIT_FAILURE_OTHER);
	broker__serve(socket, out && out->final_path ? commit_output : NULL, out);
	_exit(EXIT_OK);
}

int privileges__start_broker(struct privileges *privileges, struct output *out)
{
	pid_t parent = getpid();
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair))
		return -errno;
	privileges->broker_pid = fork();
	if (privileges->broker_pid < 0) {
		privileges->broker_pid = 0;
		close(pair[0]);
		close(pair[1]);
		return -errno;
	}
	if (!privileges->broker_pid)
		run_broker(parent, pair[1], out);
	close(pair[1]);
	privileges->broker_socket = pair[0];
	/* threads started from now on (the HTTP server's) inherit it empty */
	capng_get_caps_process();
	capng_clear(CAPNG_SELECT_BOUNDS);
	return capng_apply(CAPNG_SELECT_BOUNDS) ? -EPERM : 0;
}

int privileges__drop(struct privileges *privileges)
{
	/* glibc makes every thread take the ids; the kernel then clears each
	 * one's permitted, effective and ambient capabilities */
	if (setgroups(0, NULL) ||
	    setresgid(privileges->gid, privileges->gid, privileges->gid) ||
	    setresuid(privileges->uid, privileges->uid, privileges->uid))
		return -errno;
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_apply(CAPNG_SELECT_CAPS))
		return -EPERM;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	broker__connect(privileges->broker_socket);
	/* TSYNC also gives every thread no_new_privs */
	return sandbox__enter_main();
}

void privileges__close(struct privileges *privileges)
{
	if (privileges->broker_socket >= 0)
		close(privileges->broker_socket);
	privileges->broker_socket = -1;
}
