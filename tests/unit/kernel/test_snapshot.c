// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of the parsing of snapshot iterator output (user/snapshot.c),
 * on buffers laid out by hand: no BPF. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/snapshot.h"

struct builder {
	char *buf;
	size_t len, cap;
};

static void append(struct builder *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->buf = realloc(b->buf, b->cap);
		assert_non_null(b->buf);
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
}

/* One record followed by its kernel addresses and stack bytes; the
 * addresses are base + i, the stack bytes (tid + i) & 0xff. */
static void add_record(struct builder *b, __u32 tgid, __u32 tid, __u32 kstack_depth,
		       __u32 ustack_bytes)
{
	struct task_record rec = { .tgid = tgid, .tid = tid, .kstack_depth = kstack_depth,
				   .ustack_bytes = ustack_bytes };

	snprintf(rec.comm, sizeof(rec.comm), "t%u", tid);
	rec.flags = ustack_bytes ? TASK_REC_USTACK : 0;
	rec.regs[PW_REG_SP] = 0x7ffc00000000ULL + tid;
	append(b, &rec, sizeof(rec));
	for (__u32 i = 0; i < kstack_depth; i++) {
		__u64 addr = 0xffffffff81000000ULL + tid * 0x100 + i;

		append(b, &addr, sizeof(addr));
	}
	for (__u32 i = 0; i < ustack_bytes; i++) {
		__u8 byte = (__u8)(tid + i);

		append(b, &byte, 1);
	}
}

static void test_empty(void **state)
{
	struct snapshot *snap = NULL;

	(void)state;
	assert_int_equal(snapshot__parse(NULL, 0, &snap), 0);
	assert_non_null(snap);
	assert_int_equal(snap->count, 0);
	snapshot__free(snap);
}

static void test_records_and_payloads(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap = NULL;

	(void)state;
	add_record(&b, 100, 100, 0, 0);
	add_record(&b, 100, 101, 3, 0);
	add_record(&b, 100, 102, 0, 64);
	add_record(&b, 200, 201, PARK_KSTACK_DEPTH, PARK_USTACK_MAX_BYTES);
	assert_int_equal(snapshot__parse(b.buf, b.len, &snap), 0);
	assert_int_equal(snap->count, 4);
	assert_ptr_equal(snap->buf, b.buf);
	assert_int_equal(snap->buf_len, b.len);

	assert_int_equal(snap->threads[0].rec->tid, 100);
	assert_null(snap->threads[0].kstack);
	assert_null(snap->threads[0].ustack);
	assert_ptr_equal(snap->threads[0].rec, b.buf);

	assert_int_equal(snap->threads[1].rec->tid, 101);
	assert_non_null(snap->threads[1].kstack);
	assert_ptr_equal(snap->threads[1].kstack, (const char *)snap->threads[1].rec +
						  sizeof(struct task_record));
	for (int i = 0; i < 3; i++)
		assert_true(snap->threads[1].kstack[i] == 0xffffffff81000000ULL + 101 * 0x100 + i);
	assert_null(snap->threads[1].ustack);

	assert_int_equal(snap->threads[2].rec->tid, 102);
	assert_null(snap->threads[2].kstack);
	assert_non_null(snap->threads[2].ustack);
	for (int i = 0; i < 64; i++)
		assert_int_equal(snap->threads[2].ustack[i], (__u8)(102 + i));
	assert_string_equal(snap->threads[2].rec->comm, "t102");

	assert_int_equal(snap->threads[3].rec->tgid, 200);
	assert_true(snap->threads[3].kstack[PARK_KSTACK_DEPTH - 1] ==
		    0xffffffff81000000ULL + 201 * 0x100 + PARK_KSTACK_DEPTH - 1);
	assert_int_equal(snap->threads[3].ustack[PARK_USTACK_MAX_BYTES - 1],
			 (__u8)(201 + PARK_USTACK_MAX_BYTES - 1));
	assert_ptr_equal(snap->threads[3].ustack + PARK_USTACK_MAX_BYTES, b.buf + b.len);
	snapshot__free(snap);
}

