// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Run the task iterator and split its output into samples (snapshot.h). */
#include <errno.h>
#include <stdbool.h>
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
	/* the doubling's slack back: the records are most of a picture's peak */
	grown = realloc(buf, len ? len : 1);
	*out = grown ? grown : buf;
	*out_len = len;
	return 0;
}

/* The record at off and the stacks after it, or 0 when none starts there
 * (the iterator's output ends) or -EPROTO when it overruns the buffer. */
static ssize_t record_bytes(const char *buf, size_t len, size_t off)
{
	struct task_record rec;
	size_t bytes;

	if (off + sizeof(rec) > len)
		return 0;
	memcpy(&rec, buf + off, sizeof(rec)); /* off may be misaligned: see realign */
	if (rec.kstack_depth > PARK_KSTACK_DEPTH || rec.ustack_bytes > PARK_USTACK_MAX_BYTES)
		return -EPROTO;
	bytes = sizeof(rec) + (size_t)rec.kstack_depth * sizeof(__u64) + rec.ustack_bytes;
	if (off + bytes > len)
		return -EPROTO;
	return (ssize_t)bytes;
}

#define RECORD_ALIGN _Alignof(struct task_record)

static size_t aligned(size_t bytes)
{
	return (bytes + RECORD_ALIGN - 1) / RECORD_ALIGN * RECORD_ALIGN;
}

/*
 * Records follow user stacks of any length (an odd stack pointer gives an
 * odd one), so a record may start misaligned, and the samples point into
 * the buffer as structs and __u64 arrays.  When one does, each record is
 * moved to an aligned start, in place (the buffer grown for the padding),
 * not copied: a copy would double the largest buffer a picture holds.
 * The last record moves first: each goes no lower than it was, over those
 * already moved.  0, -EPROTO or -ENOMEM; buf is replaced only on success.
 */
static int realign(void **buf, size_t *len)
{
	size_t off = 0, records = 0, aligned_len = 0, *starts;
	bool misaligned = false;
	char *grown;
	ssize_t bytes;

	while ((bytes = record_bytes(*buf, *len, off)) > 0) {
		misaligned |= off % RECORD_ALIGN != 0;
		aligned_len += aligned((size_t)bytes);
		off += bytes;
		records++;
	}
	if (bytes < 0)
		return (int)bytes;
	if (!misaligned)
		return 0;
	starts = malloc((records + 1) * sizeof(*starts));
	grown = starts ? realloc(*buf, aligned_len) : NULL;
	if (!grown) {
		free(starts);
		return -ENOMEM;
	}
	*buf = grown;
	off = 0;
	for (size_t i = 0; i < records; i++) {
		starts[i] = off;
		off += (size_t)record_bytes(grown, *len, off);
	}
	starts[records] = off;
	for (size_t i = records, to = aligned_len; i-- > 0;) {
		size_t record = starts[i + 1] - starts[i];

		to -= aligned(record);
		memmove(grown + to, grown + starts[i], record);
	}
	free(starts);
	*len = aligned_len;
	return 0;
}

/*
 * The samples of snap's buffer, records one after another (padded: each
 * rounded up to RECORD_ALIGN, as realign lays them out).  -EAGAIN when a
 * record starts misaligned, -EPROTO or -ENOMEM.  One pass: the records lie
 * a stack apart, so each is a cache miss, once.
 */
static int split(struct snapshot *snap, bool padded)
{
	size_t cap = 0, off = 0;
	ssize_t bytes;

	snap->count = 0;
	while ((bytes = record_bytes(snap->buf, snap->buf_len, off)) > 0) {
		const struct task_record *rec;
		struct thread_sample *sample;
		size_t kstack_len;

		/* not read as a struct before it is known to be aligned */
		if (off % RECORD_ALIGN)
			return -EAGAIN;
		rec = (const void *)((char *)snap->buf + off);
		kstack_len = (size_t)rec->kstack_depth * sizeof(__u64);
		if (snap->count == cap) {
			struct thread_sample *grown;

			cap = cap ? cap * 2 : 256;
			grown = realloc(snap->threads, cap * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			snap->threads = grown;
		}
		sample = &snap->threads[snap->count++];
		sample->rec = rec;
		sample->kstack = kstack_len ? (const void *)(rec + 1) : NULL;
		sample->ustack = rec->ustack_bytes ? (const void *)((char *)(rec + 1) + kstack_len)
						   : NULL;
		off += padded ? ((size_t)bytes + RECORD_ALIGN - 1) / RECORD_ALIGN * RECORD_ALIGN
			      : (size_t)bytes;
	}
	return (int)bytes;
}

int snapshot__parse(void *buf, size_t len, struct snapshot **out)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	int err;

	if (!snap) {
		free(buf);
		return -ENOMEM;
	}
	snap->buf = buf;
	snap->buf_len = len;
	err = split(snap, false);
	if (err == -EAGAIN) {
		err = realign(&snap->buf, &snap->buf_len);
		if (!err)
			err = split(snap, true);
	}
	if (err) {
		snapshot__free(snap);
		return err;
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
