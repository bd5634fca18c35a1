// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Snapshots: the task iterator run over every task or over the processes
 * that changed, its output split into samples (snapshot.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/snapshot.h"
#include "util/clock.h"
#include "util/units.h"

/* A buffer a snapshot's records are gathered in. */
struct records {
	char *buf;
	size_t len, cap;
};

static int make_room(struct records *r, size_t more)
{
	size_t cap = r->cap ? r->cap : 1 << 16;
	char *grown;

	while (cap - r->len < more)
		cap *= 2;
	if (cap == r->cap)
		return 0;
	grown = realloc(r->buf, cap);
	if (!grown)
		return -ENOMEM;
	r->buf = grown;
	r->cap = cap;
	return 0;
}

/* Appends what the iterator stream fd gives, to its end. */
static int read_all(int fd, struct records *r)
{
	ssize_t n;

	for (;;) {
		if (make_room(r, 65536))
			return -ENOMEM;
		n = read(fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r->len += n;
	}
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

/* The records' buffer as a snapshot, the doubling's slack given back: the
 * records are most of a picture's peak.  r's buffer is taken over. */
static int parse_records(struct records *r, struct snapshot **out)
{
	char *buf = realloc(r->buf, r->len ? r->len : 1);

	if (!buf)
		buf = r->buf;
	r->buf = NULL;
	if (!buf)
		return -ENOMEM;
	return snapshot__parse(buf, r->len, out);
}

static bool has(const __u64 *changed, __u32 tgid)
{
	return tgid < PARK_PID_LIMIT && (changed[tgid / 64] >> (tgid % 64) & 1);
}

static void set(__u64 *changed, __u32 tgid)
{
	if (tgid < PARK_PID_LIMIT)
		changed[tgid / 64] |= 1ULL << (tgid % 64);
}

/* A thread parked, without a stack copied for this park, that has now been
 * parked long enough for one: the BPF side copies it when it is read. */
static bool stack_due(const struct task_record *rec, __u64 now_ns, __u64 min_park_ns)
{
	return (rec->state & PARK_TASK_SLEEP_MASK) && rec->park_start_ns &&
	       !(rec->flags & (TASK_REC_USTACK | TASK_REC_USTACK_SEEN)) &&
	       now_ns - rec->park_start_ns >= min_park_ns;
}

void snapshot__mark_due(const struct snapshot *last, __u64 *changed, __u64 now_ns,
			__u64 min_park_ns)
{
	for (size_t i = 0; i < last->count; i++)
		if (stack_due(last->threads[i].rec, now_ns, min_park_ns))
			set(changed, last->threads[i].rec->tgid);
}

void snapshot__carry(struct snapshot *last, const __u64 *changed, __u64 now_ns, void **buf,
		     size_t *len)
{
	char *records = last->buf;
	size_t to = 0;

	/* in place, front to back: a record only ever moves down, and keeps no
	 * more than it had, so none is overwritten before it is moved */
	for (size_t i = 0; i < last->count; i++) {
		const struct thread_sample *sample = &last->threads[i];
		size_t bytes = sizeof(*sample->rec) + (size_t)sample->rec->kstack_depth * sizeof(__u64);
		struct task_record *rec;

		if (has(changed, sample->rec->tgid))
			continue;
		rec = memmove(records + to, sample->rec, bytes);
		rec->now_ns = now_ns;
		/* its stack was unwound from the last one: cached for the park */
		if (rec->flags & TASK_REC_USTACK)
			rec->flags = (rec->flags & ~TASK_REC_USTACK) | TASK_REC_USTACK_SEEN;
		rec->ustack_bytes = 0;
		to += bytes;
	}
	free(last->threads);
	last->threads = NULL;
	last->count = 0;
	last->buf = NULL;
	*buf = records;
	*len = to;
}

/* A whole read at least this often: a change no mark covers (a renamed
 * cgroup) shows within it. */
#define FULL_EVERY_NS (60 * NSEC_PER_SEC)
/* Reading a process alone costs an iterator of its own: past this many
 * (and a quarter of those the last snapshot had), every task is read. */
#define CHANGED_ALONE_MAX 64

struct snapshots {
	struct tracker *tracker;
	struct snapshot *last;      /* kept for the next: its unchanged processes' records */
	__u64 last_full_ns;
	__u64 changed[PARK_CHANGED_WORDS];
};

struct snapshots *snapshots__new(struct tracker *tracker)
{
	struct snapshots *snaps = calloc(1, sizeof(*snaps));

	if (snaps)
		snaps->tracker = tracker;
	return snaps;
}

void snapshots__free(struct snapshots *snaps)
{
	if (!snaps)
		return;
	snapshot__free(snaps->last);
	free(snaps);
}

static int read_stream(int fd, struct records *r)
{
	int err;

	if (fd < 0)
		return fd;
	err = read_all(fd, r);
	close(fd);
	return err;
}

/* Calls visit with each watched process marked in snaps->changed, until
 * one returns an error, which it returns. */
static int for_each_changed(struct snapshots *snaps, int (*visit)(struct snapshots *, pid_t, void *),
			    void *ctx)
{
	for (size_t w = 0; w < PARK_CHANGED_WORDS; w++) {
		for (__u64 bits = snaps->changed[w]; bits; bits &= bits - 1) {
			pid_t tgid = (pid_t)(w * 64 + (size_t)__builtin_ctzll(bits));
			int err = tracker__watches(snaps->tracker, tgid) ? visit(snaps, tgid, ctx) : 0;

			if (err)
				return err;
		}
	}
	return 0;
}

static int count_one(struct snapshots *snaps, pid_t tgid, void *count)
{
	(void)snaps;
	(void)tgid;
	++*(size_t *)count;
	return 0;
}

/* Whether so many watched processes changed that one iterator over every
 * task is cheaper than one for each of them. */
static bool too_many_changed(struct snapshots *snaps)
{
	size_t count = 0, leaders = 0;

	for (size_t i = 0; i < snaps->last->count; i++)
		leaders += snaps->last->threads[i].rec->tid == snaps->last->threads[i].rec->tgid;
	for_each_changed(snaps, count_one, &count);
	return count > CHANGED_ALONE_MAX && count * 4 > leaders;
}

/* A changed process read again, after the others' records. */
static int read_one(struct snapshots *snaps, pid_t tgid, void *records)
{
	int err = read_stream(tracker__process_snapshot_fd(snaps->tracker, tgid), records);

	return err == -ENOENT || err == -ESRCH ? 0 : err; /* gone: no records, as it should be */
}

int snapshots__take(struct snapshots *snaps, const struct snapshot **out)
{
	__u64 now_ns = clock__monotonic_ns();
	struct records r = { 0 };
	struct snapshot *snap = NULL;
	bool whole = !snaps->last || now_ns - snaps->last_full_ns >= FULL_EVERY_NS;
	int err;

	*out = NULL;
	/* taken first: a change from now on is read below or marked again */
	tracker__take_changed(snaps->tracker, snaps->changed);
	if (!whole) {
		snapshot__mark_due(snaps->last, snaps->changed, now_ns,
				   tracker__min_park_ns(snaps->tracker));
		whole = too_many_changed(snaps);
	}
	if (whole) {
		err = read_stream(tracker__snapshot_fd(snaps->tracker), &r);
		snaps->last_full_ns = now_ns;
	} else {
		void *buf;

		r.cap = snaps->last->buf_len;
		snapshot__carry(snaps->last, snaps->changed, now_ns, &buf, &r.len);
		r.buf = buf;
		err = for_each_changed(snaps, read_one, &r);
	}
	if (!err)
		err = parse_records(&r, &snap);
	if (err) {
		/* the marks are spent: the next snapshot reads everything */
		free(r.buf);
		snapshot__free(snaps->last);
		snaps->last = NULL;
		return err;
	}
	snapshot__free(snaps->last);
	snaps->last = snap;
	*out = snap;
	return 0;
}

void snapshot__free(struct snapshot *snap)
{
	if (!snap)
		return;
	free(snap->threads);
	free(snap->buf);
	free(snap);
}
