// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * HTTP endpoints with libmicrohttpd (http.h): the feed the collecting loop
 * publishes, the requests that read it, and the daemon's lifetime.  What the
 * server is configured with (address, credentials, TLS) is read once in
 * http_config.c, before privileges are dropped.
 */
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "out/render.h"
#include "serve/http.h"
#include "serve/http_internal.h"
#include "util/clock.h"
#include "util/gaveup.h"
#include "util/units.h"
#include "util/utf8.h"

/* Connections, each with its thread, and those of one client address: it
 * can't take them all.  Both leave room for clients that reconnect at once,
 * before their closed connections are cleaned up. */
#define HTTP_CONNECTION_LIMIT 128
#define HTTP_PER_CLIENT_LIMIT 32
/* A client that sends nothing for this long is closed: idle keep-alive
 * connections and half-sent requests don't hold a slot for long. */
#define HTTP_IDLE_TIMEOUT_SECONDS 5

enum MHD_Result http__respond(struct MHD_Connection *conn, unsigned int status,
			       const char *content_type, char *body, size_t len)
{
	struct MHD_Response *response;
	enum MHD_Result result;

	response = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!response) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
		MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "2");
		/* a refused client gives its slot back */
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
	}
	result = MHD_queue_response(conn, status, response);
	MHD_destroy_response(response);
	return result;
}

enum MHD_Result http__respond_text(struct MHD_Connection *conn, unsigned int status,
				    const char *format, ...)
{
	char *body = NULL;
	va_list args;
	int len;

	va_start(args, format);
	len = vasprintf(&body, format, args);
	va_end(args);
	if (len < 0)
		return MHD_NO;
	return http__respond(conn, status, "text/plain; charset=utf-8", body, len);
}

int http__query_number(struct MHD_Connection *conn, const char *name, long min, long max,
			long *value)
{
	const char *text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	long parsed;

	if (!text)
		return 0;
	if (!*text || strlen(text) > 10 || strspn(text, "0123456789") != strlen(text))
		return -EINVAL;
	errno = 0;
	parsed = strtol(text, &end, 10);
	if (errno || *end || parsed < min || parsed > max)
		return -EINVAL;
	*value = parsed;
	return 0;
}

/* On TCP every process (the credentials, if any, are checked apart); on
 * the UNIX socket, root's peer every process, another user its own. */
static struct access peer_access(const struct http_server *server, struct MHD_Connection *conn)
{
	struct access access = { .every_process = !server->config.unix_path, .uid = (uid_t)-1 };
	const union MHD_ConnectionInfo *info;
	struct ucred cred;

	if (access.every_process)
		return access;
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (info && !getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred,
				&(socklen_t){ sizeof(cred) })) {
		access.every_process = cred.uid == 0;
		access.uid = cred.uid;
	}
	return access; /* an unknown peer: (uid_t)-1 owns nothing */
}

bool http__may_see(const struct access *access, const struct pw_process *proc)
{
	return proc && (access->every_process || proc->owner_uid == access->uid);
}

/* Compares every byte, so the time taken does not tell how much matched. */
static bool same_secret(const char *expected, const char *given)
{
	size_t expected_len = strlen(expected), given_len = strlen(given);
	unsigned char diff = expected_len != given_len;

	for (size_t i = 0; i < expected_len; i++)
		diff |= (unsigned char)expected[i] ^ (unsigned char)(i < given_len ? given[i] : 0);
	return !diff;
}

static bool authorized(struct http_server *server, struct MHD_Connection *conn)
{
	char *password = NULL;
	char *user;
	bool ok = false;

	if (!server->config.credential_count)
		return true;
	user = MHD_basic_auth_get_username_password(conn, &password);
	for (size_t i = 0; user && password && i < server->config.credential_count; i++)
		ok |= !strcmp(server->config.credentials[i].user, user) &&
		      same_secret(server->config.credentials[i].password, password);
	MHD_free(user);
	MHD_free(password);
	return ok;
}

static enum MHD_Result serve_metrics(struct http_server *server, struct MHD_Connection *conn)
{
	struct feed *feed = server->feed;
	struct metrics_input input;
	char *body = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&body, &len);

	if (!out)
		return MHD_NO;
	pthread_mutex_lock(&feed->lock);
	input = feed->metrics;
	input.picture = feed->picture;
	prometheus__write(out, &input);
	pthread_mutex_unlock(&feed->lock);
	if (fclose(out)) {
		free(body);
		return MHD_NO;
	}
	return http__respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

