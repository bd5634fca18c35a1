// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The parkwatch CLI: parse options, check the targets and the kernel, load
 * the BPF side, then either print one snapshot (--dump) or refresh a live
 * view until the duration ends, the user quits or a signal arrives, and
 * print what was collected on the way out.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/options.h"
#include "cli/output.h"
#include "cli/preflight.h"
#include "cli/privileges.h"
#include "cli/terminal.h"
#include "collect/collector.h"
#include "kernel/tracker.h"
#include "out/leaks.h"
#include "out/live.h"
#include "out/render.h"
#include "out/window.h"
#include "serve/http.h"
#include "trend/trend.h"
#include "util/clock.h"
#include "util/format.h"

#define BTF_PATH "/sys/kernel/btf/vmlinux"

static struct env env;

struct session {
	struct tracker *tracker;
	struct collector *collector;
	struct ksyms *ksyms;
	struct live *live;
	struct render_opts render_opts;
	struct pw_context ctx;      /* what renderers read besides the picture */
	pid_t exited[PARK_MAX_WATCHED];
	size_t exited_count;
	struct terminal term;
	bool tty_out;
	struct feed feed;
	bool feed_ready;
	struct http_server *server; /* --http: bound before privileges are dropped */
	struct trend *trend;        /* leak evidence; NULL for a one-off --dump */
	bool trend_warned;          /* a failed trend update was said once */
};

static int open_tracker(struct session *session)
{
	struct tracker_opts opts = {
		.pids = env.pids,
		.pid_count = env.pid_count,
		.min_park_ns = env.min_park_ns,
		.kernel_stacks = env.kernel_stacks,
	};
	char reason[640];
	int err, code;

	if (access(BTF_PATH, R_OK)) {
		fprintf(stderr, "parkwatch: no kernel BTF at %s (needs a kernel built with "
				"CONFIG_DEBUG_INFO_BTF=y)\n", BTF_PATH);
		return EXIT_UNSUPPORTED;
	}
	if (!preflight__may_load_bpf()) {
		fprintf(stderr, "parkwatch: permission denied: loading BPF needs root or CAP_BPF, "
				"CAP_PERFMON and CAP_SYS_PTRACE (run with sudo)\n");
		return EXIT_PERMISSION;
	}
	if (env.cgroup_path && (code = preflight__cgroup_id(env.cgroup_path, &opts.cgroup_id)))
		return code;
	err = tracker__open(&opts, &session->tracker, reason, sizeof(reason));
	if (err == -EPERM || err == -EACCES) {
		fprintf(stderr, "parkwatch: %s (run as root)\n", reason);
		return EXIT_PERMISSION;
	}
	if (err) {
		fprintf(stderr, "parkwatch: %s (needs Linux 6.1+ with BTF, tp_btf and sleepable task "
				"iterators)\n", reason);
		return EXIT_UNSUPPORTED;
	}
	if (env.kernel_stacks && (err = ksyms__load("/proc/kallsyms", &session->ksyms)))
		fprintf(stderr, "parkwatch: /proc/kallsyms: %s; kernel frames stay unnamed\n",
			strerror(-err));
	return EXIT_OK;
}

static int collect(struct session *session, struct pw_picture **out)
{
	int err = collector__tick(session->collector, out);

	if (err)
		fprintf(stderr, "parkwatch: taking a snapshot: %s\n", strerror(-err));
	return err;
}

/* Feeds a new picture to the leak trends. */
static void update_trend(struct session *session, const struct pw_picture *picture)
{
	int err = trend__update(session->trend, picture, clock__monotonic_ns());

	if (err && !session->trend_warned) {
		fprintf(stderr, "parkwatch: leak trend: %s (the trend misses some pictures)\n",
			strerror(-err));
		session->trend_warned = true;
	}
}

