/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What one run of the CLI holds from open to close: the parsed options, the
 * BPF tracker, the collector, the leak trend, the live table, the HTTP
 * server and its feed, and the steps every way of running shares (take a
 * picture, feed the trend, notice exits, write the result).  Errors are
 * printed here, once, and returned as exit codes (cli/options.h).
 */
#ifndef PARKWATCH_SESSION_H
#define PARKWATCH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include "cli/options.h"
#include "cli/output.h"
#include "cli/privileges.h"
#include "cli/terminal.h"
#include "collect/collector.h"
#include "kernel/tracker.h"
#include "out/live.h"
#include "out/render.h"
#include "out/window.h"
#include "serve/http.h"
#include "trend/trend.h"
#include "util/ksyms.h"

struct session {
	const struct env *env;
	struct tracker *tracker;
	struct collector *collector;
	struct ksyms *ksyms;
	struct live *live;
	struct render_opts render_opts;
	struct pw_context ctx;      /* what renderers read besides the picture */
	unsigned long long watched_start[PARK_MAX_WATCHED]; /* -p's start times: a pid that
				     * names another process later is one that exited */
	pid_t exited[PARK_MAX_WATCHED];
	bool unseen_noted[PARK_MAX_WATCHED]; /* -p's that run but were not in a picture */
	size_t exited_count;
	struct terminal term;
	struct stop_check stop;     /* term's stop, asked while a picture is taken */
	bool tty_out;
	struct feed feed;
	bool feed_ready;
	struct http_server *server; /* --http: bound before privileges are dropped */
	struct trend *trend;        /* leak evidence; NULL for a one-off --dump */
	bool trend_warned;          /* a failed trend update was said once */
	struct output out;          /* the result's destination, made before the drop */
	bool out_open;
	struct privileges privileges;
};

/* Loads and attaches the BPF side (and kernel symbols); an exit code. */
int session__open_tracker(struct session *session);
/* Binds the HTTP server (before privileges are dropped); an exit code. */
int session__open_http(struct session *session);
/* Opens the result's destination (-o), before privileges are dropped; an
 * exit code. */
int session__open_output(struct session *session);
/* The leak trend, from the options; an exit code. */
int session__create_trend(struct session *session);
/* A new picture; 0 or a negative errno, said on stderr. */
int session__collect(struct session *session, struct pw_picture **out);
/* Feeds a picture to the leak trend; a failure is said once. */
void session__update_trend(struct session *session, const struct pw_picture *picture);
/* Notes watched processes that exited, or whose pid a later process holds,
 * and (once each) live ones of which picture, when given and whole, holds no
 * thread; returns how many are still alive, and in *unseen (when not NULL)
 * how many of those the picture left out. */
size_t session__check_exits(struct session *session, const struct pw_picture *picture,
			    size_t *unseen);
/* The result to stdout or, with -o, atomically to the file: the leak report,
 * a window, or the picture in the chosen format.  An exit code. */
int session__write_result(struct session *session, const struct pw_picture *picture,
			  const struct pw_picture *before_exit, struct window *window,
			  __u64 window_start_unix_ns, __u64 window_ns);
/* One stderr line at exit when the BPF side lost anything on the way. */
void session__say_gave_up(const struct session *session);
/* Frees everything; safe on a partly opened session. */
void session__close(struct session *session);

#endif /* PARKWATCH_SESSION_H */
