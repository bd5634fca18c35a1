/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The insides of the HTTP server, shared by its files and no one else:
 * http.c (the daemon, credentials, /metrics, health, the index) and
 * http_profile.c (/debug/pprof/goroutine).
 */
#ifndef PARKWATCH_HTTP_INTERNAL_H
#define PARKWATCH_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdbool.h>
#include <sys/types.h>
#include "serve/feed.h"
#include "serve/http_config.h"

struct http_server {
	struct MHD_Daemon *daemon;
	struct feed *feed;
	struct http_config config;  /* ready before the daemon starts */
};

/* Which processes a request may see. */
struct access {
	bool every_process;
	uid_t uid;                  /* else those whose owner_uid this is */
};

/* Queues body (malloc'd; taken over, freed on failure) with status. */
enum MHD_Result http__respond(struct MHD_Connection *conn, unsigned int status,
			      const char *content_type, char *body, size_t len);
/* A text/plain answer made like printf. */
enum MHD_Result http__respond_text(struct MHD_Connection *conn, unsigned int status,
				   const char *format, ...)
	__attribute__((format(printf, 3, 4)));
/* A query number: digits only, within [min, max].  Absent: *value
 * unchanged.  0 or -EINVAL. */
int http__query_number(struct MHD_Connection *conn, const char *name, long min, long max,
		       long *value);
bool http__may_see(const struct access *access, const struct pw_process *proc);
/* GET /debug/pprof/goroutine. */
enum MHD_Result http__serve_goroutine(struct http_server *server, struct MHD_Connection *conn,
				      const struct access *access);

#endif /* PARKWATCH_HTTP_INTERNAL_H */
