// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Who holds the other end of a waited-on fd (fdpeers.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "park.h"
#include "proc/fdpeers.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/procfs.h"
#include "util/u64map.h"

/* A holder wanted for one description. */
struct peer_request {
	struct pw_fd *out;
	char *target;               /* the other end as /proc/PID/fd links name it */
	pid_t waiter;
	enum fdpeers_access access;
	pid_t other;                /* a holder other than the waiter's process */
	int other_fd;               /* ... and its fd there */
	bool self;                  /* the waiter's process holds it */
	bool answered;              /* by what an earlier picture's scan found */
	size_t next;                /* the next request for the same target, + 1 */
};

/* What a scan found for one (target, waiter, access). */
struct known_peer {
	char *target;
	pid_t waiter;
	enum fdpeers_access access;
	pid_t other;                /* 0: no other process held it */
	int other_fd;
	bool self;
	__u64 scanned_ns;           /* when a scan last found no other holder */
	unsigned int asked_in;      /* the round it was last asked for in */
};

struct fdpeers {
	struct peer_request *requests;
	size_t request_count, request_capacity;
	struct u64map wanted;       /* hash of a target -> its first request + 1 */
	struct u64map known;        /* key_of a request -> struct known_peer */
	unsigned int round;         /* fdpeers__find calls so far */
};

static __u64 target_hash(const char *target)
{
	return hash__bytes(target, strlen(target), 0) | 1;
}

static __u64 key_of(const char *target, pid_t waiter, enum fdpeers_access access)
{
	__u64 key = hash__bytes(&waiter, sizeof(waiter), target_hash(target));

	return hash__bytes(&access, sizeof(access), key) | 1;
}

struct fdpeers *fdpeers__new(void)
{
	return calloc(1, sizeof(struct fdpeers));
}

static void free_known(void *value)
{
	struct known_peer *known = value;

	free(known->target);
	free(known);
}

static void clear_requests(struct fdpeers *peers)
{
	u64map__clear(&peers->wanted);
	for (size_t i = 0; i < peers->request_count; i++)
		free(peers->requests[i].target);
	peers->request_count = 0;
}

void fdpeers__free(struct fdpeers *peers)
{
	if (!peers)
		return;
	clear_requests(peers);
	free(peers->requests);
	u64map__free_all(&peers->known, free_known);
	free(peers);
}

int fdpeers__want(struct fdpeers *peers, struct pw_fd *out, pid_t waiter, const char *target,
		  enum fdpeers_access access)
{
	__u64 key = target_hash(target);
	struct peer_request *request;

	if (peers->request_count == peers->request_capacity) {
		size_t capacity = peers->request_capacity ? 2 * peers->request_capacity : 16;
		struct peer_request *grown = realloc(peers->requests, capacity * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		peers->requests = grown;
		peers->request_capacity = capacity;
	}
	request = &peers->requests[peers->request_count];
	*request = (struct peer_request){
		.out = out, .target = strdup(target), .waiter = waiter, .access = access,
		.next = (uintptr_t)u64map__get(&peers->wanted, key),
	};
	if (!request->target)
		return -ENOMEM;
	peers->request_count++;
	return u64map__put(&peers->wanted, key, (void *)(uintptr_t)peers->request_count);
}

/* Whether fd of pid is open for what access asks, by its fdinfo flags. */
static bool open_for(pid_t pid, int fd, enum fdpeers_access access)
{
	char name[64], info[512], *flags_line;
	unsigned long flags;

	if (access == FDPEERS_ANY)
		return true;
	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	if (procfs__read(pid, name, info, sizeof(info)) < 0)
		return false;
	flags_line = strstr(info, "flags:");
	if (!flags_line || sscanf(flags_line, "flags: %lo", &flags) != 1)
		return false;
	if ((flags & O_ACCMODE) == O_RDWR)
		return true;
	return (flags & O_ACCMODE) == (access == FDPEERS_WRITER ? O_WRONLY : O_RDONLY);
}

/* Notes pid as a holder of target for each request of it; returns how
 * many requests a scan was for found their first other holder. */
static size_t note_holder(struct fdpeers *peers, pid_t pid, int fd, const char *target)
{
	size_t found = 0;

	for (size_t slot = (uintptr_t)u64map__get(&peers->wanted, target_hash(target)); slot;
	     slot = peers->requests[slot - 1].next) {
		struct peer_request *request = &peers->requests[slot - 1];

		if (strcmp(request->target, target) || (pid == request->waiter ? request->self :
						       request->other != 0))
			continue;
		if (!open_for(pid, fd, request->access))
			continue;
		if (pid == request->waiter) {
			request->self = true;
		} else {
			request->other = pid;
			request->other_fd = fd;
			found += !request->answered;
		}
	}
	return found;
}

/* A /proc entry named by a number (a pid, an fd): the number, else -1. */
static int number_of(const char *name)
{
	if (!name[0] || name[strspn(name, "0123456789")] != '\0' || strlen(name) > 9)
		return -1;
	return (int)strtol(name, NULL, 10);
}

/* One process's fds; *budget counts down the scan's readlinks. */
static size_t scan_process(struct fdpeers *peers, pid_t pid, size_t *budget)
{
	char path[64], link[80], target[PATH_MAX];
	size_t found = 0, seen = 0;
	struct dirent *entry;
	DIR *dir;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = procfs__opendir(path);
	if (!dir)
		return 0;
	while (*budget && seen < FDPEERS_SCAN_MAX_FDS_PER_PROC && (entry = readdir(dir))) {
		ssize_t len;

		fd = number_of(entry->d_name);
		if (fd < 0)
			continue;
		(*budget)--;
		seen++;
		snprintf(link, sizeof(link), "%s/%d", path, fd);
		len = procfs__readlink(link, target, sizeof(target));
		if (len <= 0)
			continue;
		if (u64map__get(&peers->wanted, target_hash(target)))
			found += note_holder(peers, pid, fd, target);
	}
	closedir(dir);
	return found;
}

/* Scans /proc until the pending requests have their other holder. */
static void scan(struct fdpeers *peers, size_t pending)
{
	size_t budget = FDPEERS_SCAN_MAX_FDS, processes = 0, found = 0;
	struct dirent *entry;
	DIR *proc = opendir("/proc");
	int pid;

	if (!proc)
		return;
	while (found < pending && budget && processes < FDPEERS_SCAN_MAX_PROCS &&
	       (entry = readdir(proc))) {
		pid = number_of(entry->d_name);
		if (pid <= 0)
			continue;
		processes++;
		found += scan_process(peers, pid, &budget);
	}
	closedir(proc);
}

/* Whether fd of pid is still the other end the request wants. */
static bool still_holds(const struct peer_request *request, pid_t pid, int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, fd);
	len = procfs__readlink(link, target, sizeof(target));
	return len > 0 && !strcmp(target, request->target) && open_for(pid, fd, request->access);
}

