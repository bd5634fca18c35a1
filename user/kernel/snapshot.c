// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Run the task iterator and split its output into samples (snapshot.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/snapshot.h"

static int read_all(int fd, void **out, size_t *out_len)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (cap - len < 65536) {
			grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (n == 0)
			break;
		len += n;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int snapshot__parse(void *buf, size_t len, struct snapshot **out)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	size_t cap = 0, off = 0;

	if (!snap) {
		free(buf);
		return -ENOMEM;
	}
	snap->buf = buf;
	snap->buf_len = len;
	while (off + sizeof(struct task_record) <= len) {
		const struct task_record *rec = (const void *)((char *)buf + off);
		size_t kstack_len = (size_t)rec->kstack_depth * sizeof(__u64);
		struct thread_sample *sample;

		if (rec->kstack_depth > PARK_KSTACK_DEPTH || rec->ustack_bytes > PARK_USTACK_MAX_BYTES ||
		    off + sizeof(*rec) + kstack_len + rec->ustack_bytes > len) {
			snapshot__free(snap);
			return -EPROTO;
		}
		if (snap->count == cap) {
			struct thread_sample *grown;

			cap = cap ? cap * 2 : 256;
			grown = realloc(snap->threads, cap * sizeof(*grown));
			if (!grown) {
				snapshot__free(snap);
				return -ENOMEM;
			}
			snap->threads = grown;
		}
		sample = &snap->threads[snap->count++];
		off += sizeof(*rec);
		sample->rec = rec;
		sample->kstack = kstack_len ? (const void *)((char *)buf + off) : NULL;
		off += kstack_len;
		sample->ustack = rec->ustack_bytes ? (const void *)((char *)buf + off) : NULL;
		off += rec->ustack_bytes;
	}
	*out = snap;
	return 0;
}

int snapshot__collect(struct tracker *tracker, struct snapshot **out)
{
	void *buf = NULL;
	size_t len = 0;
	int fd, err;

	fd = tracker__snapshot_fd(tracker);
	if (fd < 0)
		return fd;
	err = read_all(fd, &buf, &len);
	close(fd);
	if (err)
		return err;
	return snapshot__parse(buf, len, out);
}

void snapshot__free(struct snapshot *snap)
{
	if (!snap)
		return;
	free(snap->threads);
	free(snap->buf);
	free(snap);
}
