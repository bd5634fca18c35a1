// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* What a run of the CLI holds, from open to close (session.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/output.h"
#include "cli/preflight.h"
#include "cli/session.h"
#include "model/pw_stats.h"
#include "out/leaks.h"
#include "util/broker.h"
#include "util/clock.h"
#include "util/gaveup.h"
#include "util/procfs.h"

#define BTF_PATH "/sys/kernel/btf/vmlinux"

/* The size of the BPF map of exited threads' totals, when the environment
 * sets one (the tests fill a small one); 0: the default. */
#define EXITED_CAPACITY_ENV "PARKWATCH_EXITED_CAPACITY"
#define EXITED_CAPACITY_MAX (1UL << 24)

static int exited_capacity(size_t *capacity)
{
	const char *text = getenv(EXITED_CAPACITY_ENV);
	unsigned long value;
	char *end;

	*capacity = 0;
	if (!text)
		return 0;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno || !value ||
	    value > EXITED_CAPACITY_MAX) {
		fprintf(stderr, "parkwatch: %s: not a number of entries from 1 to %lu\n",
			EXITED_CAPACITY_ENV, EXITED_CAPACITY_MAX);
		return -EINVAL;
	}
	*capacity = value;
	return 0;
}

int session__open_tracker(struct session *session)
{
	const struct env *env = session->env;
	struct tracker_opts opts = {
		.pids = env->pids,
		.pid_count = env->pid_count,
		.comms = env->comms,
		.comm_count = env->comm_count,
		.min_park_ns = env->min_park_ns,
		.kernel_stacks = env->kernel_stacks,
	};
	char reason[640];
	int err, code;

	if (access(BTF_PATH, R_OK)) {
		fprintf(stderr, "parkwatch: no kernel BTF at %s (needs a kernel built with "
				"CONFIG_DEBUG_INFO_BTF=y)\n", BTF_PATH);
		return EXIT_UNSUPPORTED;
	}
	if ((code = preflight__check_capabilities(env->keep_privileges)))
		return code;
	if (env->cgroup_path && (code = preflight__cgroup_id(env->cgroup_path, &opts.cgroup_id)))
		return code;
	if (exited_capacity(&opts.exited_capacity))
		return EXIT_USAGE;
	for (size_t i = 0; i < env->pid_count; i++)
		session->watched_start[i] = procfs__start_ticks(env->pids[i]);
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
	if (env->kernel_stacks && (err = ksyms__load("/proc/kallsyms", &session->ksyms)))
		fprintf(stderr, "parkwatch: /proc/kallsyms: %s; kernel frames stay unnamed\n",
			strerror(-err));
	return EXIT_OK;
}


int session__collect(struct session *session, struct pw_picture **out)
{
	int err;

	broker__check();
	err = collector__tick(session->collector, out);

	if (err)
		fprintf(stderr, "parkwatch: taking a snapshot: %s\n", strerror(-err));
	return err;
}


/* Feeds a new picture to the leak trends. */
void session__update_trend(struct session *session, const struct pw_picture *picture)
{
	int err = trend__update(session->trend, picture, clock__monotonic_ns());

	if (err && !session->trend_warned) {
		fprintf(stderr, "parkwatch: leak trend: %s (the trend misses some pictures)\n",
			strerror(-err));
		session->trend_warned = true;
	}
}


int session__create_trend(struct session *session)
{
	const struct env *env = session->env;
	struct trend_opts opts;

	options__trend_opts(env, &opts);
	session->trend = trend__new(&opts);
	if (!session->trend) {
		fprintf(stderr, "parkwatch: leak trend: %s\n", strerror(errno));
		return errno == EINVAL ? EXIT_USAGE : EXIT_FAILURE_OTHER;
	}
	session->ctx.trend = session->trend;
	return EXIT_OK;
}


int session__open_output(struct session *session)
{
	const struct env *env = session->env;
	int err = output__open(&session->out, env->output_path, env->keep_privileges);

	if (err) {
		fprintf(stderr, "parkwatch: %s: %s (%s)\n", env->output_path, strerror(-err),
			err == -ENXIO ? "a FIFO needs a reader" :
					"check the directory exists and is writable");
		return EXIT_FAILURE_OTHER;
	}
	session->out_open = true;
	return EXIT_OK;
}

