// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The HTTP server's configuration (http_config.h): the --http address, the
 * credentials and TLS files, and the listening socket.  All of it is done
 * once at start, while parkwatch may still read root-only files and bind
 * low ports; nothing here runs per request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "serve/http_config.h"

static bool is_loopback(const struct sockaddr_storage *addr)
{
	if (addr->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)addr)->sin6_addr);
}

/* HOST:PORT, [V6]:PORT, :PORT, HOST or V6 (an address of two colons or more
 * is all host: a port after it needs the brackets); a missing host means
 * loopback. */
static int parse_address(const char *text, struct sockaddr_storage *addr, char *reason,
			 size_t reason_size)
{
	char host[256] = "127.0.0.1", port[16];
	const char *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *found;
	int err;

	snprintf(port, sizeof(port), "%d", HTTP_DEFAULT_PORT);
	if (text && *text == '[') {
		const char *close = strchr(text, ']');

		if (!close || close - text - 1 >= (long)sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(close - text - 1), text + 1);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			goto bad;
	} else if (text && *text) {
		colon = strchr(text, ':') == strrchr(text, ':') ? strrchr(text, ':') : NULL;
		if (colon != text)
			snprintf(host, sizeof(host), "%.*s",
				 (int)(colon ? colon - text : (long)strlen(text)), text);
	} else {
		colon = NULL;
	}
	if (colon) {
		if (!colon[1] || strlen(colon + 1) > 5 || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
		    atoi(colon + 1) > 65535)
			goto bad;
		snprintf(port, sizeof(port), "%s", colon + 1);
	}
	err = getaddrinfo(host, port, &hints, &found);
	if (err) {
		snprintf(reason, reason_size, "--http %s: %s", text, gai_strerror(err));
		return -EINVAL;
	}
	memcpy(addr, found->ai_addr, found->ai_addrlen);
	freeaddrinfo(found);
	return 0;
bad:
	snprintf(reason, reason_size, "--http %s: not HOST:PORT, [IPV6]:PORT or :PORT", text);
	return -EINVAL;
}

/*
 * A configuration file's text: a regular file (opening a FIFO would block
 * start-up until someone writes it), at most HTTP_MAX_FILE_BYTES, without
 * NUL bytes (the text would end at the first: a password "pw\0\0" would
 * be "pw", and the lines after it dropped unseen).
 */
