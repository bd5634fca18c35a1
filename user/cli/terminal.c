// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Waiting, signals and keys (terminal.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "util/clock.h"
#include "cli/terminal.h"

#define KEY_ESCAPE 27

int terminal__open(struct terminal *term)
{
	sigset_t mask;

	*term = (struct terminal){ .signal_fd = -1 };
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	/* here, before the seccomp filter, as the rest: a live view turned on
	 * later needs no new system call; elsewhere it is read and dropped */
	sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	/* SIGPIPE stays default: a closed stdout (| head) ends parkwatch quietly,
	 * like any filter; libmicrohttpd sends with MSG_NOSIGNAL */
	term->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return term->signal_fd < 0 ? -errno : 0;
}

void terminal__keys_on(struct terminal *term, key_handler on_key, void *key_ctx)
{
	struct termios raw;

	term->on_key = on_key;
	term->key_ctx = key_ctx;
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &term->saved))
		return;
	raw = term->saved;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	term->keys = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

void terminal__close(struct terminal *term)
{
	if (term->keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &term->saved);
	term->keys = false;
	if (term->signal_fd >= 0)
		close(term->signal_fd);
	term->signal_fd = -1;
}

int terminal__lines(void)
{
	struct winsize size;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) || !size.ws_row)
		return 24;
	return size.ws_row;
}

int terminal__columns(void)
{
	struct winsize size;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) || !size.ws_col)
		return 80;
	return size.ws_col;
}

/* The signals queued: a resize asks for a redraw (of a view that reads its
 * keys: a JSON line or a progress line has no layout), any other for a
 * stop. */
static void read_signals(struct terminal *term)
{
	struct signalfd_siginfo info;

	while (read(term->signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
		if (info.ssi_signo != SIGWINCH)
			term->stop_asked = true;
		else if (term->keys && term->on_key)
			term->redraw_asked = true;
	}
}

static void take_key(struct terminal *term, int key)
{
	enum key_effect effect;

	if (term->on_key)
		effect = term->on_key(term->key_ctx, key);
	else
		effect = key == 'q' || key == 'Q' ? KEY_QUIT : KEY_NONE;
	term->stop_asked |= effect == KEY_QUIT;
	term->redraw_asked |= effect == KEY_REDRAW;
}

/* The keys typed: Esc alone is a key; Esc followed in the same read by [
 * or O starts a sequence (an arrow, a function key) that ends with a byte
 * from @ to ~, and is dropped whole. */
static void read_keys(struct terminal *term)
{
	unsigned char typed[64];
	ssize_t got = read(STDIN_FILENO, typed, sizeof(typed));

	if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
		term->input_closed = true; /* a hang-up: poll would say so forever */
		return;
	}
	for (ssize_t i = 0; i < got; i++) {
		if (typed[i] == KEY_ESCAPE && i + 1 < got && (typed[i + 1] == '[' || typed[i + 1] == 'O')) {
			for (i += 2; i < got && (typed[i] < '@' || typed[i] > '~'); i++)
				;
			continue;
		}
		take_key(term, typed[i]);
	}
}

static int key_fd(const struct terminal *term)
{
	return term->keys && !term->input_closed ? STDIN_FILENO : -1;
}

bool terminal__stop_requested(struct terminal *term)
{
	struct pollfd fds[2] = {
		{ .fd = term->signal_fd, .events = POLLIN },
		{ .fd = key_fd(term), .events = POLLIN },
	};

	if (!term->stop_asked && poll(fds, 2, 0) > 0) {
		if (fds[0].revents)
			read_signals(term);
		if (fds[1].revents)
			read_keys(term);
	}
	return term->stop_asked;
}

enum wait_result terminal__wait(struct terminal *term, __u64 deadline_ns, int wake_fd)
{
	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = term->signal_fd, .events = POLLIN },
			{ .fd = key_fd(term), .events = POLLIN },
			{ .fd = wake_fd, .events = POLLIN },
		};
		__u64 now = clock__monotonic_ns();
		int timeout_ms;

		if (term->stop_asked)
			return WAIT_STOP;
		if (term->redraw_asked)
			return WAIT_REDRAW;
		if (now >= deadline_ns)
			return WAIT_TIMEOUT;
		timeout_ms = (int)((deadline_ns - now + 999999) / 1000000);
		if (poll(fds, 3, timeout_ms) < 0) {
			if (errno == EINTR)
				continue;
			return WAIT_STOP;
		}
		if (fds[0].revents)
			read_signals(term);
		if (fds[2].revents && !term->stop_asked)
			return WAIT_WOKEN;
		if (fds[1].revents)
			read_keys(term);
	}
}
