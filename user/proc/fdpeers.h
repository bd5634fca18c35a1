/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Who holds the other end of what a thread waits on (a pipe, a FIFO, a
 * UNIX socket, a local TCP connection): one bounded scan of every
 * process's /proc/PID/fd for all of a picture's requests.
 *
 * A live view or the daemon keeps what the scans found from one picture
 * to the next: a holder found is confirmed by one readlink of the fd it
 * was found at, and a request that no other process held keeps that
 * answer for FDPEERS_RESCAN_NS before the next scan for it.  Scanning
 * every picture was half of the files the daemon opened: 1,500 of 3,000
 * per picture with 200 processes, one broker round trip each, because a
 * thread that waits on its own process's pipe sends the scan through
 * every process there is.
 */
#ifndef PARKWATCH_FDPEERS_H
#define PARKWATCH_FDPEERS_H

#include <sys/types.h>
#include <linux/types.h>
#include "model/picture.h"

/* The scan's bounds: processes and fds looked at, over all processes and
 * in any one of them. */
#define FDPEERS_SCAN_MAX_PROCS 16384
#define FDPEERS_SCAN_MAX_FDS (1 << 18)
#define FDPEERS_SCAN_MAX_FDS_PER_PROC 16384
/* How long a request nobody else held is answered without a scan. */
#define FDPEERS_RESCAN_NS (10ULL * 1000000000ULL)

/* Which holders of the other end count: for a pipe or FIFO, the side
 * the waiter doesn't use. */
enum fdpeers_access {
	FDPEERS_ANY,
	FDPEERS_WRITER,
	FDPEERS_READER,
};

struct fdpeers;

/* NULL when out of memory. */
struct fdpeers *fdpeers__new(void);
/* NULL-safe. */
void fdpeers__free(struct fdpeers *peers);
/*
 * Asks the next fdpeers__find for a holder of target (as /proc/PID/fd
 * links name it) other than waiter's process, open for access; out gets
 * the answer.  0 or -ENOMEM.
 */
int fdpeers__want(struct fdpeers *peers, struct pw_fd *out, pid_t waiter, const char *target,
		  enum fdpeers_access access);
/*
 * peer_pid and peer_comm of every request since the last call: the
 * holder other than the waiter's process when there is one, else the
 * waiter's process itself when it holds the other end.  What no request
 * asked for this time is forgotten.  0 or -ENOMEM.
 */
int fdpeers__find(struct fdpeers *peers, struct pw_picture *picture);

#endif /* PARKWATCH_FDPEERS_H */
