// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* argp option parsing (options.h). */
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/format.h"
#include "cli/options.h"
#include "proc/procs.h"
#include "serve/http_config.h"
#include "trend/trend.h"
#include "util/units.h"

const char *argp_program_bug_address = NULL;

static const char doc[] =
	"parkwatch -- find threads that are parked (off CPU, not runnable), why and since when.\v"
	"Without -p or --comm every process is watched.  With a terminal on stdout parkwatch shows a live "
	"table of parked groups that refreshes every --interval (? lists its keys); q or Ctrl-C "
	"ends it with a one-screen summary (--final-dump: the full dump).  Otherwise it prints one "
	"picture per interval.\n\n"
	"Examples:\n"
	"  sudo parkwatch -p 1234                 live view of one process\n"
	"  sudo parkwatch -p 1234 --dump          every thread, Go goroutine-dump style\n"
	"  sudo parkwatch -p 1234 --dump --debug 1   grouped by stack, with counts\n"
	"  sudo parkwatch --format json --duration 10s   JSON lines, whole machine\n"
	"  sudo parkwatch -p 1234 --dump --format pprof -o parked.pb.gz   one picture's profile\n"
	"  sudo parkwatch -p 1234 --duration 30s --format pprof -o parked.pb.gz   parked time "
	"over 30 s\n"
	"  sudo parkwatch --http --http-auth users   serve /metrics and "
	"/debug/pprof/goroutine?pid=N on 127.0.0.1:9464\n"
	"  sudo parkwatch -p 1234 --leaks --duration 2m   leak report after two minutes\n"
	"  sudo parkwatch --comm redis-server --leaks   every redis-server, restarts too\n\n"
	"With --format pprof or folded and no --dump, parkwatch samples the threads every "
	"--interval until --duration ends (or Ctrl-C) and writes parked time per stack.\n\n"
	"Durations take ns, us, ms, s, m or h (a bare number is seconds).\n\n"
	"Exit status: 0 ok, 1 runtime error, 2 usage error, 3 no such process, 4 permission "
	"denied, 5 kernel unsupported or BPF load failure, 6 every watched process exited, "
	"7 --leaks found suspects, 8 --dump found a deadlock, self-deadlock or abandoned lock, "
	"9 --dump saw none of the watched processes' threads though they run.";

enum {
	OPT_DUMP = 0x100,
	OPT_DEBUG,
	OPT_FORMAT,
	OPT_INTERVAL,
	OPT_DURATION,
	OPT_MIN_PARK,
	OPT_KERNEL_STACKS,
	OPT_CGROUP,
	OPT_HTTP,
	OPT_HTTP_AUTH,
	OPT_HTTP_NO_AUTH,
	OPT_HTTP_TLS_CERT,
	OPT_HTTP_TLS_KEY,
	OPT_METRICS_TOP_K,
	OPT_KEEP_PRIVILEGES,
	OPT_USER,
	OPT_THREADS,
	OPT_LEAKS,
	OPT_LEAK_WINDOW,
	OPT_LEAK_MIN_SPAN,
	OPT_LEAK_MIN_SLOPE,
	OPT_FOLDED_ROOT,
	OPT_GO_TIME_BUDGET,
	OPT_GO_MEMORY_BUDGET,
	OPT_FINAL_DUMP,
	OPT_USAGE,
	OPT_COMM,
	/* the daemon's memory */
	OPT_MEMORY_LIMIT,
};

