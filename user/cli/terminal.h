/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Waiting between pictures, and what ends the wait: SIGINT, SIGTERM and
 * SIGHUP (through a signalfd, so they are handled where the loop can still
 * write what it collected) and, in the live view on a terminal, the q key.
 */
#ifndef PARKWATCH_TERMINAL_H
#define PARKWATCH_TERMINAL_H

#include <stdbool.h>
#include <termios.h>
#include <linux/types.h>

struct terminal {
	int signal_fd;
	bool keys;                  /* q is read from a terminal on stdin */
	bool stop_asked;            /* a stop signal or q was seen: it stays */
	struct termios saved;       /* stdin's mode before keys were turned on */
};

/* Blocks the stop signals into a signalfd.  0 or a negative errno. */
int terminal__open(struct terminal *term);
/* Reads single keys from stdin without echo, when it is a terminal. */
void terminal__keys_on(struct terminal *term);
/* Restores stdin's mode and closes the signalfd; safe to call twice. */
void terminal__close(struct terminal *term);
/* Rows of the table that fit stdout's terminal. */
int terminal__rows(void);
/* Columns of stdout's terminal (80 when it doesn't say). */
int terminal__columns(void);
enum wait_result {
	WAIT_TIMEOUT,               /* the deadline came */
	WAIT_STOP,                  /* a signal or q asked to stop */
	WAIT_WOKEN,                 /* wake_fd became readable */
};

/* Whether a stop signal or q came, without waiting: asked while a picture
 * is taken, which then ends where it is. */
bool terminal__stop_requested(struct terminal *term);
/* Waits until deadline_ns (CLOCK_MONOTONIC), a stop, or wake_fd (-1: none)
 * becoming readable; the caller drains wake_fd. */
enum wait_result terminal__wait(struct terminal *term, __u64 deadline_ns, int wake_fd);

#endif /* PARKWATCH_TERMINAL_H */
