// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Waiting, signals and the q key (terminal.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include "util/clock.h"
#include <unistd.h>
#include "cli/terminal.h"

int terminal__open(struct terminal *term)
{
	sigset_t mask;

	term->keys = false;
	term->stop_asked = false;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	/* SIGPIPE stays default: a closed stdout (| head) ends parkwatch quietly,
	 * like any filter; libmicrohttpd sends with MSG_NOSIGNAL */
	term->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return term->signal_fd < 0 ? -errno : 0;
}

void terminal__keys_on(struct terminal *term)
{
	struct termios raw;

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

int terminal__rows(void)
{
	struct winsize size;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) || size.ws_row < 8)
		return 20;
	return size.ws_row - 6;
}

int terminal__columns(void)
{
	struct winsize size;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) || !size.ws_col)
		return 80;
	return size.ws_col;
}

/* A key read: q asks to stop, anything else is dropped. */
static void read_key(struct terminal *term)
{
	char key = 0;

	if (read(STDIN_FILENO, &key, 1) == 1 && (key == 'q' || key == 'Q'))
		term->stop_asked = true;
}

bool terminal__stop_requested(struct terminal *term)
{
	struct pollfd fds[2] = {
		{ .fd = term->signal_fd, .events = POLLIN },
		{ .fd = term->keys ? STDIN_FILENO : -1, .events = POLLIN },
	};

	/* the signal stays queued in the signalfd: terminal__wait sees it too */
	if (!term->stop_asked && poll(fds, 2, 0) > 0) {
		if (fds[0].revents)
			term->stop_asked = true;
		else if (fds[1].revents)
			read_key(term);
	}
	return term->stop_asked;
}

enum wait_result terminal__wait(struct terminal *term, __u64 deadline_ns, int wake_fd)
{
	struct pollfd fds[3] = {
		{ .fd = term->signal_fd, .events = POLLIN },
		{ .fd = term->keys ? STDIN_FILENO : -1, .events = POLLIN },
		{ .fd = wake_fd, .events = POLLIN },
	};

	for (;;) {
		__u64 now = clock__monotonic_ns();
		int timeout_ms;

		if (term->stop_asked)
			return WAIT_STOP;
		if (now >= deadline_ns)
			return WAIT_TIMEOUT;
		timeout_ms = (int)((deadline_ns - now + 999999) / 1000000);
		if (poll(fds, 3, timeout_ms) < 0) {
			if (errno == EINTR)
				continue;
			return WAIT_STOP;
		}
		if (fds[0].revents)
			return WAIT_STOP;
		if (fds[2].revents)
			return WAIT_WOKEN;
		if (fds[1].revents)
			read_key(term);
	}
}
