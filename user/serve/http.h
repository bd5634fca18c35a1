/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The HTTP server (libmicrohttpd): /metrics for Prometheus and Go's
 * /debug/pprof/goroutine endpoint for every watched process.  It renders
 * what the collecting loop publishes in a feed (serve/feed.h), under the
 * feed's lock; it never touches BPF, /proc or process memory and never
 * writes to disk.
 */
#ifndef PARKWATCH_HTTP_H
#define PARKWATCH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include "serve/feed.h"
#include "serve/http_config.h"

#define HTTP_MAX_WINDOW_SECONDS 300

struct http_server;

/*
 * Reads the credentials and TLS files and binds the listening socket: call
 * it before privileges are dropped (ports below 1024, root-only files).
 * Returns 0 or a negative errno, with a one-line reason.
 */
int http__open(const struct http_opts *opts, struct feed *feed, struct http_server **out,
	       char *reason, size_t reason_size);
/* Starts serving; call it after privileges are dropped, so that the
 * server's threads never hold them.  0 or a negative errno. */
int http__start(struct http_server *server, char *reason, size_t reason_size);
/* "http://127.0.0.1:9464" */
const char *http__url(const struct http_server *server);
/* Answers pending window requests, stops and frees; NULL-safe. */
void http__stop(struct http_server *server);

#endif /* PARKWATCH_HTTP_H */
