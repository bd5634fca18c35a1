// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The BPF/userspace boundary (bpf/park.h) byte by byte: records laid out at
 * literal offsets, the way the iterator writes them, must parse into the
 * fields the rest of parkwatch reads.  The offsets here are written out on
 * purpose, not taken from the structs: a change to park.h that moves a field
 * fails here (and in bpf/park_layout.h) instead of garbling records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/snapshot.h"

#define REASONS 11                  /* PARK_REASON__COUNT */
#define REGS 17                     /* PARK_NREGS */
#define RECORD_BYTES (248 + 2 * 8 * REASONS)

/* struct task_record */
#define AT_TID 0
#define AT_TGID 4
#define AT_COMM 8
#define AT_STATE 24
#define AT_FLAGS 28
#define AT_PARK_START_NS 32
#define AT_NOW_NS 40
#define AT_WAIT_SYSCALL_NR 48
#define AT_WAIT_REASON 52
#define AT_WAIT_HAS_TIMEOUT 54
#define AT_WAIT_ARG0 56
#define AT_REGS 64
#define AT_KSTACK_DEPTH 200
#define AT_USTACK_BYTES 204
#define AT_COUNTS_PARKS 208
#define AT_COUNTS_PARKED_NS (208 + 8 * REASONS)
#define AT_CSW (208 + 2 * 8 * REASONS)
#define AT_LEADER_START_NS (216 + 2 * 8 * REASONS)
#define AT_UIDS (224 + 2 * 8 * REASONS)
#define AT_CGROUPS_KEY (240 + 2 * 8 * REASONS)

static void put(__u8 *rec, size_t offset, __u64 value, size_t size)
{
	/* little endian, as on x86_64 */
	for (size_t i = 0; i < size; i++)
		rec[offset + i] = (__u8)(value >> (8 * i));
}

/* One record of thread tid as the iterator writes it, at buf, followed by
 * kstack_depth addresses and ustack_bytes stack bytes; returns its length. */
static size_t lay_out(__u8 *buf, __u32 tid, __u32 kstack_depth, __u32 ustack_bytes)
{
	size_t len = RECORD_BYTES;

	memset(buf, 0, RECORD_BYTES);
	put(buf, AT_TID, tid, 4);
	put(buf, AT_TGID, 1000, 4);
	memcpy(buf + AT_COMM, "abi-thread", 11);
	put(buf, AT_STATE, PARK_TASK_INTERRUPTIBLE, 4);
	put(buf, AT_FLAGS, TASK_REC_USTACK | TASK_REC_ESTIMATED, 4);
	put(buf, AT_PARK_START_NS, 0x1122334455667788ULL, 8);
	put(buf, AT_NOW_NS, 0x2122334455667788ULL, 8);
	put(buf, AT_WAIT_SYSCALL_NR, 202, 4);
	put(buf, AT_WAIT_REASON, PARK_REASON_FUTEX, 2);
	put(buf, AT_WAIT_HAS_TIMEOUT, 1, 1);
	put(buf, AT_WAIT_ARG0, 0xdeadbeefcafeULL, 8);
	for (__u64 reg = 0; reg < REGS; reg++)
		put(buf, AT_REGS + 8 * reg, 0x100 + reg, 8);
	put(buf, AT_KSTACK_DEPTH, kstack_depth, 4);
	put(buf, AT_USTACK_BYTES, ustack_bytes, 4);
	for (__u64 reason = 0; reason < REASONS; reason++) {
		put(buf, AT_COUNTS_PARKS + 8 * reason, 10 + reason, 8);
		put(buf, AT_COUNTS_PARKED_NS + 8 * reason, 1000000 + reason, 8);
	}
	put(buf, AT_CSW, 0x3132333435363738ULL, 8);
	put(buf, AT_LEADER_START_NS, 0x4142434445464748ULL, 8);
	for (__u32 i = 0; i < 4; i++)
		put(buf, AT_UIDS + 4 * i, 1000 + i, 4);
	put(buf, AT_CGROUPS_KEY, 0x5152535455565758ULL, 8);
	for (__u32 i = 0; i < kstack_depth; i++, len += 8)
		put(buf, len, 0xffffffff81000000ULL + i, 8);
	for (__u32 i = 0; i < ustack_bytes; i++, len++)
		buf[len] = (__u8)(0xa0 + i);
	return len;
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(PARK_REASON__COUNT, REASONS);
	assert_int_equal(PARK_NREGS, REGS);
	assert_int_equal(sizeof(struct task_record), RECORD_BYTES);
	assert_int_equal(sizeof(struct wait_ctx), 16);
	assert_int_equal(sizeof(struct hist_key), 8);
	assert_int_equal(sizeof(struct park_total), 16);
	assert_int_equal(sizeof(struct park_hist), 16 + 8 * PARK_HIST_SLOTS);
	assert_int_equal(sizeof(struct pw_stats), 7 * 8);
}

