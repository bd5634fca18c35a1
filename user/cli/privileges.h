/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Least privilege after start-up, privilege-separated as OpenSSH is.  Once
 * the BPF programs are attached (and the HTTP port bound, -o's file made),
 * parkwatch forks a small broker that keeps only what reading other
 * processes needs (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and, on Linux 5.9+,
 * CAP_CHECKPOINT_RESTORE; its own seccomp filter; util/broker.h) and then
 * becomes an unprivileged user itself: no groups, no capabilities in any
 * set, no_new_privs and a seccomp filter (cli/sandbox.h) on every thread.
 * The loaded programs and maps stay usable through their fds.
 */
#ifndef PARKWATCH_PRIVILEGES_H
#define PARKWATCH_PRIVILEGES_H

#include <stdbool.h>
#include <sys/types.h>
#include "cli/output.h"

struct privileges {
	uid_t uid;                  /* whom to run as */
	gid_t gid;
	pid_t broker_pid;           /* 0: no broker */
	int broker_socket;          /* ours; -1: none */
};

/* The user by name, else by uid (digits; its group is the same number);
 * nobody without an entry is 65534.  0, or -ENOENT when there is none. */
int privileges__lookup(const char *user, struct privileges *privileges);
/*
 * Forks the broker, which may put out (NULL: no -o file) in place at the
 * end, and clears this process's capability bounding set, so that threads
 * started from now on inherit it cleared.  0 or a negative errno.
 */
int privileges__start_broker(struct privileges *privileges, struct output *out);
/* Becomes the user, with nothing left, on every thread; from then on
 * /proc/PID files are opened by the broker.  0 or a negative errno. */
int privileges__drop(struct privileges *privileges);
/* Lets the broker go (it ends when its socket closes). */
void privileges__close(struct privileges *privileges);

#endif /* PARKWATCH_PRIVILEGES_H */