static int create_trend(struct session *session)
{
	struct trend_opts opts;

	trend__default_opts(&opts);
	if (env.leak_window_ns)
		opts.window_ns = env.leak_window_ns;
	if (env.leak_min_span_ns)
		opts.min_span_ns = env.leak_min_span_ns;
	if (opts.min_span_ns > opts.window_ns)
		opts.min_span_ns = opts.window_ns;
	if (env.leak_min_slope >= 0)
		opts.min_slope_per_min = env.leak_min_slope;
	session->trend = trend__new(&opts);
	if (!session->trend) {
		fprintf(stderr, "parkwatch: leak trend: %s\n", strerror(errno));
		return errno == EINVAL ? EXIT_USAGE : EXIT_FAILURE_OTHER;
	}
	session->ctx.trend = session->trend;
	return EXIT_OK;
}

/* The final result: to stdout or, with -o, atomically to the file. */
static int write_result(struct session *session, const struct pw_picture *picture,
			const struct pw_picture *before_exit, struct window *window,
			__u64 window_start_unix_ns, __u64 window_ns)
{
	bool suspects_found = false;
	struct output out;
	int err = output__open(&out, env.output_path);

	if (err) {
		fprintf(stderr, "parkwatch: %s: %s (check the directory exists and is writable)\n",
			env.output_path, strerror(-err));
		return EXIT_FAILURE_OTHER;
	}
	if (env.leaks)
		err = leaks__write(out.stream, env.format, session->trend, picture, before_exit,
				   window_ns);
	else if (window)
		err = window__write(window, out.stream, window_start_unix_ns, window_ns, picture,
				    session->trend);
	else
		err = render__write(out.stream, env.format, picture, &session->ctx,
				    &session->render_opts);
	if (env.leaks && err > 0) {
		suspects_found = true;
		err = 0;
	}
	if (!err)
		err = output__commit(&out);
	else
		output__abort(&out);
	if (err) {
		fprintf(stderr, "parkwatch: writing %s: %s\n",
			env.output_path ? env.output_path : "the output", strerror(-err));
		return EXIT_FAILURE_OTHER;
	}
	return suspects_found ? EXIT_LEAKS_FOUND : EXIT_OK;
}

/* Notes watched processes that exited; returns how many are still alive. */
static size_t check_exits(struct session *session)
{
	size_t alive = 0;

	for (size_t i = 0; i < env.pid_count; i++) {
		pid_t pid = env.pids[i];
		bool known = false;

		for (size_t e = 0; e < session->exited_count; e++)
			known |= session->exited[e] == pid;
		if (known)
			continue;
		if (preflight__process_alive(pid)) {
			alive++;
			continue;
		}
		session->exited[session->exited_count++] = pid;
		tracker__unwatch(session->tracker, pid);
		fprintf(stderr, "parkwatch: process %d exited\n", pid);
	}
	session->ctx.exited = session->exited;
	session->ctx.exited_count = session->exited_count;
	return alive;
}

/* Shows one interval's picture; nothing when the result goes to a file or
 * a window is being sampled. */
static void show_interval(struct session *session, const struct pw_picture *picture,
			  __u64 elapsed_ns, bool windowed)
{
	if (windowed || env.output_path || env.leaks) {
		if (isatty(STDERR_FILENO)) {
			char elapsed[32];

			format__age_short(elapsed_ns, elapsed, sizeof(elapsed));
			fprintf(stderr, "\rparkwatch: %s, %zu parked threads%s", elapsed,
				picture->parked_count, env.duration_ns ? "" : " (Ctrl-C ends)");
		}
		return;
	}
	if (env.format == PW_FORMAT_JSON)
		json__write(stdout, picture, &session->ctx, &session->render_opts);
	else
		live__render(session->live, stdout, picture, elapsed_ns, session->term.keys,
			     session->tty_out ? terminal__rows() : 0, session->trend);
	fflush(stdout);
}

/*
 * Takes a picture every interval until the duration ends, the user quits, a
 * signal arrives or every watched process is gone; then writes the result:
 * the last picture, or for pprof/folded the window of all of them.
 */