/* The request's answer from what an earlier scan found, if it holds. */
static bool answer_from_known(struct fdpeers *peers, struct peer_request *request, __u64 now)
{
	struct known_peer *known = u64map__get(&peers->known, key_of(request->target,
								       request->waiter,
								       request->access));

	if (!known || known->waiter != request->waiter || known->access != request->access ||
	    strcmp(known->target, request->target))
		return false;
	known->asked_in = peers->round;
	if (known->other ? !still_holds(request, known->other, known->other_fd)
			 : now - known->scanned_ns >= FDPEERS_RESCAN_NS)
		return false;
	request->other = known->other;
	request->other_fd = known->other_fd;
	request->self = known->self;
	request->answered = true;
	return true;
}

/* Keeps what the scan found for the request; 0 or -ENOMEM. */
static int remember(struct fdpeers *peers, const struct peer_request *request, __u64 now)
{
	__u64 key = key_of(request->target, request->waiter, request->access);
	struct known_peer *known = u64map__get(&peers->known, key);

	if (known && (known->waiter != request->waiter || known->access != request->access ||
		      strcmp(known->target, request->target)))
		return 0; /* another request whose key hashes alike: not kept */
	if (!known) {
		known = calloc(1, sizeof(*known));
		if (!known || !(known->target = strdup(request->target)) ||
		    u64map__put(&peers->known, key, known)) {
			if (known)
				free(known->target);
			free(known);
			return -ENOMEM;
		}
		known->waiter = request->waiter;
		known->access = request->access;
	}
	known->other = request->other;
	known->other_fd = request->other_fd;
	known->self = request->self;
	known->scanned_ns = now;
	known->asked_in = peers->round;
	return 0;
}

static bool asked_this_round(__u64 key, void *value, void *ctx)
{
	struct known_peer *known = value;

	(void)key;
	if (known->asked_in == *(const unsigned int *)ctx)
		return true;
	free_known(known);
	return false;
}

int fdpeers__find(struct fdpeers *peers, struct pw_picture *picture)
{
	__u64 now = clock__monotonic_ns();
	size_t pending = 0;
	int err = 0;

	for (size_t i = 0; i < peers->request_count; i++)
		pending += !answer_from_known(peers, &peers->requests[i], now);
	if (pending)
		scan(peers, pending);
	for (size_t i = 0; i < peers->request_count && !err; i++) {
		struct peer_request *request = &peers->requests[i];
		char comm[PARK_COMM_LEN];

		if (!request->answered || request->other != 0)
			err = remember(peers, request, now);
		request->out->peer_pid = request->other ? request->other :
				       request->self ? request->waiter : 0;
		if (err || !request->out->peer_pid)
			continue;
		procfs__comm(request->out->peer_pid, comm, sizeof(comm));
		if (comm[0] && !(request->out->peer_comm = picture__string(picture, comm)))
			err = -ENOMEM;
	}
	u64map__filter(&peers->known, asked_this_round, &peers->round);
	peers->round++;
	clear_requests(peers);
	return err;
}
