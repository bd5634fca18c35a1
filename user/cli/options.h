/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Command-line options and exit codes: the CLI's one global state. */
#ifndef PARKWATCH_OPTIONS_H
#define PARKWATCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "park.h"
#include "out/render.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILURE_OTHER = 1,     /* a runtime error not listed below */
	EXIT_USAGE = 2,             /* bad option or argument */
	EXIT_NO_PROCESS = 3,        /* a -p PID that does not exist; --dump --comm NAME that
				     * names none */
	EXIT_PERMISSION = 4,        /* not root / missing capabilities */
	EXIT_UNSUPPORTED = 5,       /* no BTF, or BPF failed to load or attach */
	EXIT_ALL_EXITED = 6,        /* every watched process exited before the end */
	EXIT_LEAKS_FOUND = 7,       /* --leaks found suspect groups */
	EXIT_DEADLOCK_FOUND = 8,    /* --dump found a deadlock, self-deadlock or abandoned lock */
	EXIT_NOT_VISIBLE = 9,       /* --dump: the watched processes run, but not one of their
				     * threads is in the picture */
};

/* One Go process's goroutines per picture: a 100,000-goroutine program
 * reads in about a second (a few on a busy machine) and 40 MB; a runtime
 * that lies about its goroutines is cut there, not after minutes and
 * gigabytes. */
#define GO_TIME_BUDGET_DEFAULT_NS (5ULL * 1000000000ULL)
#define GO_MEMORY_BUDGET_DEFAULT_BYTES ((size_t)256 << 20)

/* --memory-limit: the shared symbol and debug-info cache's budget
 * (default PROCS_CACHE_DEFAULT_BYTES, proc/procs.h). */
#define MEMORY_LIMIT_MIN_BYTES (1ULL << 20)
#define MEMORY_LIMIT_MAX_BYTES (1ULL << 40)

struct env {
	pid_t pids[PARK_MAX_WATCHED];
	size_t pid_count;
	bool dump;
	int debug;                  /* 1 or 2 */
	enum pw_format format;
	__u64 interval_ns;
	__u64 duration_ns;          /* 0: until interrupted */
	__u64 min_park_ns;
	bool kernel_stacks;
	bool folded_root;           /* folded: each line starts with "comm (pid)" */
	const char *cgroup_path;
	const char *output_path;    /* -o FILE; NULL: stdout */
	bool http;                  /* serve /metrics and /debug/pprof/ */
	const char *http_address;   /* NULL: loopback, default port */
	const char *http_auth_file;
	bool http_no_auth;          /* serve TCP clients without credentials, as asked */
	const char *http_tls_cert;
	const char *http_tls_key;
	size_t metrics_top_k;
	bool keep_privileges;
	const char *user;           /* --user: whom to run as after start-up */
	bool threads;               /* --threads: a Go program's threads, not its goroutines */
	__u64 go_time_budget_ns;    /* 0: no limit */
	size_t go_memory_budget_bytes; /* 0: no limit */
	bool leaks;                 /* watch, then print the leak report */
	__u64 leak_window_ns;       /* 0: the trend engine's defaults */
	__u64 leak_min_span_ns;
	double leak_min_slope;      /* threads/min; < 0: default */
	bool final_dump;            /* the live view on a terminal ends with the full dump */
	/* the CLI engineer's block */
	const char *comms[PARK_MAX_COMMS]; /* --comm: processes by name, as /proc/PID/comm */
	size_t comm_count;
	/* the daemon's memory */
	unsigned long long memory_limit_bytes; /* --memory-limit */
};

/*
 * Parses argv into env (defaults first).  argp_flags are argp_parse's flags:
 * 0 from the CLI (argp prints and exits on --help and errors), ARGP_NO_EXIT
 * | ARGP_NO_ERRS from tests.  Returns 0 or an errno value.
 */
int options__parse(int argc, char **argv, struct env *env, unsigned int argp_flags);

struct trend_opts;
/* The leak trend's settings: its defaults, with the --leak-* options over them. */
void options__trend_opts(const struct env *env, struct trend_opts *opts);

#endif /* PARKWATCH_OPTIONS_H */
