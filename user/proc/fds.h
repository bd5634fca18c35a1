/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a file descriptor a thread waits on is, for the picture's
 * pw_fd: a TCP or UDP socket with its ends and state, a UNIX socket, a
 * pipe or FIFO, an eventfd, an epoll instance and how many fds it
 * watches, a file.  Read from /proc/PID/task/TID/fd/N, the socket tables
 * of the thread's own network namespace (proc/nettables.h) and, for a UNIX
 * socket's other end, NETLINK_SOCK_DIAG (proc/unixdiag.h; in parkwatch's
 * own network namespace only: it keeps no capability to enter another).
 *
 * One fds serves one picture: socket tables are read once per namespace
 * and only when a socket is described; the processes at the other end of
 * pipes, FIFOs, UNIX sockets and local TCP connections are found for all
 * of them at once (fds__find_peers, fdpeers.h).  A process that exits
 * meanwhile is just not found.
 */
#ifndef PARKWATCH_FDS_H
#define PARKWATCH_FDS_H

#include <stdbool.h>
#include <sys/types.h>
#include "model/picture.h"

#define FDS_EPOLL_MAX_LINES 65536   /* of an epoll fd's fdinfo: beyond, "at least" */

struct fds;
struct fdpeers;

/* NULL when out of memory.  peers: what earlier pictures found of the
 * other ends (fdpeers.h), NULL for a picture of its own. */
struct fds *fds__new(struct fdpeers *peers);
/* NULL-safe; the descriptions stay the picture's. */
void fds__free(struct fds *fds);
/*
 * A description of fd of thread tid of process pid, new in picture, into
 * *out.  reading: the thread waits to read from it (read, recv, accept),
 * so the other end of a pipe or FIFO is whoever holds it open for writing;
 * else to write.  Its peer is filled in by fds__find_peers.  0, -ENOENT
 * (no such fd, or the thread is gone) or -ENOMEM.
 */
int fds__describe(struct fds *fds, struct pw_picture *picture, pid_t pid, pid_t tid, int fd,
		  bool reading, struct pw_fd **out);
/*
 * peer_pid and peer_comm of every description so far that has another
 * end: the holder other than the waiter's process when there is one, else
 * the waiter's process itself when it holds the other end (fdpeers__find).
 * 0 or -ENOMEM.
 */
int fds__find_peers(struct fds *fds, struct pw_picture *picture);

/*
 * Argument index (0-5) of the syscall thread tid of pid sleeps in, from
 * /proc/PID/task/TID/syscall, when that is still syscall nr with first
 * argument arg0 (the same wait the snapshot saw): 0 and *value, else
 * -ENOENT.
 */
int fds__syscall_arg(pid_t pid, pid_t tid, long nr, __u64 arg0, int index, __u64 *value);

#endif /* PARKWATCH_FDS_H */