/* Whether the process is up: while it answers at all, it is. */
static enum MHD_Result serve_healthz(struct MHD_Connection *conn)
{
	return http__respond_text(conn, MHD_HTTP_OK, "ok\n");
}

/*
 * Whether what it serves is current: the BPF programs are attached and a
 * picture was published within the last two intervals.  A collecting loop
 * that stalls or fails every tick makes it 503, with why.
 */
static enum MHD_Result serve_readyz(struct http_server *server, struct MHD_Connection *conn)
{
	char why[160];
	bool ready;

	pthread_mutex_lock(&server->feed->lock);
	ready = feed__ready(server->feed, clock__monotonic_ns(), why, sizeof(why));
	pthread_mutex_unlock(&server->feed->lock);
	if (!ready)
		return http__respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: %s\n", why);
	return http__respond_text(conn, MHD_HTTP_OK, "ready\n");
}

/* Text as HTML: markup escaped, ill-formed UTF-8 and controls but white
 * space as U+FFFD. */
static void html_text(FILE *out, const char *text)
{
	size_t length;
	__u32 codepoint;

	for (; (length = utf8__next(text, &codepoint)); text += length) {
		switch (codepoint) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			if (codepoint == UTF8_ILL_FORMED ||
			    (utf8__is_control(codepoint) && !strchr("\t\n\r", (int)codepoint)))
				utf8__put(out, UTF8_REPLACEMENT);
			else
				fwrite(text, 1, length, out);
		}
	}
}

static enum MHD_Result serve_index(struct http_server *server, struct MHD_Connection *conn,
				   const struct access *access)
{
	struct feed *feed = server->feed;
	char *body = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&body, &len);

	if (!out)
		return MHD_NO;
	fputs("<!DOCTYPE html>\n<html><head><title>parkwatch /debug/pprof/</title></head><body>\n"
	      "<h1>parkwatch: parked threads per process</h1>\n"
	      "<p>Profiles as Go's /debug/pprof/goroutine serves them: debug=0 a pprof profile "
	      "(add seconds=S for parked time over S seconds), debug=1 grouped by stack, "
	      "debug=2 every thread.</p>\n<table>\n"
	      "<tr><th>pid</th><th>command</th><th>threads</th><th>parked</th><th>profiles</th></tr>\n",
	      out);
	pthread_mutex_lock(&feed->lock);
	for (size_t i = 0; feed->picture && i < feed->picture->proc_count; i++) {
		const struct pw_process *proc = &feed->picture->procs[i];

		if (!http__may_see(access, proc))
			continue;
		fprintf(out, "<tr><td>%d</td><td>", proc->pid);
		html_text(out, proc->comm);
		fprintf(out, "</td><td>%zu</td><td>%zu</td><td>"
			     "<a href=\"/debug/pprof/goroutine?pid=%d&amp;debug=0\">pprof</a> "
			     "<a href=\"/debug/pprof/goroutine?pid=%d&amp;debug=1\">debug=1</a> "
			     "<a href=\"/debug/pprof/goroutine?pid=%d&amp;debug=2\">debug=2</a></td></tr>\n",
			proc->units, proc->parked, proc->pid, proc->pid, proc->pid);
	}
	pthread_mutex_unlock(&feed->lock);
	fputs("</table>\n</body></html>\n", out);
	if (fclose(out)) {
		free(body);
		return MHD_NO;
	}
	return http__respond(conn, MHD_HTTP_OK, "text/html; charset=utf-8", body, len);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **request_state)
{
	struct http_server *server = cls;
	struct MHD_Response *response;
	enum MHD_Result result;
	struct access access;

	static int first_call_marker;

	(void)version;
	(void)upload_data;
	/* answering on the first call makes libmicrohttpd close the connection:
	 * wait for the second, so clients can keep theirs alive */
	if (!*request_state) {
		*request_state = &first_call_marker;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		/* a body must be consumed (and dropped) before an answer can go out */
		if (*upload_data_size) {
			*upload_data_size = 0;
			return MHD_YES;
		}
		return http__respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	}
	/* probes (a kubelet's, systemd's) carry no credentials; the answers
	 * say only whether parkwatch runs */
	if (!strcmp(url, "/healthz"))
		return serve_healthz(conn);
	if (!strcmp(url, "/readyz"))
		return serve_readyz(server, conn);
	if (!authorized(server, conn)) {
		response = MHD_create_response_from_buffer(strlen("unauthorized\n"), "unauthorized\n",
							   MHD_RESPMEM_PERSISTENT);
		if (!response)
			return MHD_NO;
		/* an unauthenticated client doesn't keep its slot */
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
		result = MHD_queue_basic_auth_fail_response(conn, "parkwatch", response);
		MHD_destroy_response(response);
		return result;
	}
	access = peer_access(server, conn);
	if (!strcmp(url, "/metrics"))
		return serve_metrics(server, conn);
	if (!strcmp(url, "/debug/pprof/") || !strcmp(url, "/debug/pprof"))
		return serve_index(server, conn, &access);
	if (!strcmp(url, "/debug/pprof/goroutine"))
		return http__serve_goroutine(server, conn, &access);
	if (!strcmp(url, "/"))
		return http__respond_text(conn, MHD_HTTP_OK,
				    "parkwatch %s: /metrics, /debug/pprof/, /healthz, /readyz\n",
				    PARKWATCH_VERSION);
	return http__respond_text(conn, MHD_HTTP_NOT_FOUND,
				  "not found: /metrics, /debug/pprof/, /healthz, /readyz\n");
}

