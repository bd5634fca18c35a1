/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The other end of a UNIX socket, which /proc/net/unix doesn't list: the
 * kernel's NETLINK_SOCK_DIAG answers with UNIX_DIAG_PEER (what `ss -x`
 * shows), for sockets of the network namespace the netlink socket was made
 * in.  No capability is needed for that.
 */
#ifndef PARKWATCH_UNIXDIAG_H
#define PARKWATCH_UNIXDIAG_H

#include <linux/types.h>

/* A NETLINK_SOCK_DIAG socket in this process's network namespace: its fd,
 * or -errno. */
int unixdiag__open(void);
/* The inode of the peer of the UNIX socket inode: 0, -ENOENT (no such
 * socket, or it has no peer) or another -errno.  Never blocks. */
int unixdiag__peer(int diag_fd, __u64 inode, __u64 *peer);

#endif /* PARKWATCH_UNIXDIAG_H */
