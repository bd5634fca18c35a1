// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The parkwatch CLI: parse options, check the targets and the kernel, load
 * the BPF side, then run one way (cli/run.h): one dump, the live view, or
 * the HTTP daemon.  Everything it does is in cli/; this is the order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/fdlimit.h"
#include "cli/options.h"
#include "cli/preflight.h"
#include "cli/privileges.h"
#include "cli/run.h"
#include "cli/session.h"
#include "util/mapguard.h"

/* The one global: the parsed options. */
static struct env env;

static bool stop_requested(void *term)
{
	return terminal__stop_requested(term);
}

static int open_session(struct session *session)
{
	/* a lone -p is shown by its goroutines when it is a Go program */
	struct collector_opts collector_opts = {
		.go_pid = env.pid_count == 1 && !env.threads ? env.pids[0] : 0,
		.one_shot = env.dump,
		.go_time_budget_ns = env.go_time_budget_ns,
		.go_memory_budget_bytes = env.go_memory_budget_bytes,
		.symbol_cache_limit_bytes = env.memory_limit_bytes,
		.stop = &session->stop,
	};
	int code, err;

	if ((err = mapguard__install())) {
		fprintf(stderr, "parkwatch: SIGBUS handler: %s\n", strerror(-err));
		return EXIT_FAILURE_OTHER;
	}
	session->stop = (struct stop_check){ stop_requested, &session->term };
	/* before the BPF objects take theirs, and while it may be raised */
	if ((err = fdlimit__raise()))
		fprintf(stderr, "parkwatch: raising the open-file limit: %s (going on with the "
				"soft limit)\n", strerror(-err));
	if (terminal__open(&session->term)) {
		fprintf(stderr, "parkwatch: signal setup: %s\n", strerror(errno));
		return EXIT_FAILURE_OTHER;
	}
	code = session__open_tracker(session);
	if (code)
		return code;
	/* what needs root is done first: the BPF side, -o's file, the port */
	if (env.output_path && (code = session__open_output(session)))
		return code;
	if (!env.keep_privileges &&
	    (err = privileges__start_broker(&session->privileges,
					    session->out_open ? &session->out : NULL))) {
		fprintf(stderr, "parkwatch: starting the privileged broker: %s "
				"(--keep-privileges runs without one)\n", strerror(-err));
		return EXIT_FAILURE_OTHER;
	}
	if (env.http && (code = session__open_http(session)))
		return code;
	if (!env.keep_privileges && (err = privileges__drop(&session->privileges))) {
		fprintf(stderr, "parkwatch: dropping privileges to user %s: %s "
				"(--keep-privileges runs without dropping)\n", env.user,
			strerror(-err));
		return EXIT_FAILURE_OTHER;
	}
	session->ctx.ksyms = session->ksyms;
	session->collector = collector__new(session->tracker, &collector_opts);
	session->live = live__new();
	if (!session->collector || !session->live) {
		fprintf(stderr, "parkwatch: out of memory\n");
		return EXIT_FAILURE_OTHER;
	}
	return env.dump ? EXIT_OK : session__create_trend(session);
}

int main(int argc, char **argv)
{
	struct session session = { .env = &env, .term.signal_fd = -1,
				   .privileges.broker_socket = -1 };
	int code;

	if (options__parse(argc, argv, &env, 0))
		return EXIT_USAGE;
	session.render_opts.debug = env.debug;
	session.render_opts.kernel_stacks = env.kernel_stacks;
	session.render_opts.folded_root = env.folded_root;
	session.tty_out = isatty(STDOUT_FILENO);
	if (env.format == PW_FORMAT_PPROF && !env.output_path && session.tty_out) {
		fprintf(stderr, "parkwatch: not writing a binary profile to a terminal "
				"(use -o FILE or redirect stdout)\n");
		return EXIT_USAGE;
	}
	if (!env.keep_privileges && privileges__lookup(env.user, &session.privileges)) {
		fprintf(stderr, "parkwatch: --user %s: no such user\n", env.user);
		return EXIT_USAGE;
	}
	code = preflight__check_targets(env.pids, env.pid_count);
	if (code)
		return code;
	if (env.comm_count && !preflight__count_named(env.comms, env.comm_count)) {
		char names[PARK_MAX_COMMS * (PARK_COMM_LEN + 4)];
		size_t len = 0;

		for (size_t i = 0; i < env.comm_count; i++)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						i ? " or " : "", env.comms[i]);
		/* a dump is of the moment; a watch waits for the name to start */
		if (env.dump) {
			fprintf(stderr, "parkwatch: no process named %s (compare with "
					"ps -e -o comm)\n", names);
			return EXIT_NO_PROCESS;
		}
		fprintf(stderr, "parkwatch: no process named %s yet: watching for one\n", names);
	}
	code = open_session(&session);
	if (!code)
		code = env.http ? run__daemon(&session) :
		       env.dump ? run__dump(&session) : run__live(&session);
	/* what was found was printed: a failed write outranks it */
	if ((!code || code == EXIT_LEAKS_FOUND || code == EXIT_DEADLOCK_FOUND) &&
	    (ferror(stdout) || fflush(stdout))) {
		fprintf(stderr, "parkwatch: writing output: %s\n", strerror(errno));
		code = EXIT_FAILURE_OTHER;
	}
	session__say_gave_up(&session);
	session__close(&session);
	return code;
}