static const struct argp_option option_list[] = {
	{ "pid", 'p', "PID[,PID...]", 0,
	  "Watch these processes (repeatable; default: every process)", 0 },
	{ "comm", OPT_COMM, "NAME", 0,
	  "Watch the processes named NAME, as /proc/PID/comm shows it, and those that start "
	  "under that name while parkwatch runs (repeatable; adds to -p)", 0 },
	{ "cgroup", OPT_CGROUP, "PATH", 0, "Only threads in this cgroup v2 directory", 0 },
	{ "dump", OPT_DUMP, NULL, 0,
	  "Print one picture, every parked thread with its stack, and exit", 1 },
	{ "debug", OPT_DEBUG, "1|2", 0,
	  "Dump detail: 2 (default) every thread with its stack, 1 groups with counts", 1 },
	{ "format", OPT_FORMAT, "FORMAT", 0,
	  "text (default), json, pprof (gzip'd profile.proto) or folded (flame graph input)", 1 },
	{ "folded-root", OPT_FOLDED_ROOT, NULL, 0,
	  "Folded output: start each stack with its process, \"comm (pid)\", so that processes "
	  "stay apart in a system-wide flame graph", 1 },
	{ "output", 'o', "FILE", 0,
	  "Write the result to FILE (atomically, via a temporary file) instead of stdout", 1 },
	{ "interval", OPT_INTERVAL, "D", 0, "Refresh interval of the live view (default 2s)", 2 },
	{ "duration", OPT_DURATION, "D", 0, "Stop after this long (default: until interrupted)", 2 },
	{ "min-park", OPT_MIN_PARK, "D", 0,
	  "Capture user stacks of threads parked at least this long (default 1s in the live "
	  "view; 0, every parked thread, for --dump and for pprof and folded output)", 2 },
	{ "kernel-stacks", OPT_KERNEL_STACKS, NULL, 0, "Show kernel stacks too", 2 },
	{ "go-time-budget", OPT_GO_TIME_BUDGET, "D", 0,
	  "Longest one Go process's goroutines may take to read, per picture (default 5s; "
	  "0: no limit)", 2 },
	{ "go-memory-budget", OPT_GO_MEMORY_BUDGET, "MIB", 0,
	  "Most memory reading one Go process's goroutines may take, in MiB (default 256; "
	  "0: no limit)", 2 },
	{ "threads", OPT_THREADS, NULL, 0,
	  "For a Go program, show its threads rather than its goroutines", 2 },
	{ "final-dump", OPT_FINAL_DUMP, NULL, 0,
	  "End the live view on a terminal with the full dump, not a one-screen summary", 2 },
	{ "leaks", OPT_LEAKS, NULL, 0,
	  "Watch (for --duration, or until Ctrl-C) and print the leak report: groups whose "
	  "count keeps rising while their threads never wake.  Exit status 7 when there are "
	  "suspects", 4 },
	{ "leak-window", OPT_LEAK_WINDOW, "D", 0,
	  "How far back the growth fit looks (default 5m; longer finds slower leaks)", 4 },
	{ "leak-min-span", OPT_LEAK_MIN_SPAN, "D", 0,
	  "History a group needs before it can be a suspect (default 20s)", 4 },
	{ "leak-min-slope", OPT_LEAK_MIN_SLOPE, "N", 0,
	  "Growth floor in threads per minute (default 0.1)", 4 },
	{ "http", OPT_HTTP, "ADDR", OPTION_ARG_OPTIONAL,
	  "Serve /metrics and /debug/pprof/ on ADDR (default 127.0.0.1:9464; HOST:PORT, "
	  "[IPV6]:PORT, :PORT, which means loopback, or unix:PATH, where each user sees its "
	  "own processes and root every one)", 3 },
	{ "http-auth", OPT_HTTP_AUTH, "FILE", 0,
	  "Require HTTP basic auth with the user:password lines of FILE (needed on TCP)", 3 },
	{ "http-no-auth", OPT_HTTP_NO_AUTH, NULL, 0,
	  "Serve TCP clients without credentials: whoever connects reads every stack", 3 },
	{ "http-tls-cert", OPT_HTTP_TLS_CERT, "FILE", 0, "Serve HTTPS with this PEM certificate", 3 },
	{ "http-tls-key", OPT_HTTP_TLS_KEY, "FILE", 0, "... and this PEM private key", 3 },
	{ "metrics-top-k", OPT_METRICS_TOP_K, "N", 0,
	  "Per-process series for at most N processes, most parked first (default 20)", 3 },
	{ "keep-privileges", OPT_KEEP_PRIVILEGES, NULL, 0,
	  "Stay root with every capability: no broker, no seccomp (for debugging)", 3 },
	{ "user", OPT_USER, "NAME", 0,
	  "The user to run as once the BPF programs are attached (default nobody)", 3 },
	/* argp's own --help and --version go on parsing when its errors are
	 * off (ARGP_NO_ERRS implies ARGP_NO_EXIT): these stop */
	/* the daemon's memory */
	{ "memory-limit", OPT_MEMORY_LIMIT, "SIZE", 0,
	  "Bytes the shared symbol and debug-info cache may hold, K/M/G suffixes (default 64M)",
	  2 },
		{ "help", 'h', NULL, 0, "Give this help list", -1 },
	{ "usage", OPT_USAGE, NULL, 0, "Give a short usage message", -1 },
	{ "version", 'V', NULL, 0, "Print the program version", -1 },
	{ 0 },
};

