/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Inside the HTTP server: its configuration, made ready by http__open
 * before privileges are dropped.  The address is parsed and bound, the
 * credentials and TLS files are read, so that the request side (http.c)
 * only serves what is already in memory.
 */
#ifndef PARKWATCH_HTTP_CONFIG_H
#define PARKWATCH_HTTP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_DEFAULT_PORT 9464
#define HTTP_MAX_CREDENTIALS 64
#define HTTP_UNIX_PREFIX "unix:"   /* --http unix:PATH */
#define HTTP_MAX_FILE_BYTES (1024 * 1024) /* credentials or PEM: far more than either needs */

struct http_opts {
	const char *address;        /* HOST:PORT, [V6]:PORT, :PORT (loopback) or unix:PATH */
	const char *auth_file;      /* lines of user:password, or NULL */
	const char *tls_cert_file;  /* PEM, with tls_key_file, or NULL */
	const char *tls_key_file;
};

struct http_credential {
	char *user;
	char *password;
};

struct http_config {
	int listen_fd;              /* bound before privileges are dropped */
	bool ipv6;
	char *unix_path;            /* unix:PATH's, removed at the end; NULL on TCP */
	char url[96];
	struct http_credential credentials[HTTP_MAX_CREDENTIALS];
	size_t credential_count;
	char *tls_cert;             /* PEM, NULL without TLS */
	char *tls_key;
};

/*
 * Fills config from opts: binds the socket, reads the files, warns once on
 * a non-loopback address.  0 or a negative errno with a one-line reason; on
 * failure, config still needs http_config__release.
 */
int http_config__load(struct http_config *config, const struct http_opts *opts, char *reason,
		      size_t reason_size);
/* Closes the socket unless the daemon took it (listen_fd -1), frees the rest. */
void http_config__release(struct http_config *config);

#endif /* PARKWATCH_HTTP_CONFIG_H */
