// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The parkwatch CLI: parse options, check the targets and the kernel, load
 * the BPF side, then either print one snapshot (--dump) or refresh a live
 * view until the duration ends, the user quits or a signal arrives, and
 * print what was collected on the way out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "util/clock.h"
#include "out/dump.h"
#include "out/export.h"
#include "serve/http.h"
#include "out/leaks.h"
#include "util/format.h"
#include "collect/goreport.h"
#include "collect/goview.h"
#include "out/live.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/preflight.h"
#include "cli/privileges.h"
#include "model/report.h"
#include "model/pw_stats.h"
#include "cli/terminal.h"
#include "kernel/tracker.h"
#include "trend/trend.h"
#include "util/u64map.h"

#define BTF_PATH "/sys/kernel/btf/vmlinux"

static struct env env;

struct session {
	struct tracker *tracker;
	struct procs *procs;
	struct ksyms *ksyms;
	struct live *live;
	struct dump_opts dump_opts;
	struct park_totals *totals;
	size_t totals_count, totals_capacity;
	struct u64map totals_index; /* (tgid, reason) -> index + 1 */
	size_t exited_entries;      /* entries in the BPF map of exited threads */
	struct park_hist reason_hists[PARK_REASON__COUNT];
	pid_t exited[PARK_MAX_WATCHED];
	size_t exited_count;
	struct terminal term;
	bool tty_out;
	struct http_feed feed;
	struct http_server *server; /* --http: bound before privileges are dropped */
	struct trend *trend;        /* leak evidence; NULL for a one-off --dump */
	__u64 snapshots;
	__u64 last_snapshot_ns;
	struct goreport_ages go_ages; /* goroutine mode: when each goroutine was first seen */
	bool go_off;                /* the watched process is not a readable Go program */
	int go_last_err;            /* the last goroutine-reading error said, not to repeat it */
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

/* Adds one (process, reason) count to the session's tier-1 totals. */
static void add_totals(const struct hist_key *key, __u64 count, __u64 total_ns, void *ctx)
{
	struct session *session = ctx;
	__u64 index_key = ((__u64)key->tgid << 8 | key->reason) + 1;
	uintptr_t index = (uintptr_t)u64map__get(&session->totals_index, index_key);
	struct park_totals *totals;

	if (!index) {
		if (session->totals_count == session->totals_capacity) {
			size_t capacity = session->totals_capacity ? session->totals_capacity * 2 : 64;

			totals = realloc(session->totals, capacity * sizeof(*totals));
			if (!totals)
				return;
			session->totals = totals;
			session->totals_capacity = capacity;
		}
		index = ++session->totals_count;
		session->totals[index - 1] = (struct park_totals){ .key = *key };
		if (u64map__put(&session->totals_index, index_key, (void *)index)) {
			session->totals_count--;
			return;
		}
	}
	session->totals[index - 1].count += count;
	session->totals[index - 1].total_ns += total_ns;
}

/*
 * Tier-1 totals per (process, reason): exited threads' from their BPF map,
 * read before the snapshot (a thread that exits in between is then missed
 * once, never counted twice), live threads' from their records.
 */
static void gather_totals(struct session *session, const struct snapshot *snap)
{
	for (size_t i = 0; i < snap->count; i++) {
		const struct task_record *rec = snap->threads[i].rec;

		for (__u32 reason = 0; reason < PARK_REASON__COUNT; reason++) {
			struct hist_key key = { .tgid = rec->tgid, .reason = reason };

			if (rec->counts.parks[reason])
				add_totals(&key, rec->counts.parks[reason],
					   rec->counts.parked_ns[reason], session);
		}
	}
	tracker__reason_hists(session->tracker, session->reason_hists);
	session->dump_opts.totals = session->totals;
	session->dump_opts.totals_count = session->totals_count;
	session->dump_opts.reason_hists = session->reason_hists;
}

static int collect(struct session *session, struct report **out)
{
	__u64 started_ns = clock__monotonic_ns();
	struct snapshot *snap;
	int err;

	session->totals_count = 0;
	u64map__clear(&session->totals_index);
	err = tracker__for_each_exited(session->tracker, add_totals, session);
	session->exited_entries = err > 0 ? err : 0;
	err = snapshot__collect(session->tracker, &snap);
	if (!err) {
		gather_totals(session, snap);
		err = report__build(snap, session->procs, session->ksyms, out);
	}
	if (err) {
		fprintf(stderr, "parkwatch: taking a snapshot: %s\n", strerror(-err));
		return err;
	}
	session->snapshots++;
	session->last_snapshot_ns = clock__monotonic_ns() - started_ns;
	return 0;
}

/* Feeds a new picture to the leak trends. */
static void update_trend(struct session *session, const struct report *report)
{
	static bool warned;
	int err = trend__update(session->trend, report, clock__monotonic_ns());

	if (err && !warned) {
		fprintf(stderr, "parkwatch: leak trend: %s (the trend misses some pictures)\n",
			strerror(-err));
		warned = true;
	}
}

static int create_trend(struct session *session)
{
	struct trend_opts opts;

	trend_opts__defaults(&opts);
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
	session->dump_opts.trend = session->trend;
	return EXIT_OK;
}

/* The final result: to stdout or, with -o, atomically to the file. */
static int write_result(struct session *session, const struct report *report,
			const struct report *before_exit, const struct goreport *goroutines,
			struct window *window, __u64 window_start_unix_ns, __u64 window_ns)
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
		err = leaks__write(out.stream, env.format, session->trend, report, before_exit,
				   window_ns);
	else if (goroutines)
		err = goreport__write(out.stream, env.format, env.debug, goroutines, session->trend);
	else if (window)
		err = window__write(window, out.stream, window_start_unix_ns, window_ns,
				    session->totals, session->totals_count, report, session->trend);
	else
		err = export__snapshot(out.stream, env.format, report, &session->dump_opts);
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

/*
 * The goroutines of a Go program, as its runtime would list them; NULL when
 * the thread view should be shown instead: not a Go program, or one whose
 * goroutines can't be read (said in one line).
 */
static struct goreport *read_goroutines(struct session *session, pid_t pid)
{
	struct goreport *goroutines = NULL;
	int err = goreport__read(session->procs, pid, &goroutines);