/* More records than the first allocation of samples holds. */
static void test_many_records(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap = NULL;

	(void)state;
	for (__u32 i = 0; i < 1000; i++)
		add_record(&b, 1 + i / 10, 1000 + i, i % 4, (i % 3) * 8);
	assert_int_equal(snapshot__parse(b.buf, b.len, &snap), 0);
	assert_int_equal(snap->count, 1000);
	for (__u32 i = 0; i < 1000; i++) {
		assert_int_equal(snap->threads[i].rec->tid, 1000 + i);
		assert_int_equal(snap->threads[i].rec->kstack_depth, i % 4);
		if (i % 3)
			assert_int_equal(snap->threads[i].ustack[0], (__u8)(1000 + i));
	}
	snapshot__free(snap);
}

static bool aligned(const void *ptr)
{
	return (uintptr_t)ptr % _Alignof(struct task_record) == 0;
}

/* An odd user stack (an odd stack pointer gives one) leaves the next record
 * misaligned in the iterator's output: the samples must still be aligned
 * structs and addresses (UBSan, in make unit-sanitize, checks each read). */
static void test_odd_stack_lengths(void **state)
{
	struct builder b = { 0 };
	struct snapshot *snap = NULL;

	(void)state;
	add_record(&b, 100, 100, 2, 13);
	add_record(&b, 100, 101, 3, 1);
	add_record(&b, 100, 102, 1, 0);
	add_record(&b, 100, 103, 0, 7);
	assert_int_equal(snapshot__parse(b.buf, b.len, &snap), 0);
	assert_int_equal(snap->count, 4);
	for (__u32 i = 0; i < 4; i++) {
		const struct thread_sample *sample = &snap->threads[i];
		__u32 tid = 100 + i;

		assert_true(aligned(sample->rec));
		assert_int_equal(sample->rec->tid, tid);
		assert_int_equal(sample->rec->regs[PW_REG_SP], 0x7ffc00000000ULL + tid);
		for (__u32 k = 0; k < sample->rec->kstack_depth; k++) {
			assert_true(aligned(&sample->kstack[k]));
			assert_true(sample->kstack[k] == 0xffffffff81000000ULL + tid * 0x100 + k);
		}
		for (__u32 k = 0; k < sample->rec->ustack_bytes; k++)
			assert_int_equal(sample->ustack[k], (__u8)(tid + k));
	}
	assert_int_equal(snap->threads[0].rec->ustack_bytes, 13);
	assert_int_equal(snap->threads[2].rec->kstack_depth, 1);
	assert_null(snap->threads[2].ustack);
	snapshot__free(snap);
}

static void check_malformed(struct builder *b)
{
	struct snapshot *snap = (struct snapshot *)0x1;

	assert_int_equal(snapshot__parse(b->buf, b->len, &snap), -EPROTO);
	assert_ptr_equal(snap, (struct snapshot *)0x1); /* untouched; buf was freed */
	*b = (struct builder){ 0 };
}

static void test_malformed(void **state)
{
	struct builder b = { 0 };
	struct task_record *rec;

	(void)state;
	/* kernel stack deeper than the BPF side can write */
	add_record(&b, 1, 1, 0, 0);
	add_record(&b, 1, 2, PARK_KSTACK_DEPTH + 1, 0);
	check_malformed(&b);

	/* more stack bytes than a record may carry */
	add_record(&b, 1, 1, 0, 0);
	add_record(&b, 1, 2, 0, PARK_USTACK_MAX_BYTES + 8);
	check_malformed(&b);

	/* payload cut short */
	add_record(&b, 1, 1, 2, 64);
	b.len -= 1;
	check_malformed(&b);

	add_record(&b, 1, 1, 4, 0);
	b.len -= 8;
	check_malformed(&b);

	/* a bad record after a misaligned one */
	add_record(&b, 1, 1, 0, 3);
	add_record(&b, 1, 2, PARK_KSTACK_DEPTH + 1, 0);
	check_malformed(&b);

	/* a record claiming a huge stack in a short buffer */
	add_record(&b, 1, 1, 0, 0);
	rec = (struct task_record *)b.buf;
	rec->ustack_bytes = 0xfffffff0;
	check_malformed(&b);
}