/* Every field of a record the iterator wrote, read back through the parser. */
static void test_record_fields(void **state)
{
	size_t cap = 2 * (RECORD_BYTES + 8 * 3 + 40);
	__u8 *buf = calloc(1, cap);
	struct snapshot *snap = NULL;
	const struct task_record *rec;
	size_t len;

	(void)state;
	assert_non_null(buf);
	len = lay_out(buf, 7, 3, 40);
	len += lay_out(buf + len, 8, 0, 0);
	assert_int_equal(snapshot__parse(buf, len, &snap), 0);
	assert_int_equal(snap->count, 2);

	rec = snap->threads[0].rec;
	assert_int_equal(rec->tid, 7);
	assert_int_equal(rec->tgid, 1000);
	assert_string_equal(rec->comm, "abi-thread");
	assert_int_equal(rec->state, PARK_TASK_INTERRUPTIBLE);
	assert_int_equal(rec->flags, TASK_REC_USTACK | TASK_REC_ESTIMATED);
	assert_true(rec->park_start_ns == 0x1122334455667788ULL);
	assert_true(rec->now_ns == 0x2122334455667788ULL);
	assert_int_equal(rec->wait.syscall_nr, 202);
	assert_int_equal(rec->wait.reason, PARK_REASON_FUTEX);
	assert_int_equal(rec->wait.has_timeout, 1);
	assert_true(rec->wait.arg0 == 0xdeadbeefcafeULL);
	for (int reg = 0; reg < REGS; reg++)
		assert_true(rec->regs[reg] == 0x100ULL + reg);
	assert_int_equal(rec->kstack_depth, 3);
	assert_int_equal(rec->ustack_bytes, 40);
	for (int reason = 0; reason < REASONS; reason++) {
		assert_true(rec->counts.parks[reason] == 10ULL + reason);
		assert_true(rec->counts.parked_ns[reason] == 1000000ULL + reason);
	}
	assert_true(rec->csw == 0x3132333435363738ULL);
	assert_true(rec->leader_start_ns == 0x4142434445464748ULL);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rec->uids[i], 1000 + i);
	assert_true(rec->cgroups_key == 0x5152535455565758ULL);
	/* the payloads follow the record directly */
	assert_ptr_equal(snap->threads[0].kstack, buf + RECORD_BYTES);
	assert_true(snap->threads[0].kstack[2] == 0xffffffff81000002ULL);
	assert_ptr_equal(snap->threads[0].ustack, buf + RECORD_BYTES + 3 * 8);
	assert_int_equal(snap->threads[0].ustack[39], 0xa0 + 39);

	/* and the next record follows them */
	assert_ptr_equal(snap->threads[1].rec, buf + RECORD_BYTES + 3 * 8 + 40);
	assert_int_equal(snap->threads[1].rec->tid, 8);
	assert_null(snap->threads[1].kstack);
	assert_null(snap->threads[1].ustack);
	snapshot__free(snap);
}

/* A record cut short is not a record: nothing is parsed from it. */
static void test_partial_record(void **state)
{
	__u8 *buf = calloc(1, 2 * RECORD_BYTES);
	struct snapshot *snap = NULL;
	size_t len;

	(void)state;
	assert_non_null(buf);
	len = lay_out(buf, 7, 0, 0);
	lay_out(buf + len, 8, 0, 0);
	assert_int_equal(snapshot__parse(buf, len + RECORD_BYTES - 1, &snap), 0);
	assert_int_equal(snap->count, 1);
	snapshot__free(snap);
}

/* The register indexes are x86_64's DWARF numbers: libdwfl takes regs as is. */
static void test_register_numbers(void **state)
{
	(void)state;
	assert_int_equal(PW_REG_AX, 0);
	assert_int_equal(PW_REG_DX, 1);
	assert_int_equal(PW_REG_CX, 2);
	assert_int_equal(PW_REG_BX, 3);
	assert_int_equal(PW_REG_SI, 4);
	assert_int_equal(PW_REG_DI, 5);
	assert_int_equal(PW_REG_BP, 6);
	assert_int_equal(PW_REG_SP, 7);
	assert_int_equal(PW_REG_R8, 8);
	assert_int_equal(PW_REG_R15, 15);
	assert_int_equal(PW_REG_IP, 16); /* the return address column */
}

/* The give-up counters as userspace reads them out of the BPF .bss. */
static void test_stats_layout(void **state)
{
	(void)state;
	assert_int_equal(offsetof(struct pw_stats, dropped_no_storage), 0);
	assert_int_equal(offsetof(struct pw_stats, exited_dropped), 8);
	assert_int_equal(offsetof(struct pw_stats, stack_copy_failed), 16);
	assert_int_equal(offsetof(struct pw_stats, stack_copy_raced), 24);
	assert_int_equal(offsetof(struct pw_stats, kstack_failed), 32);
	assert_int_equal(offsetof(struct pw_stats, records_rewritten), 40);
	assert_int_equal(offsetof(struct pw_stats, unexpected), 48);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_record_fields),
		cmocka_unit_test(test_partial_record),
		cmocka_unit_test(test_register_numbers),
		cmocka_unit_test(test_stats_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