/* argp's own error output is two lines, one of them under argv[0]'s name:
 * parkwatch prints its errors itself, one line each. */
struct parse_ctx {
	struct env *env;
	bool quiet;     /* the caller passed ARGP_NO_ERRS */
	bool may_exit;  /* ... and not ARGP_NO_EXIT */
	bool reported;  /* an error line is out: argp's generic one is not needed */
};

__attribute__((format(printf, 2, 3)))
static error_t usage_error(struct argp_state *state, const char *fmt, ...)
{
	struct parse_ctx *ctx = state->input;
	va_list ap;

	if (!ctx->quiet) {
		fputs("parkwatch: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	ctx->reported = true;
	return EINVAL;
}

/* --help and --version end the program, unless the caller parses for a test. */
static error_t stop_after_help(const struct parse_ctx *ctx)
{
	if (!ctx->may_exit)
		return 0;
	fflush(stdout);
	exit(ferror(stdout) ? EXIT_FAILURE_OTHER : EXIT_OK);
}

static int parse_duration_arg(struct argp_state *state, const char *name, const char *arg,
			      __u64 *ns)
{
	if (format__parse_duration(arg, ns) == 0)
		return 0;
	return usage_error(state, "invalid %s '%s' (use e.g. 500ms, 2s, 1m)", name, arg);
}

/* -p 1,2,3: each pid digits only (strtol would take " 5" and "+5"), no
 * empty item. */
static error_t parse_pid_list(struct argp_state *state, const char *list)
{
	struct parse_ctx *ctx = state->input;
	struct env *env = ctx->env;
	const char *item = list;

	for (;;) {
		char *end;
		long value;

		errno = 0;
		value = isdigit((unsigned char)item[0]) ? strtol(item, &end, 10) : 0;
		if (errno || value <= 0 || value > INT_MAX || (*end && *end != ','))
			return usage_error(state, "invalid pid list '%s' (positive numbers separated "
					   "by commas, as in -p 1,2,3)", list);
		if (env->pid_count == PARK_MAX_WATCHED)
			return usage_error(state, "too many -p (at most %d)", PARK_MAX_WATCHED);
		env->pids[env->pid_count++] = (pid_t)value;
		if (!*end)
			return 0;
		item = end + 1;
	}
}

/* A name the kernel can hold: it cuts every comm to PARK_COMM_LEN - 1
 * bytes, so a longer name would never match. */
static error_t add_comm(struct argp_state *state, const char *name)
{
	struct parse_ctx *ctx = state->input;
	struct env *env = ctx->env;

	if (!name[0] || strlen(name) >= PARK_COMM_LEN)
		return usage_error(state, "invalid --comm '%s' (1 to %d bytes, as /proc/PID/comm "
				   "shows the name: the kernel keeps only the first %d)", name,
				   PARK_COMM_LEN - 1, PARK_COMM_LEN - 1);
	if (env->comm_count == PARK_MAX_COMMS)
		return usage_error(state, "too many --comm (at most %d)", PARK_MAX_COMMS);
	env->comms[env->comm_count++] = name;
	return 0;
}

/* "64M", "1G", "65536": bytes, with a binary K, M or G; false when not. */
static bool parse_size(const char *arg, unsigned long long *bytes)
{
	static const char suffixes[] = "KMG";
	const char *unit;
	char *end;

	if (!isdigit((unsigned char)arg[0]))
		return false;
	errno = 0;
	*bytes = strtoull(arg, &end, 10);
	if (errno)
		return false;
	if (!*end)
		return true;
	unit = strchr(suffixes, toupper((unsigned char)*end));
	if (!unit || end[1] || *bytes > (ULLONG_MAX >> (10 * (unit - suffixes + 1))))
		return false;
	*bytes <<= 10 * (unit - suffixes + 1);
	return true;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct parse_ctx *ctx = state->input;
	struct env *env = ctx->env;
	char *end;
	long value;

	switch (key) {
	case 'p':
		return parse_pid_list(state, arg);
	case OPT_COMM:
		return add_comm(state, arg);
	case OPT_CGROUP:
		env->cgroup_path = arg;
		return 0;
	case OPT_DUMP:
		env->dump = true;
		return 0;
	case OPT_DEBUG:
		if (strcmp(arg, "1") && strcmp(arg, "2"))
			return usage_error(state, "invalid --debug '%s' (1 or 2)", arg);
		env->debug = arg[0] - '0';
		return 0;
	case OPT_FORMAT:
		if (!strcmp(arg, "text")) {
			env->format = PW_FORMAT_TEXT;
		} else if (!strcmp(arg, "json")) {
			env->format = PW_FORMAT_JSON;
		} else if (!strcmp(arg, "pprof")) {
			env->format = PW_FORMAT_PPROF;
		} else if (!strcmp(arg, "folded")) {
			env->format = PW_FORMAT_FOLDED;
		} else {
			return usage_error(state, "invalid --format '%s' (text, json, pprof or folded)",
					   arg);
		}
		return 0;
	case OPT_INTERVAL:
		if (parse_duration_arg(state, "--interval", arg, &env->interval_ns))
			return EINVAL;
		if (env->interval_ns < 10000000ULL)
			return usage_error(state, "--interval %s is too short (at least 10ms)", arg);
		return 0;
	case OPT_DURATION:
		if (parse_duration_arg(state, "--duration", arg, &env->duration_ns))
			return EINVAL;
		/* 0 is not "forever" (leave the option out for that), nor one picture (--dump) */
		if (!env->duration_ns)
			return usage_error(state, "--duration %s is zero (leave it out to run until "
					   "stopped; --dump takes one picture)", arg);
		return 0;
	case OPT_MIN_PARK:
		return parse_duration_arg(state, "--min-park", arg, &env->min_park_ns);
	case 'o':
		env->output_path = arg;
		return 0;
	case OPT_HTTP:
		env->http = true;
		env->http_address = arg;
		return 0;
	case OPT_HTTP_AUTH:
		env->http_auth_file = arg;
		return 0;
	case OPT_HTTP_NO_AUTH:
		env->http_no_auth = true;
		return 0;
	case OPT_HTTP_TLS_CERT:
		env->http_tls_cert = arg;
		return 0;
	case OPT_HTTP_TLS_KEY:
		env->http_tls_key = arg;
		return 0;
	case OPT_GO_TIME_BUDGET:
		return parse_duration_arg(state, "--go-time-budget", arg, &env->go_time_budget_ns);
	case OPT_GO_MEMORY_BUDGET:
		errno = 0;
		value = isdigit((unsigned char)arg[0]) ? strtol(arg, &end, 10) : -1;
		if (errno || value < 0 || *end || value > (1L << 30))
			return usage_error(state, "invalid --go-memory-budget '%s' (MiB, 0..%ld)", arg,
					   1L << 30);
		env->go_memory_budget_bytes = (size_t)value << 20;
		return 0;
	case OPT_METRICS_TOP_K:
		errno = 0;
		value = strtol(arg, &end, 10);
		if (errno || *end || end == arg || value < 1 || value > 10000)
			return usage_error(state, "invalid --metrics-top-k '%s' (1..10000)", arg);
		env->metrics_top_k = value;
		return 0;
	case OPT_LEAKS:
		env->leaks = true;
		return 0;
	case OPT_LEAK_WINDOW:
		return parse_duration_arg(state, "--leak-window", arg, &env->leak_window_ns);
	case OPT_LEAK_MIN_SPAN:
		return parse_duration_arg(state, "--leak-min-span", arg, &env->leak_min_span_ns);
	case OPT_LEAK_MIN_SLOPE:
		errno = 0;
		env->leak_min_slope = strtod(arg, &end);
		if (errno || *end || end == arg || !(env->leak_min_slope >= 0) ||
		    env->leak_min_slope > 1e9)
			return usage_error(state, "invalid --leak-min-slope '%s' (threads per minute, "
					   ">= 0)", arg);
		return 0;
	case OPT_KEEP_PRIVILEGES:
		env->keep_privileges = true;
		return 0;
	case OPT_USER:
		env->user = arg;
		return 0;
	case OPT_THREADS:
		env->threads = true;
		return 0;
	case OPT_FINAL_DUMP:
		env->final_dump = true;
		return 0;
	case OPT_KERNEL_STACKS:
		env->kernel_stacks = true;
		return 0;
	case OPT_MEMORY_LIMIT: {
		unsigned long long bytes;

		if (!parse_size(arg, &bytes) || bytes < MEMORY_LIMIT_MIN_BYTES ||
		    bytes > MEMORY_LIMIT_MAX_BYTES)
			return usage_error(state, "invalid --memory-limit '%s' (1M to 1T, e.g. 64M, 1G)",
					   arg);
		env->memory_limit_bytes = bytes;
		return 0;
	}
	case OPT_FOLDED_ROOT:
		env->folded_root = true;
		return 0;
	case 'h':
	case OPT_USAGE:
		argp_help(state->root_argp, stdout, key == 'h' ? ARGP_HELP_STD_HELP : ARGP_HELP_USAGE,
			  (char *)"parkwatch");
		return stop_after_help(ctx);
	case 'V':
		puts("parkwatch " PARKWATCH_VERSION);
		return stop_after_help(ctx);
	case ARGP_KEY_ARG:
		/* "--http ADDR" as well as "--http=ADDR": the address is optional */
		if (env->http && !env->http_address && strchr(arg, ':')) {
			env->http_address = arg;
			return 0;
		}
		return usage_error(state, "unexpected argument '%s' (use -p PID)", arg);
	case ARGP_KEY_ERROR:
		/* getopt's failures (an unknown option, a missing or unwanted value)
		 * reach here unreported; argv[next - 1] is the argument it stopped at */
		if (!ctx->reported && state->next > 0 && state->next <= state->argc)
			usage_error(state, "unknown option, or one with a missing or unwanted value: "
				    "'%s' (see parkwatch --help)", state->argv[state->next - 1]);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

void options__trend_opts(const struct env *env, struct trend_opts *opts)
{
	trend__default_opts(opts);
	if (env->leak_window_ns)
		opts->window_ns = env->leak_window_ns;
	if (env->leak_min_span_ns)
		opts->min_span_ns = env->leak_min_span_ns;
	if (opts->min_span_ns > opts->window_ns)
		opts->min_span_ns = opts->window_ns;
	if (env->leak_min_slope >= 0)
		opts->min_slope_per_min = env->leak_min_slope;
}

/* --leaks for less time than a group needs to become a suspect: the report
 * would be empty whatever leaks.  One line in buf, or false. */
static bool leaks_too_short(const struct env *env, char *buf, size_t size)
{
	char duration[32], min_span[32];
	struct trend_opts opts;

	if (!env->leaks || !env->duration_ns)
		return false;
	options__trend_opts(env, &opts);
	if (env->duration_ns >= opts.min_span_ns)
		return false;
	format__age_short(env->duration_ns, duration, sizeof(duration));
	format__age_short(opts.min_span_ns, min_span, sizeof(min_span));
	snprintf(buf, size, "--leaks --duration %s is shorter than --leak-min-span %s: no group "
		 "could become a suspect (watch longer, or lower --leak-min-span)", duration,
		 min_span);
	return true;
}

/* One line for options that don't go together, or NULL. */
static const char *mismatch(const struct env *env)
{
	if (env->http && (env->dump || env->leaks || env->output_path))
		return "--http serves until stopped: it doesn't mix with --dump, --leaks or -o";
	if (!env->http && (env->http_auth_file || env->http_no_auth || env->http_tls_cert ||
			   env->http_tls_key))
		return "--http-auth, --http-no-auth and --http-tls-* need --http";
	if (env->http_auth_file && env->http_no_auth)
		return "--http-auth and --http-no-auth contradict each other: give one";
	/* the stacks of every process, root's included, for any local user; on a
	 * UNIX socket, the peer's uid decides */
	if (env->http && !env->http_auth_file && !env->http_no_auth &&
	    !(env->http_address &&
	      !strncmp(env->http_address, HTTP_UNIX_PREFIX, strlen(HTTP_UNIX_PREFIX))))
		return "--http on TCP serves every watched process's stacks: give --http-auth FILE "
		       "(user:password lines), --http-no-auth to serve them to whoever connects, "
		       "or --http unix:PATH";
	if (env->folded_root && env->format != PW_FORMAT_FOLDED)
		return "--folded-root needs --format folded";
	/* a leak is growth over time: one picture has none */
	if (env->leaks && env->dump)
		return "--leaks watches over time: it doesn't mix with --dump (use --leaks "
		       "--duration D)";
	if (env->leaks && (env->format == PW_FORMAT_PPROF || env->format == PW_FORMAT_FOLDED))
		return "the --leaks report is text or JSON (use --format text or json)";
	return NULL;
}

int options__parse(int argc, char **argv, struct env *env, unsigned int argp_flags)
{
	static const struct argp argp = { option_list, parse_opt, NULL, doc, NULL, NULL, NULL };
	struct parse_ctx ctx = {
		.env = env,
		.quiet = argp_flags & ARGP_NO_ERRS,
		.may_exit = !(argp_flags & ARGP_NO_EXIT),
	};
	const char *message = NULL;
	char line[256];
	int err;

	memset(env, 0, sizeof(*env));
	env->debug = 2;
	env->format = PW_FORMAT_TEXT;
	env->interval_ns = 2000000000ULL;
	env->metrics_top_k = 20;
	env->go_time_budget_ns = GO_TIME_BUDGET_DEFAULT_NS;
	env->go_memory_budget_bytes = GO_MEMORY_BUDGET_DEFAULT_BYTES;
	env->memory_limit_bytes = PROCS_CACHE_DEFAULT_BYTES;
	env->user = "nobody";
	env->leak_min_slope = -1;
	env->min_park_ns = UINT64_MAX; /* unset: depends on the format */
	argp_err_exit_status = EXIT_USAGE;
	err = argp_parse(&argp, argc, argv, argp_flags | ARGP_NO_ERRS | ARGP_NO_HELP, NULL,
			 &ctx);
	if (!err && !(message = mismatch(env)) && leaks_too_short(env, line, sizeof(line)))
		message = line;
	if (!err && message) {
		if (!ctx.quiet)
			fprintf(stderr, "parkwatch: %s\n", message);
		err = EINVAL;
	}
	/* a one-shot dump, like gdb's, shows every parked thread's stack; the live
	 * view leaves the briefest parks stackless, so as to copy fewer stacks */
	if (env->min_park_ns == UINT64_MAX)
		env->min_park_ns = env->dump || env->format == PW_FORMAT_PPROF ||
					   env->format == PW_FORMAT_FOLDED ? 0 : NSEC_PER_SEC;
	return err;
}
