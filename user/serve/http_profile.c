// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * GET /debug/pprof/goroutine (http_internal.h): one process's profile as
 * Go serves its own, or the merged profile of every process a name, an
 * executable or a cgroup selects, so that a scraper's URL outlives pids.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "out/render.h"
#include "serve/http.h"
#include "serve/http_internal.h"
#include "serve/selection.h"
#include "util/clock.h"
#include "util/gaveup.h"
#include "util/units.h"

/* seconds= windows waiting at once: each holds a connection and is fed
 * every picture under the feed's lock. */
#define HTTP_MAX_WINDOWS 8
#define HTTP_GOROUTINES_TIMEOUT_NS (10 * NSEC_PER_SEC) /* for the collector to read them */
/* Processes in one merged profile: a Go one's goroutines are read for the
 * request, one after another. */
#define HTTP_MAX_MERGED 64

/* Lock held: the seconds= windows being waited for. */
static size_t pending_windows(const struct feed *feed)
{
	size_t count = 0;

	for (const struct pending_window *pending = feed->windows; pending; pending = pending->next)
		count++;
	return count;
}

/* Waits, lock held, for a window of seconds to fill; writes it to out. */
static int wait_window(struct feed *feed, pid_t pid, long seconds, FILE *out)
{
	struct pending_window pending = { .pid = pid };
	struct pending_window **link;
	struct pw_picture *last, *view = NULL;
	int err;

	pending.window = window__new(PW_FORMAT_PPROF, feed->interval_ns, feed->picture->totals,
				     NULL);
	if (!pending.window)
		return -ENOMEM;
	pending.start_ns = pending.last_ns = clock__monotonic_ns();
	pending.end_ns = pending.start_ns + (__u64)seconds * NSEC_PER_SEC;
	pending.start_unix_ns = feed->picture->time_unix_ns;
	pending.next = feed->windows;
	feed->windows = &pending;
	while (!pending.done && !feed->stopping)
		pthread_cond_wait(&feed->updated, &feed->lock);
	for (link = &feed->windows; *link != &pending; link = &(*link)->next)
		;
	*link = pending.next;

	last = feed->picture;
	if (pid && picture__view_pid(feed->picture, pid, &view) == 0)
		last = view;
	else if (pid)
		last = NULL;
	err = window__write(pending.window, out, pending.start_unix_ns,
			    pending.last_ns - pending.start_ns, last, feed->ctx.trend);
	picture__put(view);
	window__free(pending.window);
	return err;
}

/*
 * The picture a request about pid is answered from, lock held: a Go
 * program's goroutines (read by the collecting loop when the published
 * picture shows its threads), else its threads.  0, or -ENOENT when pid is
 * not among the watched processes.
 */
static int picture_of(struct feed *feed, pid_t pid, struct pw_picture **out)
{
	const struct pw_process *proc;
	struct pw_picture *goroutines;

	if (!pid) {
		*out = picture__get(feed->picture);
		return 0;
	}
	proc = picture__process(feed->picture, pid);
	if (!proc)
		return -ENOENT;
	if (proc->unit_kind == PW_UNIT_THREAD &&
	    feed__goroutines(feed, pid, HTTP_GOROUTINES_TIMEOUT_NS, &goroutines) == 0) {
		*out = goroutines;
		return 0;
	}
	/* the picture may have been replaced while the loop read goroutines */
	return feed->picture ? picture__view_pid(feed->picture, pid, out) : -ENOENT;
}

/*
 * ?pid=N, ?comm=NAME, ?exe=PATH or ?cgroup=PATH, at most one: none selects
 * every process.  0, -EINVAL (a bad pid or an empty name) or -E2BIG (two).
 */
static int query_selector(struct MHD_Connection *conn, struct selector *out)
{
	long pid = 0;

	*out = (struct selector){ .kind = SELECT_ALL };
	if (http__query_number(conn, "pid", 1, INT_MAX, &pid))
		return -EINVAL;
	for (int kind = SELECT_PID; kind < SELECT__COUNT; kind++) {
		const char *value = kind == SELECT_PID ?
			(pid ? "" : NULL) :
			MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, selector_names[kind]);

		if (!value)
			continue;
		if (out->kind != SELECT_ALL)
			return -E2BIG;
		if (kind != SELECT_PID && !*value)
			return -EINVAL;
		*out = (struct selector){ .kind = kind, .value = value, .pid = (pid_t)pid };
	}
	return 0;
}

/* Lock held: the first max pids (lowest first) of the processes the
 * selector means and the peer may see; returns how many match in all. */
static size_t matching_pids(const struct feed *feed, const struct selector *selector,
			    const struct access *access, pid_t *pids, size_t max)
{
	size_t count = 0;

	for (size_t i = 0; i < feed->picture->proc_count; i++) {
		const struct pw_process *proc = &feed->picture->procs[i];

		if (!http__may_see(access, proc) || !selection__matches(selector, proc))
			continue;
		if (count < max)
			pids[count] = proc->pid;
		count++;
	}
	return count;
}

/* Lock held: the processes' pictures, one profile (debug=0) or one dump
 * after another; a process gone meanwhile is left out.  0, -ENOENT when
 * every one is gone, or a negative errno. */
