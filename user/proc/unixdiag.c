// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* UNIX socket peers through NETLINK_SOCK_DIAG (unixdiag.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include "proc/unixdiag.h"

#define DIAG_REPLY_MAX 8192         /* one socket's message with one attribute */
#define DIAG_RECV_TRIES 4           /* replies to earlier requests are skipped */

int unixdiag__open(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

/* The peer attribute of msg, a reply of len bytes about inode: 0 or -ENOENT. */
static int peer_of_reply(const struct nlmsghdr *msg, __u64 inode, __u64 *peer)
{
	const struct unix_diag_msg *diag = NLMSG_DATA(msg);
	const struct rtattr *attr = (const struct rtattr *)(diag + 1);
	int attrs_len = (int)msg->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*diag));
	__u32 value;

	if (msg->nlmsg_len < NLMSG_LENGTH(sizeof(*diag)) || diag->udiag_ino != inode)
		return -ENOENT;
	for (; RTA_OK(attr, attrs_len); attr = RTA_NEXT(attr, attrs_len)) {
		if (attr->rta_type != UNIX_DIAG_PEER || RTA_PAYLOAD(attr) < sizeof(value))
			continue;
		memcpy(&value, RTA_DATA(attr), sizeof(value));
		if (!value)
			return -ENOENT;
		*peer = value;
		return 0;
	}
	return -ENOENT;
}

/* 1 when the reply was not this request's */
static int read_reply(int diag_fd, __u32 seq, __u64 inode, __u64 *peer)
{
	union {
		struct nlmsghdr header;
		char bytes[DIAG_REPLY_MAX];
	} reply;
	ssize_t got = recv(diag_fd, &reply, sizeof(reply), MSG_DONTWAIT);
	int len = (int)got;

	if (got < 0)
		return errno == EAGAIN ? -ENOENT : -errno;
	for (struct nlmsghdr *msg = &reply.header; NLMSG_OK(msg, len); msg = NLMSG_NEXT(msg, len)) {
		if (msg->nlmsg_seq != seq)
			continue;
		if (msg->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *error = NLMSG_DATA(msg);

			if (msg->nlmsg_len < NLMSG_LENGTH(sizeof(*error)) || !error->error)
				return -ENOENT;
			return error->error;
		}
		if (msg->nlmsg_type == SOCK_DIAG_BY_FAMILY)
			return peer_of_reply(msg, inode, peer);
	}
	return 1;
}

int unixdiag__peer(int diag_fd, __u64 inode, __u64 *peer)
{
	struct {
		struct nlmsghdr header;
		struct unix_diag_req request;
	} message = {
		.header = {
			.nlmsg_len = sizeof(message),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST,
			.nlmsg_seq = (__u32)inode,
		},
		.request = {
			.sdiag_family = AF_UNIX,
			.udiag_states = UINT32_MAX,
			.udiag_ino = (__u32)inode,
			.udiag_show = UDIAG_SHOW_PEER,
			.udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
		},
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int err = 1;

	*peer = 0;
	/* socket inodes are 32-bit numbers (get_next_ino) */
	if (!inode || inode > UINT32_MAX)
		return -ENOENT;
	if (sendto(diag_fd, &message, sizeof(message), 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	/* the kernel answers within sendto: a reply is there or never comes */
	for (int i = 0; i < DIAG_RECV_TRIES && err == 1; i++)
		err = read_reply(diag_fd, message.header.nlmsg_seq, inode, peer);
	return err == 1 ? -ENOENT : err;
}
