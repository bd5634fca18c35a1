/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The HTTP server (libmicrohttpd): /metrics for Prometheus and Go's
 * /debug/pprof/goroutine endpoint for every watched process.  It only reads
 * what the collecting loop publishes in a feed, under the feed's lock; it
 * never touches BPF and never writes to disk.
 */
#ifndef PARKWATCH_HTTP_H
#define PARKWATCH_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include "out/dump.h"
#include "out/export.h"
#include "out/prometheus.h"
#include "model/report.h"

#define HTTP_DEFAULT_PORT 9464
#define HTTP_MAX_WINDOW_SECONDS 300

/* A windowed profile a request waits for (?seconds=S). */
struct pending_window {
	struct window *window;
	pid_t pid;                  /* 0: every process */
	__u64 start_ns, last_ns, end_ns; /* CLOCK_MONOTONIC */
	__u64 start_unix_ns;
	bool done;
	struct pending_window *next;
};

/* What the collecting loop publishes; every field is guarded by lock. */
struct http_feed {
	pthread_mutex_t lock;
	pthread_cond_t updated;     /* broadcast after every new picture */
	struct report *report;      /* latest picture, NULL before the first */
	struct metrics_input metrics; /* all but .report */
	struct dump_opts dump_opts;
	__u64 interval_ns;
	struct pending_window *windows;
	struct procs *procs;        /* for a Go program's goroutines */
	bool stopping;
};

struct http_opts {
	const char *address;        /* HOST:PORT, [V6]:PORT or :PORT (loopback) */
	const char *auth_file;      /* lines of user:password, or NULL */
	const char *tls_cert_file;  /* PEM, with tls_key_file, or NULL */
	const char *tls_key_file;
};

struct http_server;

void http_feed__init(struct http_feed *feed);
/* Called by the loop with the lock held, after a new picture is in place. */
void http_feed__advance(struct http_feed *feed, __u64 now_ns);
void http_feed__destroy(struct http_feed *feed);

/*
 * Reads the credentials and TLS files and binds the listening socket: call
 * it before privileges are dropped (ports below 1024, root-only files).
 * Returns 0 or a negative errno, with a one-line reason.
 */
int http__open(const struct http_opts *opts, struct http_feed *feed, struct http_server **out,
	       char *reason, size_t reason_size);
/* Starts serving; call it after privileges are dropped, so that the
 * server's threads never hold them.  0 or a negative errno. */
int http__start(struct http_server *server, char *reason, size_t reason_size);
/* "http://127.0.0.1:9464" */
const char *http__url(const struct http_server *server);
/* Answers pending window requests, stops and frees; NULL-safe. */
void http__stop(struct http_server *server);

#endif /* PARKWATCH_HTTP_H */