/* The final result: to stdout or, with -o, atomically to the file. */
int session__write_result(struct session *session, const struct pw_picture *picture,
			const struct pw_picture *before_exit, struct window *window,
			__u64 window_start_unix_ns, __u64 window_ns)
{
	const struct env *env = session->env;
	bool suspects_found = false;
	struct output *out = &session->out;
	int err;

	if (!session->out_open && session__open_output(session))
		return EXIT_FAILURE_OTHER;
	session->out_open = false; /* committed or aborted below */
	if (env->leaks)
		err = leaks__write(out->stream, env->format, session->trend, picture, before_exit,
				   window_ns);
	else if (window)
		err = window__write(window, out->stream, window_start_unix_ns, window_ns, picture,
				    session->trend);
	else
		err = render__write(out->stream, env->format, picture, &session->ctx,
				    &session->render_opts);
	if (env->leaks && err > 0) {
		suspects_found = true;
		err = 0;
	}
	err = err ? output__abort(out, err) : output__commit(out);
	if (err) {
		fprintf(stderr, "parkwatch: writing %s: %s\n",
			env->output_path ? env->output_path : "the output", strerror(-err));
		return EXIT_FAILURE_OTHER;
	}
	return suspects_found ? EXIT_LEAKS_FOUND : EXIT_OK;
}


/* A live watched process of which the picture holds no thread: --cgroup
 * leaves it out, or the kernel's task iterator never showed it (a process
 * a security module hides, as some sandboxes' init). */
static void note_unseen(struct session *session, size_t i)
{
	const struct env *env = session->env;

	if (session->unseen_noted[i])
		return;
	session->unseen_noted[i] = true;
	if (env->cgroup_path)
		fprintf(stderr, "parkwatch: process %d is running, but none of its threads is "
				"in cgroup %s\n", env->pids[i], env->cgroup_path);
	else
		fprintf(stderr, "parkwatch: process %d is running, but the kernel showed parkwatch "
				"none of its threads\n", env->pids[i]);
}

size_t session__check_exits(struct session *session, const struct pw_picture *picture,
			    size_t *unseen)
{
	const struct env *env = session->env;
	size_t alive = 0;

	if (unseen)
		*unseen = 0;

	for (size_t i = 0; i < env->pid_count; i++) {
		pid_t pid = env->pids[i];
		bool known = false;

		for (size_t e = 0; e < session->exited_count; e++)
			known |= session->exited[e] == pid;
		if (known)
			continue;
		if (preflight__process_alive(pid) && (!session->watched_start[i] ||
		    procfs__start_ticks(pid) == session->watched_start[i])) {
			alive++;
			if (picture && picture->cut_short == BUDGET_CUT_NONE &&
			    !picture__process(picture, pid)) {
				note_unseen(session, i);
				if (unseen)
					++*unseen;
			}
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


int session__open_http(struct session *session)
{
	const struct env *env = session->env;
	struct http_opts opts = {
		.address = env->http_address,
		.auth_file = env->http_auth_file,
		.tls_cert_file = env->http_tls_cert,
		.tls_key_file = env->http_tls_key,
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

#define MIB (1024.0 * 1024.0)

/* The symbol cache's line, when its budget made it evict: lookups then
 * read files again, and a larger --memory-limit would spare that. */
static void say_cache(const struct session *session)
{
	struct bytelru_stats cache;
	__u64 lookups;

	if (!session->collector)
		return;
	collector__cache_stats(session->collector, &cache);
	if (!cache.evictions)
		return;
	lookups = cache.hits + cache.misses;
	fprintf(stderr,
		"parkwatch: symbol cache: %llu evictions at its %.1f MiB limit, %.1f MiB held in "
		"%zu files, %llu of %llu lookups hits (%.0f%%) (a larger --memory-limit reads "
		"files less often)\n",
		(unsigned long long)cache.evictions, cache.limit_bytes / MIB, cache.bytes / MIB,
		cache.entries, (unsigned long long)cache.hits, (unsigned long long)lookups,
		lookups ? 100.0 * cache.hits / lookups : 0.0);
}

void session__say_gave_up(const struct session *session)
{
	struct pw_stats stats;
	char line[512];

	if (session->tracker && !tracker__stats(session->tracker, &stats) &&
	    pw_stats__summary(&stats, line, sizeof(line)))
		fprintf(stderr, "parkwatch: BPF gave up: %s\n", line);
	if (gaveup__summary(line, sizeof(line)))
		fprintf(stderr, "parkwatch: gave up: %s\n", line);
	say_cache(session);
}

void session__close(struct session *session)
{
	terminal__close(&session->term);
	http__stop(session->server);
	session->server = NULL;
	trend__free(session->trend);
	live__free(session->live);
	collector__free(session->collector);
	ksyms__free(session->ksyms);
	tracker__free(session->tracker);
	if (session->feed_ready)
		feed__destroy(&session->feed);
	if (session->out_open)
		output__abort(&session->out, 0);
	privileges__close(&session->privileges);
	memset(session, 0, sizeof(*session));
}