	if (err && err != -ENOEXEC && err != session->go_last_err)
		fprintf(stderr, "parkwatch: process %d: %s; showing its threads\n", pid,
			goreport__strerror(err));
	session->go_last_err = err;
	if (err == -ENOEXEC || err == -ENODATA)
		session->go_off = true;
	return err ? NULL : goroutines;
}

/*
 * A picture for the live view, the trends and /metrics: with one -p that is
 * a Go program (and no --threads), its goroutines dressed as a report
 * (goview.h); else the threads.  Takes over *report.
 */
static void goroutine_view(struct session *session, struct report **report)
{
	struct goreport *goroutines;
	struct report *view;
	int err;

	if (env.pid_count != 1 || env.threads || session->go_off || !(*report)->proc_count)
		return;
	goroutines = read_goroutines(session, env.pids[0]);
	if (!goroutines)
		return;
	err = goreport__as_report(goroutines, &session->go_ages, clock__monotonic_ns(), &view);
	if (err) {
		fprintf(stderr, "parkwatch: process %d: goroutines: %s\n", env.pids[0],
			strerror(-err));
		return;
	}
	report__free(*report);
	*report = view;
}

/* collect, then goroutine_view. */
static int collect_view(struct session *session, struct report **out)
{
	int err = collect(session, out);

	if (!err)
		goroutine_view(session, out);
	return err;
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
	session->dump_opts.exited_pids = session->exited;
	session->dump_opts.exited_count = session->exited_count;
	return alive;
}

/* Shows one interval's picture; nothing when the result goes to a file or
 * a window is being sampled. */
static void show_interval(struct session *session, const struct report *report,
			  __u64 elapsed_ns, bool windowed)
{
	if (windowed || env.output_path || env.leaks) {
		if (isatty(STDERR_FILENO)) {
			char elapsed[32];

			format__age_short(elapsed_ns, elapsed, sizeof(elapsed));
			fprintf(stderr, "\rparkwatch: %s, %zu parked threads%s", elapsed,
				report->parked_count, env.duration_ns ? "" : " (Ctrl-C ends)");
		}
		return;
	}
	if (env.format == FORMAT_JSON)
		dump__json(stdout, report, &session->dump_opts);
	else
		live__render(session->live, stdout, report, elapsed_ns, session->term.keys,
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
	bool windowed = env.format == FORMAT_PPROF || env.format == FORMAT_FOLDED;
	__u64 start_ns = clock__monotonic_ns(), next_ns = start_ns, last_ns = start_ns;
	__u64 end_ns = env.duration_ns ? start_ns + env.duration_ns : UINT64_MAX;
	struct window *window = NULL;
	struct report *report = NULL, *before_exit = NULL;
	__u64 start_unix_ns = 0, window_start_ns = 0;
	bool all_exited = false, stopped = false;
	int code;

	terminal__keys_on(&session->term);
	srandom((unsigned int)start_ns ^ (unsigned int)getpid());
	for (;;) {
		struct report *fresh;
		__u64 now, wake_ns;

		if (collect_view(session, &fresh) == 0) {
			/* a process that just exited is only in the picture before: keep
			 * it for the leak report's stacks */
			if (env.leaks && report && fresh->proc_count < report->proc_count &&
			    report__detach(report) == 0) {
				report__free(before_exit);
				before_exit = report;
			} else {
				report__free(report);
			}
			report = fresh;
			update_trend(session, report);
			now = clock__monotonic_ns();
			if (windowed && !window) {
				/* the first picture opens the window; each later one stands
				 * for the time since the one before */
				start_unix_ns = report->time_unix_ns;
				window_start_ns = now;
				window = window__new(env.format, env.interval_ns, session->totals,
						     session->totals_count);
				if (!window) {
					fprintf(stderr, "parkwatch: out of memory\n");
					break;
				}
			} else if (window && window__add(window, report, now - last_ns)) {
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
		if (report && now < end_ns)
			show_interval(session, report, now - start_ns, windowed);
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
		if (!terminal__wait(&session->term, wake_ns)) {
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
		struct report *fresh;

		if (collect_view(session, &fresh) == 0) {
			__u64 now = clock__monotonic_ns();

			report__free(report);
			report = fresh;
			update_trend(session, report);
			if (window)
				window__add(window, report, now - last_ns);
			last_ns = now;
		}
	}
	code = EXIT_OK;
	if (report || window) {
		if (session->tty_out && env.format == FORMAT_TEXT && !env.output_path && !env.leaks)
			fputs("\n", stdout);
		/* goroutine mode ends with the goroutines as --dump shows them */
		code = write_result(session, report, before_exit,
				    report && !window ? report->goroutines : NULL, window, start_unix_ns,
				    last_ns - (window ? window_start_ns : start_ns));
	}
	window__free(window);
	report__free(report);
	report__free(before_exit);
	/* suspects found outrank a target that died (perhaps of its leak) */
	if (code)
		return code;
	return all_exited ? EXIT_ALL_EXITED : EXIT_OK;
}

/* What /metrics says besides the report; lock held. */
static void publish_metrics(struct session *session)
{
	struct metrics_input *metrics = &session->feed.metrics;

	metrics->totals = session->totals;
	metrics->totals_count = session->totals_count;
	metrics->reason_hists = session->reason_hists;
	metrics->top_k = env.metrics_top_k;
	tracker__stats(session->tracker, &metrics->bpf_stats);
	metrics->dropped = metrics->bpf_stats.exited_dropped;
	metrics->exited_entries = session->exited_entries;
	metrics->exited_capacity = tracker__exited_capacity(session->tracker);
	metrics->snapshot_seconds = session->last_snapshot_ns / 1e9;
	metrics->snapshots = session->snapshots;
	metrics->symbol_cache_entries = procs__symbol_count(session->procs);
	metrics->trend = session->trend;
	session->feed.dump_opts = session->dump_opts;
}

/*
 * --http: take a picture every interval and publish it for the server's
 * threads.  Collecting happens under the feed's lock because it renews the
 * symbol caches the published report points into.
 */
static int run_daemon(struct session *session)
{
	struct http_feed *feed = &session->feed;
	__u64 start_ns = clock__monotonic_ns(), next_ns = start_ns;
	__u64 end_ns = env.duration_ns ? start_ns + env.duration_ns : UINT64_MAX;
	bool all_exited = false;
	char reason[512];

	feed->interval_ns = env.interval_ns;
	feed->procs = session->procs;
	if (http__start(session->server, reason, sizeof(reason))) {
		fprintf(stderr, "parkwatch: %s\n", reason);
		return EXIT_FAILURE_OTHER;
	}
	fprintf(stderr, "parkwatch: serving %s/metrics and /debug/pprof/ (Ctrl-C stops)\n",
		http__url(session->server));
	for (;;) {
		struct report *fresh;

		pthread_mutex_lock(&feed->lock);
		if (collect_view(session, &fresh) == 0) {
			report__free(feed->report);
			feed->report = fresh;
			update_trend(session, fresh);
		}
		if (env.pid_count && !check_exits(session))
			all_exited = true;
		publish_metrics(session);
		if (feed->report)
			http_feed__advance(feed, clock__monotonic_ns());
		pthread_mutex_unlock(&feed->lock);
		next_ns += env.interval_ns;
		if (next_ns > end_ns)
			next_ns = end_ns;
		if (all_exited || clock__monotonic_ns() >= end_ns || !terminal__wait(&session->term, next_ns))
			break;
	}
	http__stop(session->server);
	session->server = NULL;
	report__free(feed->report);
	feed->report = NULL;
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
	int err = http__open(&opts, &session->feed, &session->server, reason, sizeof(reason));

	if (!err)
		return EXIT_OK;
	fprintf(stderr, "parkwatch: %s\n", reason);
	return err == -EINVAL || err == -ENOTSUP ? EXIT_USAGE : EXIT_FAILURE_OTHER;
}

/* One stderr line at exit when the BPF side lost anything on the way. */
static void report_gave_up(const struct tracker *tracker)
{
	struct pw_stats stats;
	char line[512];

	if (tracker && !tracker__stats(tracker, &stats) &&
	    pw_stats__summary(&stats, line, sizeof(line)))
		fprintf(stderr, "parkwatch: BPF gave up: %s\n", line);
}

int main(int argc, char **argv)
{
	struct session session = { .term.signal_fd = -1 };
	int code, err;

	if (options__parse(argc, argv, &env, 0))
		return EXIT_USAGE;
	session.dump_opts.debug = env.debug;
	session.dump_opts.kernel_stacks = env.kernel_stacks;
	session.tty_out = isatty(STDOUT_FILENO);
	http_feed__init(&session.feed);
	if (env.format == FORMAT_PPROF && !env.output_path && session.tty_out) {
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
	session.procs = procs__new();
	session.live = live__new();
	if (!session.procs || !session.live) {
		fprintf(stderr, "parkwatch: out of memory\n");
		code = EXIT_FAILURE_OTHER;
		goto cleanup;
	}

	if (!env.dump && (code = create_trend(&session)))
		goto cleanup;
	if (env.http) {
		code = run_daemon(&session);
	} else if (env.dump) {
		struct report *report;

		if (collect(&session, &report)) {
			code = EXIT_FAILURE_OTHER;
			goto cleanup;
		}
		struct goreport *goroutines = NULL;

		if (env.pid_count == 1 && !env.threads && report->proc_count)
			goroutines = read_goroutines(&session, env.pids[0]);
		code = write_result(&session, report, NULL, goroutines, NULL, 0, 0);
		goreport__free(goroutines);
		if (!code && env.pid_count && !report->proc_count) {
			fprintf(stderr, "parkwatch: the watched process%s exited\n",
				env.pid_count > 1 ? "es" : "");
			code = EXIT_ALL_EXITED;
		}
		report__free(report);
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
	free(session.totals);
	u64map__clear(&session.totals_index);
	live__free(session.live);
	goreport_ages__clear(&session.go_ages);
	procs__free(session.procs);
	ksyms__free(session.ksyms);
	report_gave_up(session.tracker);
	tracker__free(session.tracker);
	http_feed__destroy(&session.feed);
	return code;
}