#define MIN_PARK_NS 1000000000ULL
#define PARKED_AT_NS 5000000000ULL

/* A record of the builder's last one made a parked thread's, since
 * PARKED_AT_NS. */
static void park_last(struct builder *b, size_t at)
{
	struct task_record *rec = (struct task_record *)(b->buf + at);

	rec->state = PARK_TASK_INTERRUPTIBLE;
	rec->park_start_ns = PARKED_AT_NS;
	rec->now_ns = PARKED_AT_NS + 10;
}

static __u64 changed[PARK_CHANGED_WORDS];

static bool marked(__u32 tgid)
{
	return changed[tgid / 64] >> (tgid % 64) & 1;
}

/* The last snapshot of test_carry: process 100's thread 100 parked with
 * its stack copied and kernel frames, 101 parked too briefly for a stack;
 * process 200 running. */
static struct snapshot *last_of_three(void)
{
	struct builder b = { 0 };
	struct snapshot *last = NULL;
	size_t at;

	at = b.len;
	add_record(&b, 100, 100, 2, 24);
	park_last(&b, at);
	at = b.len;
	add_record(&b, 100, 101, 0, 0);
	park_last(&b, at);
	add_record(&b, 200, 200, 0, 0);
	assert_int_equal(snapshot__parse(b.buf, b.len, &last), 0);
	return last;
}

/*
 * What the next snapshot keeps of the last one: the unmarked processes'
 * records as of the new time, a copied stack turned into "seen" (its bytes
 * dropped, its kernel frames kept); a marked process's not at all; and a
 * process with a thread whose stack has come due since is marked.
 */
static void test_carry(void **state)
{
	struct snapshot *last = last_of_three(), *next = NULL;
	void *buf = NULL;
	size_t len = 0;

	(void)state;
	memset(changed, 0, sizeof(changed));
	changed[200 / 64] |= 1ULL << (200 % 64);
	snapshot__mark_due(last, changed, PARKED_AT_NS + MIN_PARK_NS - 1, MIN_PARK_NS);
	assert_false(marked(100));
	snapshot__carry(last, changed, PARKED_AT_NS + MIN_PARK_NS - 1, &buf, &len);
	assert_int_equal(last->count, 0);
	snapshot__free(last);
	assert_int_equal(snapshot__parse(buf, len, &next), 0);
	assert_int_equal(next->count, 2);
	assert_int_equal(next->threads[0].rec->tid, 100);
	assert_true(next->threads[0].rec->now_ns == PARKED_AT_NS + MIN_PARK_NS - 1);
	assert_int_equal(next->threads[0].rec->flags, TASK_REC_USTACK_SEEN);
	assert_int_equal(next->threads[0].rec->ustack_bytes, 0);
	assert_null(next->threads[0].ustack);
	assert_int_equal(next->threads[0].rec->kstack_depth, 2);
	assert_true(next->threads[0].kstack[1] == 0xffffffff81000000ULL + 100 * 0x100 + 1);
	assert_true(next->threads[0].rec->park_start_ns == PARKED_AT_NS);
	assert_int_equal(next->threads[1].rec->tid, 101);
	assert_string_equal(next->threads[1].rec->comm, "t101");
	snapshot__free(next);

	/* tid 101 has now been parked min_park: process 100 is read again */
	last = last_of_three();
	snapshot__mark_due(last, changed, PARKED_AT_NS + MIN_PARK_NS, MIN_PARK_NS);
	assert_true(marked(100) && marked(200));
	snapshot__carry(last, changed, PARKED_AT_NS + MIN_PARK_NS, &buf, &len);
	assert_int_equal(len, 0);
	free(buf);
	snapshot__free(last);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_records_and_payloads),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test(test_odd_stack_lengths),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_carry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