static int run_live(struct session *session)
{
	bool windowed = env.format == PW_FORMAT_PPROF || env.format == PW_FORMAT_FOLDED;
	__u64 start_ns = clock__monotonic_ns(), next_ns = start_ns, last_ns = start_ns;
	__u64 end_ns = env.duration_ns ? start_ns + env.duration_ns : UINT64_MAX;
	struct window *window = NULL;
	struct pw_picture *picture = NULL, *before_exit = NULL;
	__u64 start_unix_ns = 0, window_start_ns = 0;
	bool all_exited = false, stopped = false;
	int code;

	terminal__keys_on(&session->term);
	srandom((unsigned int)start_ns ^ (unsigned int)getpid());
	for (;;) {
		struct pw_picture *fresh;
		__u64 now, wake_ns;

		if (collect(session, &fresh) == 0) {
			/* a process that just exited is only in the picture before: keep
			 * it for the leak report's stacks */
			if (env.leaks && picture && fresh->proc_count < picture->proc_count) {
				picture__put(before_exit);
				before_exit = picture;
			} else {
				picture__put(picture);
			}
			picture = fresh;
			update_trend(session, picture);
			now = clock__monotonic_ns();
			if (windowed && !window) {
				/* the first picture opens the window; each later one stands
				 * for the time since the one before */
				start_unix_ns = picture->time_unix_ns;
				window_start_ns = now;
				window = window__new(env.format, env.interval_ns, picture->totals);
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
		if (env.pid_count && !check_exits(session)) {
			all_exited = true;
			break;
		}
		now = clock__monotonic_ns();
		if (picture && now < end_ns)
			show_interval(session, picture, now - start_ns, windowed);
		next_ns += env.interval_ns;
		if (next_ns > end_ns)
			next_ns = end_ns;
		if (now >= end_ns)
			break;
		/* a window samples at dithered times: a fixed period would alias
		 * with periodic workloads; the weights are the measured gaps */
		wake_ns = next_ns;
		if (windowed && next_ns < end_ns) {
			wake_ns = next_ns - env.interval_ns / 2 + (__u64)random() % env.interval_ns;
			if (wake_ns > end_ns)
				wake_ns = end_ns;
		}
		if (terminal__wait(&session->term, wake_ns, -1) == WAIT_STOP) {
			stopped = true;
			break;
		}
	}
	terminal__close(&session->term);
	if ((windowed || env.output_path || env.leaks) && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	/* the last word: a fresh picture when stopped early (the loop just took
	 * one when the duration ended), or the last one if the targets are gone */
	if (!all_exited && (stopped || !window)) {
		struct pw_picture *fresh;

		if (collect(session, &fresh) == 0) {
			__u64 now = clock__monotonic_ns();

			picture__put(picture);
			picture = fresh;
			update_trend(session, picture);
			if (window && window__add(window, picture, now - last_ns))
				fprintf(stderr, "parkwatch: out of memory: the profile misses the "
						"last picture\n");
			last_ns = now;
		}
	}
	code = EXIT_OK;
	if (picture || window) {
		if (session->tty_out && env.format == PW_FORMAT_TEXT && !env.output_path && !env.leaks)
			fputs("\n", stdout);
		code = write_result(session, picture, before_exit, window, start_unix_ns,
				    last_ns - (window ? window_start_ns : start_ns));
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
	struct metrics_input *metrics = &session->feed.metrics;

	metrics->top_k = env.metrics_top_k;
	metrics->dropped = tracker__dropped(session->tracker);
	metrics->snapshot_seconds = collector__last_tick_ns(session->collector) / 1e9;
	metrics->snapshots = collector__ticks(session->collector);
	metrics->symbol_cache_entries = collector__symbol_count(session->collector);
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
static int run_daemon(struct session *session)
{
	struct feed *feed = &session->feed;
	__u64 start_ns = clock__monotonic_ns(), next_ns = start_ns;
	__u64 end_ns = env.duration_ns ? start_ns + env.duration_ns : UINT64_MAX;
	bool all_exited = false, stop = false;
	char reason[512];

	feed->interval_ns = env.interval_ns;
	if (http__start(session->server, reason, sizeof(reason))) {
		fprintf(stderr, "parkwatch: %s\n", reason);
		return EXIT_FAILURE_OTHER;
	}
	fprintf(stderr, "parkwatch: serving %s/metrics and /debug/pprof/ (Ctrl-C stops)\n",
		http__url(session->server));
	while (!stop) {
		struct pw_picture *fresh = NULL;
		enum wait_result waited;

		collect(session, &fresh);
		if (env.pid_count && !check_exits(session))
			all_exited = true;
		pthread_mutex_lock(&feed->lock);
		if (fresh) {
			update_trend(session, fresh);
			feed__publish(feed, fresh, clock__monotonic_ns());
		}
		publish_context(session);
		pthread_mutex_unlock(&feed->lock);
		next_ns += env.interval_ns;
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

static int open_http(struct session *session)
{
	struct http_opts opts = {
		.address = env.http_address,
		.auth_file = env.http_auth_file,
		.tls_cert_file = env.http_tls_cert,
		.tls_key_file = env.http_tls_key,
	};
	char reason[512];
	int err = feed__init(&session->feed);

	if (err) {
		fprintf(stderr, "parkwatch: HTTP feed: %s\n", strerror(-err));
		return EXIT_FAILURE_OTHER;
	}
	session->feed_ready = true;
	err = http__open(&opts, &session->feed, &session->server, reason, sizeof(reason));

	if (!err)
		return EXIT_OK;
	fprintf(stderr, "parkwatch: %s\n", reason);
	return err == -EINVAL || err == -ENOTSUP ? EXIT_USAGE : EXIT_FAILURE_OTHER;
}

int main(int argc, char **argv)
{
	struct session session = { .term.signal_fd = -1 };
	struct collector_opts collector_opts = { 0 };
	int code, err;

	if (options__parse(argc, argv, &env, 0))
		return EXIT_USAGE;
	session.render_opts.debug = env.debug;
	session.render_opts.kernel_stacks = env.kernel_stacks;
	session.tty_out = isatty(STDOUT_FILENO);
	if (env.format == PW_FORMAT_PPROF && !env.output_path && session.tty_out) {
		fprintf(stderr, "parkwatch: not writing a binary profile to a terminal "
				"(use -o FILE or redirect stdout)\n");
		return EXIT_USAGE;
	}

	code = preflight__check_targets(env.pids, env.pid_count);
	if (code)
		return code;
	if (terminal__open(&session.term)) {
		fprintf(stderr, "parkwatch: signal setup: %s\n", strerror(errno));
		return EXIT_FAILURE_OTHER;
	}
	code = open_tracker(&session);
	if (code)
		goto cleanup;
	if (env.http && (code = open_http(&session)))
		goto cleanup;
	if (!env.keep_privileges && (err = privileges__drop()))
		fprintf(stderr, "parkwatch: dropping capabilities: %s (going on with them)\n",
			strerror(-err));
	session.ctx.ksyms = session.ksyms;
	/* a lone -p is shown by its goroutines when it is a Go program */
	collector_opts.go_pid = env.pid_count == 1 && !env.threads ? env.pids[0] : 0;
	session.collector = collector__new(session.tracker, &collector_opts);
	session.live = live__new();
	if (!session.collector || !session.live) {
		fprintf(stderr, "parkwatch: out of memory\n");
		code = EXIT_FAILURE_OTHER;
		goto cleanup;
	}

	if (!env.dump && (code = create_trend(&session)))
		goto cleanup;
	if (env.http) {
		code = run_daemon(&session);
	} else if (env.dump) {
		struct pw_picture *picture;

		if (collect(&session, &picture)) {
			code = EXIT_FAILURE_OTHER;
			goto cleanup;
		}
		code = write_result(&session, picture, NULL, NULL, 0, 0);
		if (!code && env.pid_count && !picture->proc_count) {
			fprintf(stderr, "parkwatch: the watched process%s exited\n",
				env.pid_count > 1 ? "es" : "");
			code = EXIT_ALL_EXITED;
		}
		picture__put(picture);
	} else {
		code = run_live(&session);
	}
	if (!code && (ferror(stdout) || fflush(stdout))) {
		fprintf(stderr, "parkwatch: writing output: %s\n", strerror(errno));
		code = EXIT_FAILURE_OTHER;
	}

cleanup:
	terminal__close(&session.term);
	http__stop(session.server);
	trend__free(session.trend);
	live__free(session.live);
	collector__free(session.collector);
	ksyms__free(session.ksyms);
	tracker__free(session.tracker);
	if (session.feed_ready)
		feed__destroy(&session.feed);
	return code;
}
