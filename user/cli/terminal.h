/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Waiting between pictures, and what ends the wait: SIGINT, SIGTERM and
 * SIGHUP (through a signalfd, so they are handled where the loop can still
 * write what it collected) and, in the live view on a terminal, its keys
 * and SIGWINCH.
 */
#ifndef PARKWATCH_TERMINAL_H
#define PARKWATCH_TERMINAL_H

#include <stdbool.h>
#include <termios.h>
#include <linux/types.h>

/* What a key does, as the one who reads it says. */
enum key_effect {
	KEY_NONE,
	KEY_REDRAW,                 /* the screen changed: draw it again now */
	KEY_QUIT,
};

/* A key: a byte as typed (Esc is 27); escape sequences (arrows, function
 * keys) are dropped before they get here. */
typedef enum key_effect (*key_handler)(void *ctx, int key);

struct terminal {
	int signal_fd;
	bool keys;                  /* keys are read from a terminal on stdin */
	bool input_closed;          /* stdin's terminal went away: no more keys */
	bool stop_asked;            /* a stop signal or quit key was seen: it stays */
	bool redraw_asked;          /* a key or a resize since the last draw */
	struct termios saved;       /* stdin's mode before keys were turned on */
	key_handler on_key;         /* NULL: q quits, other keys do nothing */
	void *key_ctx;
};

/* Blocks the stop signals and SIGWINCH into a signalfd.  0 or a negative
 * errno. */
int terminal__open(struct terminal *term);
/* Reads single keys from stdin without echo, when stdin and stdout are a
 * terminal; on_key (NULL: q quits) says what each does. */
void terminal__keys_on(struct terminal *term, key_handler on_key, void *key_ctx);
/* Restores stdin's mode and closes the signalfd; safe to call twice. */
void terminal__close(struct terminal *term);
/* Lines of stdout's terminal (24 when it doesn't say). */
int terminal__lines(void);
/* Columns of stdout's terminal (80 when it doesn't say). */
int terminal__columns(void);
enum wait_result {
	WAIT_TIMEOUT,               /* the deadline came */
	WAIT_STOP,                  /* a signal or the quit key asked to stop */
	WAIT_WOKEN,                 /* wake_fd became readable */
	WAIT_REDRAW,                /* with keys on: a key or a resize wants a new draw */
};

/* Whether a stop signal or the quit key came, without waiting: asked while
 * a picture is taken, which then ends where it is.  Other keys read here
 * leave redraw_asked set. */
bool terminal__stop_requested(struct terminal *term);
/* Waits until deadline_ns (CLOCK_MONOTONIC), a stop, a redraw asked, or
 * wake_fd (-1: none) becoming readable; the caller drains wake_fd and
 * clears redraw_asked when it draws. */
enum wait_result terminal__wait(struct terminal *term, __u64 deadline_ns, int wake_fd);

#endif /* PARKWATCH_TERMINAL_H */