static int write_merged(struct feed *feed, const pid_t *pids, size_t count, size_t left_out,
			long debug, FILE *out)
{
	struct pw_picture *pictures[HTTP_MAX_MERGED];
	struct render_opts opts = { .debug = (int)debug };
	size_t taken = 0;
	int err = 0;

	for (size_t i = 0; i < count && i < HTTP_MAX_MERGED && !err; i++) {
		err = picture_of(feed, pids[i], &pictures[taken]);
		if (!err)
			taken++;
		else if (err == -ENOENT)
			err = 0;
	}
	if (!err && !taken)
		err = -ENOENT;
	if (!err && !debug)
		err = pprof__write_merged(out, pictures, taken, left_out, &feed->ctx);
	for (size_t i = 0; !err && debug && i < taken; i++)
		err = render__write(out, PW_FORMAT_TEXT, pictures[i], &feed->ctx, &opts);
	for (size_t i = 0; i < taken; i++)
		picture__put(pictures[i]);
	return err;
}

/* Lock held: the answer for one process (pid), or every process (0). */
static int write_one(struct feed *feed, pid_t pid, long debug, long seconds, FILE *out)
{
	struct render_opts opts = { .debug = debug ? (int)debug : 1 };
	struct pw_picture *picture = NULL;
	int err;

	if (seconds && pending_windows(feed) >= HTTP_MAX_WINDOWS)
		return -EBUSY;
	if (seconds)
		return wait_window(feed, pid, seconds, out);
	err = picture_of(feed, pid, &picture);
	if (!err)
		err = render__write(out, debug ? PW_FORMAT_TEXT : PW_FORMAT_PPROF, picture,
				    &feed->ctx, &opts);
	picture__put(picture);
	return err;
}

enum MHD_Result http__serve_goroutine(struct http_server *server, struct MHD_Connection *conn,
				      const struct access *access)
{
	struct feed *feed = server->feed;
	struct selector selector;
	pid_t pids[HTTP_MAX_MERGED];
	long debug = 0, seconds = 0;
	size_t matched = 0;
	char *body = NULL;
	size_t len = 0;
	FILE *out;
	int err;

	err = query_selector(conn, &selector);
	if (err == -E2BIG)
		return http__respond_text(conn, MHD_HTTP_BAD_REQUEST,
					  "give one of pid=, comm=, exe=, cgroup=, not two\n");
	if (err || http__query_number(conn, "debug", 0, 2, &debug) ||
	    http__query_number(conn, "seconds", 1, HTTP_MAX_WINDOW_SECONDS, &seconds))
		return http__respond_text(conn, MHD_HTTP_BAD_REQUEST,
					  "bad query: pid=N (a process id), comm=NAME, exe=PATH or "
					  "cgroup=PATH; debug=0|1|2, seconds=1..%d (with debug=0)\n",
					  HTTP_MAX_WINDOW_SECONDS);
	if (seconds && debug)
		return http__respond_text(conn, MHD_HTTP_BAD_REQUEST,
					  "seconds=S makes a pprof profile: use it with debug=0\n");
	if (selector.kind == SELECT_ALL && !access->every_process)
		return http__respond_text(conn, MHD_HTTP_FORBIDDEN,
					  "give pid=N, comm=NAME, exe=PATH or cgroup=PATH: uid %u "
					  "sees its own processes only\n", (unsigned int)access->uid);
	out = open_memstream(&body, &len);
	if (!out)
		return MHD_NO;
	pthread_mutex_lock(&feed->lock);
	if (!feed->picture) {
		pthread_mutex_unlock(&feed->lock);
		fclose(out);
		free(body);
		return http__respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "no picture yet: retry\n");
	}
	if (selector.kind != SELECT_ALL)
		matched = matching_pids(feed, &selector, access, pids, HTTP_MAX_MERGED);
	if (selector.kind == SELECT_ALL)
		err = write_one(feed, 0, debug, seconds, out);
	else if (!matched)
		err = -ENOENT; /* not watched, or not the peer's: the same answer */
	else if (matched == 1)
		err = write_one(feed, pids[0], debug, seconds, out);
	else if (seconds)
		err = -EDOM;
	else
		err = write_merged(feed, pids, matched, matched > HTTP_MAX_MERGED ?
					   matched - HTTP_MAX_MERGED : 0, debug, out);
	pthread_mutex_unlock(&feed->lock);
	if (err) {
		fclose(out);
		free(body);
	}
	if (err == -EBUSY) {
		gaveup__count(GAVEUP_HTTP_REFUSED);
		return http__respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "%d seconds= windows are being served already: retry\n",
					  HTTP_MAX_WINDOWS);
	}
	if (err == -EDOM)
		return http__respond_text(conn, MHD_HTTP_BAD_REQUEST,
					  "seconds=S profiles one process: %zu match %s=%s\n", matched,
					  selector_names[selector.kind], selector.value);
	if (err == -ENOENT && selector.kind == SELECT_PID)
		return http__respond_text(conn, MHD_HTTP_NOT_FOUND,
					  "no process %d among the watched processes\n", selector.pid);
	if (err == -ENOENT)
		return http__respond_text(conn, MHD_HTTP_NOT_FOUND,
					  "no watched process with %s=%s\n",
					  selector_names[selector.kind], selector.value);
	if (err || fclose(out)) {
		if (!err)
			free(body);
		return http__respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
					  "profile failed: %s\n", strerror(err ? -err : EIO));
	}
	if (debug)
		return http__respond(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", body, len);
	return http__respond(conn, MHD_HTTP_OK, "application/octet-stream", body, len);
}
