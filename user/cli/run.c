// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The CLI's ways to run: live, as a daemon, one dump (run.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/run.h"
#include "out/blocked.h"
#include "util/clock.h"
#include "util/format.h"

/* Whether the live table is what the loop shows: not JSON, not a result
 * to a file, not a window being sampled. */
static bool shows_table(const struct env *env)
{
	return env->format == PW_FORMAT_TEXT && !env->output_path && !env->leaks;
}

/* The live table's screen: stdout's terminal, if it is one; colour unless
 * NO_COLOR (https://no-color.org) has a value. */
static struct live_screen table_screen(const struct session *session)
{
	const char *no_color = getenv("NO_COLOR");

	return (struct live_screen){
		.ansi = session->term.keys,
		.colour = session->tty_out && !(no_color && no_color[0]),
		.lines = session->tty_out ? terminal__lines() : 0,
		.columns = session->tty_out ? terminal__columns() : 0,
	};
}

/* The live table's keys, in the terminal's words. */
static enum key_effect table_key(void *live, int key)
{
	switch (live__key(live, key)) {
	case LIVE_KEY_QUIT:
		return KEY_QUIT;
	case LIVE_KEY_REDRAW:
		return KEY_REDRAW;
	default:
		return KEY_NONE;
	}
}

/* Shows one interval's picture; nothing when the result goes to a file or
 * a window is being sampled. */
static void show_interval(struct session *session, const struct pw_picture *picture,
			  __u64 elapsed_ns, bool windowed)
{
	const struct env *env = session->env;

	session->term.redraw_asked = false;
	if (windowed || env->output_path || env->leaks) {
		if (isatty(STDERR_FILENO)) {
			char elapsed[32];

			format__age_short(elapsed_ns, elapsed, sizeof(elapsed));
			fprintf(stderr, "\rparkwatch: %s, %zu parked threads%s", elapsed,
				picture->parked_count, env->duration_ns ? "" : " (Ctrl-C ends)");
		}
		return;
	}
	if (env->format == PW_FORMAT_JSON) {
		json__write(stdout, picture, &session->ctx, &session->render_opts);
	} else {
		struct live_screen screen = table_screen(session);

		live__render(session->live, stdout, picture, elapsed_ns, &screen, session->trend);
	}
	fflush(stdout);
}

/* How long the last word may take after a stop: past it the picture is cut
 * short, and the last whole one stands. */
#define LAST_WORD_NS (300ULL * 1000000ULL)

static bool past_deadline(void *deadline_ns)
{
	return clock__monotonic_ns() >= *(const __u64 *)deadline_ns;
}

/*
 * Takes a picture every interval until the duration ends, the user quits, a
 * signal arrives or every watched process is gone; then writes the result:
 * the last picture, or for pprof/folded the window of all of them.
 */