static char *read_file(const char *path, char *reason, size_t reason_size)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char *data = NULL, *fitted;
	struct stat st;
	size_t len = 0;
	ssize_t got = 0;

	if (fd < 0) {
		snprintf(reason, reason_size, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(reason, reason_size, "%s: not a regular file", path);
		goto fail;
	}
	data = malloc(HTTP_MAX_FILE_BYTES + 1);
	if (!data) {
		snprintf(reason, reason_size, "%s: %s", path, strerror(ENOMEM));
		goto fail;
	}
	/* one byte past the limit tells a file that is too large */
	while (len <= HTTP_MAX_FILE_BYTES) {
		got = read(fd, data + len, HTTP_MAX_FILE_BYTES + 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	if (got < 0) {
		snprintf(reason, reason_size, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (len > HTTP_MAX_FILE_BYTES) {
		snprintf(reason, reason_size, "%s: larger than %d KiB", path,
			 HTTP_MAX_FILE_BYTES / 1024);
		goto fail;
	}
	if (memchr(data, '\0', len)) {
		snprintf(reason, reason_size, "%s: contains a NUL byte", path);
		goto fail;
	}
	data[len] = '\0';
	close(fd);
	fitted = realloc(data, len + 1);
	return fitted ? fitted : data;
fail:
	free(data);
	close(fd);
	return NULL;
}

static int load_credentials(struct http_config *config, const char *path, char *reason,
			    size_t reason_size)
{
	char *data = read_file(path, reason, reason_size), *line, *save = NULL;

	if (!data)
		return -EINVAL;
	for (line = strtok_r(data, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *colon = strchr(line, ':');
		struct http_credential *cred;

		if (line[0] == '#' || !line[0])
			continue;
		if (!colon || colon == line || config->credential_count == HTTP_MAX_CREDENTIALS) {
			snprintf(reason, reason_size, "%s: expected lines of user:password (at most %d)",
				 path, HTTP_MAX_CREDENTIALS);
			free(data);
			return -EINVAL;
		}
		if (!colon[1]) {
			snprintf(reason, reason_size, "%s: user %.*s has an empty password", path,
				 (int)(colon - line), line);
			free(data);
			return -EINVAL;
		}
		*colon = '\0';
		cred = &config->credentials[config->credential_count++];
		cred->user = strdup(line);
		cred->password = strdup(colon + 1);
	}
	free(data);
	if (!config->credential_count) {
		snprintf(reason, reason_size, "%s: no user:password line", path);
		return -EINVAL;
	}
	return 0;
}

/* The listening socket, made while parkwatch may still bind any port. */
static int listen_on(const struct sockaddr_storage *addr, char *reason, size_t reason_size,
		     const char *address)
{
	socklen_t len = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						      sizeof(struct sockaddr_in);
	int one = 1, fd, err;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)addr, len) || listen(fd, 64)) {
		err = -errno;
		snprintf(reason, reason_size, "cannot serve on %s: %s", address, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

/* --http on TCP: the socket, its URL, a warning when others can reach it. */
static int serve_on_tcp(struct http_config *config, const struct http_opts *opts, char *reason,
			size_t reason_size)
{
	struct sockaddr_storage addr = { 0 };
	const char *address = opts->address ? opts->address : "127.0.0.1:9464";
	int err;

	err = parse_address(opts->address, &addr, reason, reason_size);
	if (err)
		return err;
	config->listen_fd = listen_on(&addr, reason, reason_size, address);
	if (config->listen_fd < 0)
		return config->listen_fd == -EADDRINUSE || config->listen_fd == -EACCES ?
			       config->listen_fd : -EADDRNOTAVAIL;
	/* the port the kernel chose for port 0 */
	if (getsockname(config->listen_fd, (struct sockaddr *)&addr,
			&(socklen_t){ sizeof(addr) })) {
		err = -errno;
		snprintf(reason, reason_size, "cannot serve on %s: %s", address, strerror(-err));
		return err;
	}
	config->ipv6 = addr.ss_family == AF_INET6;
	if (addr.ss_family == AF_INET6)
		snprintf(config->url, sizeof(config->url), "%s://[%s]:%u",
			 config->tls_cert ? "https" : "http",
			 inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr,
				   (char[INET6_ADDRSTRLEN]){ 0 }, INET6_ADDRSTRLEN),
			 ntohs(((struct sockaddr_in6 *)&addr)->sin6_port));
	else
		snprintf(config->url, sizeof(config->url), "%s://%s:%u",
			 config->tls_cert ? "https" : "http",
			 inet_ntoa(((struct sockaddr_in *)&addr)->sin_addr),
			 ntohs(((struct sockaddr_in *)&addr)->sin_port));
	if (!is_loopback(&addr))
		fprintf(stderr, "parkwatch: warning: serving on a non-loopback address: stacks and "
				"command names of the watched processes are visible to whoever can "
				"reach it%s\n", opts->auth_file ? "" : " (consider --http-auth)");
	return 0;
}

/* Whether a parkwatch (or anything) still answers on the socket at addr. */
static bool socket_in_use(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool in_use;

	if (fd < 0)
		return true;
	in_use = !connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) ||
		 errno != ECONNREFUSED;
	close(fd);
	return in_use;
}

/*
 * --http unix:PATH: a socket any local user may connect to (mode 0666); what
 * each one reads is decided by its credentials (SO_PEERCRED, in http.c).  A
 * socket nobody answers on (left by a parkwatch that was killed) is replaced.
 */
static int serve_on_unix(struct http_config *config, const char *path, char *reason,
			 size_t reason_size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (!*path || strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(reason, reason_size, "--http unix:%s: the socket path must have 1 to %zu "
			 "bytes", path, sizeof(addr.sun_path) - 1);
		return -EINVAL;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode) && !socket_in_use(&addr) && unlink(path)) {
		err = -errno;
		snprintf(reason, reason_size, "cannot replace the old socket unix:%s: %s", path,
			 strerror(-err));
		return err;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&addr, sizeof(addr))) {
		err = -errno;
		snprintf(reason, reason_size, "cannot serve on unix:%s: %s", path, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err == -EADDRINUSE || err == -EACCES ? err : -EADDRNOTAVAIL;
	}
	config->listen_fd = fd;
	config->unix_path = strdup(path);
	snprintf(config->url, sizeof(config->url), "unix:%s", path);
	/* not through a symbolic link put there since the bind */
	if (!config->unix_path || fchmodat(AT_FDCWD, path, 0666, AT_SYMLINK_NOFOLLOW) ||
	    listen(fd, 64)) {
		err = config->unix_path ? -errno : -ENOMEM;
		snprintf(reason, reason_size, "cannot serve on unix:%s: %s", path, strerror(-err));
		return -EADDRNOTAVAIL;
	}
	return 0;
}

/* Defined by the static build only (tools/static/notls.c), whose
 * libmicrohttpd has no GnuTLS behind it. */
extern const char parkwatch_no_tls_reason[] __attribute__((weak));

int http_config__load(struct http_config *config, const struct http_opts *opts, char *reason,
		      size_t reason_size)
{
	int err = 0;

	config->listen_fd = -1;
	if (opts->auth_file)
		err = load_credentials(config, opts->auth_file, reason, reason_size);
	if (!err && (!!opts->tls_cert_file != !!opts->tls_key_file)) {
		snprintf(reason, reason_size, "TLS needs both --http-tls-cert and --http-tls-key");
		err = -EINVAL;
	}
	if (!err && opts->tls_cert_file) {
		if (parkwatch_no_tls_reason) {
			snprintf(reason, reason_size, "%s", parkwatch_no_tls_reason);
			err = -ENOTSUP;
		} else if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(reason, reason_size, "this libmicrohttpd was built without TLS");
			err = -ENOTSUP;
		} else if (!(config->tls_cert = read_file(opts->tls_cert_file, reason, reason_size)) ||
			   !(config->tls_key = read_file(opts->tls_key_file, reason, reason_size))) {
			err = -EINVAL;
		}
	}
	if (err)
		return err;
	if (opts->address && !strncmp(opts->address, HTTP_UNIX_PREFIX, strlen(HTTP_UNIX_PREFIX)))
		return serve_on_unix(config, opts->address + strlen(HTTP_UNIX_PREFIX), reason,
				     reason_size);
	return serve_on_tcp(config, opts, reason, reason_size);
}

void http_config__release(struct http_config *config)
{
	if (config->listen_fd >= 0)
		close(config->listen_fd);
	/* without the rights to (privileges dropped), the next start replaces it */
	if (config->unix_path && unlink(config->unix_path) && errno != EACCES && errno != EPERM &&
	    errno != ENOENT)
		fprintf(stderr, "parkwatch: cannot remove unix:%s: %s\n", config->unix_path,
			strerror(errno));
	free(config->unix_path);
	for (size_t i = 0; i < config->credential_count; i++) {
		free(config->credentials[i].user);
		free(config->credentials[i].password);
	}
	free(config->tls_cert);
	free(config->tls_key);
}