/* libmicrohttpd's own complaints (refused connections, resets), one line
 * each with our prefix, at most one every 10 s so a flood can't fill logs. */
static void log_mhd(void *ctx, const char *format, va_list args)
{
	static _Atomic time_t last_logged; /* connection threads log too */
	time_t now = time(NULL), last = atomic_load(&last_logged);
	char line[256];
	size_t len;

	(void)ctx;
	/* libmicrohttpd tells of the connections its limits refuse only here */
	if (!strncmp(format, "Server reached connection limit", 31))
		gaveup__count(GAVEUP_HTTP_REFUSED);
	if (now - last < 10 || !atomic_compare_exchange_strong(&last_logged, &last, now))
		return;
	vsnprintf(line, sizeof(line), format, args);
	len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	fprintf(stderr, "parkwatch: http: %s\n", line);
}

int http__open(const struct http_opts *opts, struct feed *feed, struct http_server **out,
	       char *reason, size_t reason_size)
{
	struct http_server *server = calloc(1, sizeof(*server));
	int err;

	if (!server)
		return -ENOMEM;
	server->feed = feed;
	err = http_config__load(&server->config, opts, reason, reason_size);
	if (err) {
		http__stop(server);
		return err;
	}
	*out = server;
	return 0;
}

const char *http__url(const struct http_server *server)
{
	return server->config.url;
}

int http__start(struct http_server *server, char *reason, size_t reason_size)
{
	/* a thread per connection, as a window blocks its request for seconds;
	 * poll(), not select(), which fails on descriptors past FD_SETSIZE */
	unsigned int flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_ITC | /* MHD_quiesce_daemon needs it */
			     MHD_USE_ERROR_LOG; /* else log_mhd is never called */

	if (server->config.tls_cert)
		flags |= MHD_USE_TLS;
	if (server->config.ipv6)
		flags |= MHD_USE_IPv6;
	server->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, server,
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, /* first, so that it logs all */
		MHD_OPTION_LISTEN_SOCKET, server->config.listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONNECTION_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTP_PER_CLIENT_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT_SECONDS,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
		server->config.tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
		server->config.tls_cert,
		MHD_OPTION_HTTPS_MEM_KEY, server->config.tls_key, MHD_OPTION_END);
	if (!server->daemon) {
		snprintf(reason, reason_size, "cannot start the HTTP server on %s", server->config.url);
		return -EIO;
	}
	server->config.listen_fd = -1; /* the daemon owns it now */
	return 0;
}

void http__stop(struct http_server *server)
{
	if (!server)
		return;
	if (server->daemon) {
		/* answer requests waiting for a window with what they have, then stop */
		int listen_fd = MHD_quiesce_daemon(server->daemon);

		pthread_mutex_lock(&server->feed->lock);
		server->feed->stopping = true;
		pthread_cond_broadcast(&server->feed->updated);
		for (int tries = 0; server->feed->windows && tries < 40; tries++) {
			pthread_mutex_unlock(&server->feed->lock);
			usleep(25000);
			pthread_mutex_lock(&server->feed->lock);
		}
		pthread_mutex_unlock(&server->feed->lock);
		MHD_stop_daemon(server->daemon);
		if (listen_fd != MHD_INVALID_SOCKET)
			close(listen_fd); /* quiescing handed it back to us */
	}
	http_config__release(&server->config);
	free(server);
}