int run__live(struct session *session)
{
	const struct env *env = session->env;
	bool windowed = env->format == PW_FORMAT_PPROF || env->format == PW_FORMAT_FOLDED;
	__u64 start_ns = clock__monotonic_ns(), next_ns = start_ns, last_ns = start_ns;
	__u64 end_ns = env->duration_ns ? start_ns + env->duration_ns : UINT64_MAX;
	struct window *window = NULL;
	struct pw_picture *picture = NULL, *before_exit = NULL;
	__u64 start_unix_ns = 0, window_start_ns = 0;
	bool all_exited = false, stopped = false, cut_midway = false;
	int code;

	terminal__keys_on(&session->term, shows_table(env) ? table_key : NULL, session->live);
	srandom((unsigned int)start_ns ^ (unsigned int)getpid());
	for (;;) {
		struct pw_picture *fresh;
		bool collected = session__collect(session, &fresh) == 0;
		enum wait_result waited;
		__u64 now, wake_ns;

		if (collected) {
			/* stopped midway: the last whole picture says more than a
			 * part, and the first says what it can */
			cut_midway |= fresh->cut_short != BUDGET_CUT_NONE;
			if (cut_midway && picture) {
				picture__put(fresh);
				stopped = true;
				break;
			}
			/* a process that just exited is only in the picture before: keep
			 * it for the leak report's stacks */
			if (env->leaks && picture && fresh->proc_count < picture->proc_count) {
				picture__put(before_exit);
				before_exit = picture;
			} else {
				picture__put(picture);
			}
			picture = fresh;
			session__update_trend(session, picture);
			now = clock__monotonic_ns();
			if (windowed && !window) {
				/* the first picture opens the window; each later one stands
				 * for the time since the one before */
				start_unix_ns = picture->time_unix_ns;
				window_start_ns = now;
				window = window__new(env->format, env->interval_ns, picture->totals,
						     &session->render_opts);
				if (!window) {
					fprintf(stderr, "parkwatch: out of memory\n");
					break;
				}
			} else if (window && window__add(window, picture, now - last_ns)) {
				fprintf(stderr, "parkwatch: out of memory\n");
				break;
			}
			last_ns = now;
		}
		/* by --comm, processes come and go: only -p's end the watch */
		if (env->pid_count && !session__check_exits(session, collected ? picture : NULL,
							    NULL) && !env->comm_count) {
			all_exited = true;
			break;
		}
		now = clock__monotonic_ns();
		if (picture && now < end_ns)
			show_interval(session, picture, now - start_ns, windowed);
		next_ns += env->interval_ns;
		if (next_ns > end_ns)
			next_ns = end_ns;
		if (now >= end_ns)
			break;
		/* a window samples at dithered times: a fixed period would alias
		 * with periodic workloads; the weights are the measured gaps */
		wake_ns = next_ns;
		if (windowed && next_ns < end_ns) {
			wake_ns = next_ns - env->interval_ns / 2 + (__u64)random() % env->interval_ns;
			if (wake_ns > end_ns)
				wake_ns = end_ns;
		}
		/* a key or a resize draws the same picture again at once */
		while ((waited = terminal__wait(&session->term, wake_ns, -1)) == WAIT_REDRAW) {
			session->term.redraw_asked = false;
			if (picture)
				show_interval(session, picture, clock__monotonic_ns() - start_ns,
					      windowed);
		}
		if (waited == WAIT_STOP) {
			stopped = true;
			break;
		}
	}
	terminal__close(&session->term);
	if ((windowed || env->output_path || env->leaks) && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	/* the last word: a fresh picture when stopped early (the loop just took
	 * one when the duration ended), or the last one if the targets are gone
	 * or a stop already cut one.  The signals are no longer watched: it gets
	 * LAST_WORD_NS, and if cut short there the last whole picture stands */
	if (!all_exited && !cut_midway && (stopped || !window)) {
		__u64 deadline_ns = clock__monotonic_ns() + LAST_WORD_NS;
		struct stop_check signals = session->stop;
		struct pw_picture *fresh = NULL;

		session->stop = (struct stop_check){ past_deadline, &deadline_ns };
		if (session__collect(session, &fresh) != 0)
			fresh = NULL;
		session->stop = signals;
		if (fresh && fresh->cut_short) {
			picture__put(fresh);
		} else if (fresh) {
			__u64 now = clock__monotonic_ns();

			picture__put(picture);
			picture = fresh;
			session__update_trend(session, picture);
			if (window && window__add(window, picture, now - last_ns))
				fprintf(stderr, "parkwatch: out of memory: the profile misses the "
						"last picture\n");
			last_ns = now;
		}
	}
	code = EXIT_OK;
	if (picture && shows_table(env) && session->tty_out && !env->final_dump) {
		/* a terminal keeps one screen: the table as the user last saw it */
		struct live_screen screen = table_screen(session);

		live__summary(session->live, stdout, picture, last_ns - start_ns, &screen,
			      session->trend);
	} else if (picture || window) {
		live__leave(session->live, stdout);
		if (session->tty_out && shows_table(env))
			fputs("\n", stdout);
		code = session__write_result(session, picture, before_exit, window, start_unix_ns,
				    last_ns - (window ? window_start_ns : start_ns));
	} else {
		live__leave(session->live, stdout);
	}
	window__free(window);
	picture__put(picture);
	picture__put(before_exit);
	/* suspects found outrank a target that died (perhaps of its leak) */
	if (code)
		return code;
	return all_exited ? EXIT_ALL_EXITED : EXIT_OK;
}


/* What /metrics and the renderers say besides the picture; lock held. */
static void publish_context(struct session *session)
{
	const struct env *env = session->env;
	struct metrics_input *metrics = &session->feed.metrics;

	metrics->top_k = env->metrics_top_k;
	tracker__stats(session->tracker, &metrics->bpf_stats);
	metrics->dropped = metrics->bpf_stats.exited_dropped;
	metrics->snapshot_seconds = collector__last_tick_ns(session->collector) / 1e9;
	metrics->snapshots = collector__ticks(session->collector);
	metrics->symbol_cache_entries = collector__symbol_count(session->collector);
	collector__cache_stats(session->collector, &metrics->symbol_cache);
	metrics->trend = session->trend;
	session->feed.ctx = session->ctx;
}

/* Answers the server's requests for one process's goroutines (taken with
 * the lock held, read without it: the loop's caches are its own). */
static void answer_requests(struct session *session)
{
	struct feed *feed = &session->feed;
	struct feed_request *requests, *request;

	pthread_mutex_lock(&feed->lock);
	requests = feed__take_requests(feed);
	pthread_mutex_unlock(&feed->lock);
	for (request = requests; request; request = request->next)
		request->err = collector__goroutines(session->collector, request->pid,
						     &request->picture);
	pthread_mutex_lock(&feed->lock);
	while (requests) {
		request = requests;
		requests = request->next; /* before the answer: the request then goes away */
		feed__answer(feed, request);
	}
	pthread_mutex_unlock(&feed->lock);
}

/*
 * --http: take a picture every interval and publish it for the server's
 * threads.  The picture is built outside the feed's lock and published by
 * a pointer swap; between pictures the loop answers the server's requests.
 */
int run__daemon(struct session *session)
{
	const struct env *env = session->env;
	struct feed *feed = &session->feed;
	__u64 start_ns = clock__monotonic_ns(), next_ns = start_ns;
	__u64 end_ns = env->duration_ns ? start_ns + env->duration_ns : UINT64_MAX;
	bool all_exited = false, stop = false;
	char reason[512];

	feed->interval_ns = env->interval_ns;
	feed->bpf_attached = session->tracker != NULL; /* session__open attached them */
	if (http__start(session->server, reason, sizeof(reason))) {
		fprintf(stderr, "parkwatch: %s\n", reason);
		return EXIT_FAILURE_OTHER;
	}
	if (strncmp(http__url(session->server), HTTP_UNIX_PREFIX, strlen(HTTP_UNIX_PREFIX)))
		fprintf(stderr, "parkwatch: serving %s/metrics and /debug/pprof/ (Ctrl-C stops)\n",
			http__url(session->server));
	else
		fprintf(stderr, "parkwatch: serving /metrics and /debug/pprof/ on %s (Ctrl-C "
				"stops)\n", http__url(session->server));
	while (!stop) {
		struct pw_picture *fresh = NULL;
		enum wait_result waited;

		session__collect(session, &fresh);
		if (env->pid_count && !session__check_exits(session, fresh, NULL) &&
		    !env->comm_count)
			all_exited = true;
		pthread_mutex_lock(&feed->lock);
		if (fresh) {
			session__update_trend(session, fresh);
			feed__publish(feed, fresh, clock__monotonic_ns());
		}
		publish_context(session);
		pthread_mutex_unlock(&feed->lock);
		next_ns += env->interval_ns;
		if (next_ns > end_ns)
			next_ns = end_ns;
		if (all_exited)
			break;
		do {
			waited = terminal__wait(&session->term, next_ns, feed->wake_fd);
			if (waited == WAIT_WOKEN)
				answer_requests(session);
		} while (waited == WAIT_WOKEN);
		stop = waited == WAIT_STOP || clock__monotonic_ns() >= end_ns;
	}
	http__stop(session->server);
	session->server = NULL;
	answer_requests(session); /* none may wait on a loop that is gone */
	return all_exited ? EXIT_ALL_EXITED : EXIT_OK;
}

int run__dump(struct session *session)
{
	const struct env *env = session->env;
	struct pw_picture *picture;
	int code;

	if (session__collect(session, &picture))
		return EXIT_FAILURE_OTHER;
	code = session__write_result(session, picture, NULL, NULL, 0, 0);
	if (!code && env->pid_count && !picture->proc_count) {
		size_t unseen;

		/* each process that is gone, or runs unseen, is said by name */
		if (!session__check_exits(session, picture, &unseen))
			code = EXIT_ALL_EXITED;
		else if (unseen)
			code = EXIT_NOT_VISIBLE;
	}
	/* threads that wait for good, after the whole dump is out; leaks win */
	if (!code && blocked__stuck_findings(picture))
		code = EXIT_DEADLOCK_FOUND;
	picture__put(picture);
	return code;
}
