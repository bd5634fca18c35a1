// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of what parked goroutines wait on (user/go/gowait.c), on
 * runtime structs laid out by hand, with go1.27's layout, in this test's
 * own memory, which the goproc reads as a Go process's: a channel's
 * address, len, cap and queues; a sudog of another g (the goroutine woke
 * meanwhile) says nothing; a queue whose links don't hold (a cycle, a
 * sudog of another channel) leaves the channel's details unknown, and an
 * hchan whose len passes its cap too; a nil channel never wakes; a
 * semaphore waiter of Go < 1.26 finds its address in a semtable treap.
 * The waiter's own sudog is the one read with its g; the others of a queue
 * are read as the walk meets them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "go/go_internal.h"
#include "go/golayout.h"
#include "go/gomem.h"
#include "go/gowait.h"

#define SEM_TAB_SIZE 251
#define SEM_STRIDE 64

static char *reason_names[] = { "chan receive", "chan send (nil chan)", "semacquire", "sleep" };

enum { REASON_RECV, REASON_NIL_SEND, REASON_SEMA, REASON_SLEEP };

/* Runtime structs, 8-aligned, zeroed. */
struct fake {
	__u64 g[2][64];
	__u64 sudogs[4][16];
	__u64 hchan[16];
	__u64 semtable[SEM_TAB_SIZE * SEM_STRIDE / 8];
	__u32 sema[4];
};

struct fixture {
	struct goproc *gp;
	struct batch *batch;
	struct fake *fake;
};

static __u64 addr_of(const void *p)
{
	return (__u64)(uintptr_t)p;
}

static void put(void *base, int off, __u64 value)
{
	memcpy((__u8 *)base + off, &value, sizeof(value));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->gp = calloc(1, sizeof(*f->gp));
	/* aligned_alloc wants a size that is a multiple of the alignment */
	f->fake = aligned_alloc(64, (sizeof(*f->fake) + 63) / 64 * 64);
	assert_non_null(f->gp);
	assert_non_null(f->fake);
	memset(f->fake, 0, sizeof(*f->fake));
	f->gp->pid = getpid();
	f->gp->mem_fd = -1;
	f->gp->reasons = reason_names;
	f->gp->reason_count = sizeof(reason_names) / sizeof(reason_names[0]);
	assert_true(golayout__table(27, &f->gp->layout));
	assert_int_equal(gomem__batch_new(f->gp->layout.g_read_size, &f->batch), 0);
	f->gp->batch = f->batch;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	gowait__free(f->gp);
	gomem__batch_free(f->batch);
	free(f->fake);
	free(f->gp);
	free(f);
	return 0;
}

/* Batch slot i: the g f->fake->g[i], waiting for reason through sudog. */
static void park(struct fixture *f, size_t i, __u8 reason, const void *sudog)
{
	struct graw *g = &f->batch->raws[i];

	memset(g, 0, sizeof(*g));
	g->addr = addr_of(f->fake->g[i]);
	g->status = GO_STATUS_WAITING;
	g->reason = reason;
	g->waiting = sudog ? addr_of(sudog) : 0;
	f->batch->fate[i] = G_STACK;
}

/* sudog s of g, queued on chan (Go 1.26's elem and c: their vu word). */
static void sudog(struct fixture *f, int s, const void *g, const void *chan, const void *prev,
		  const void *next)
{
	const struct go_wait_layout *w = &f->gp->layout.wait;
	__u64 *raw = f->fake->sudogs[s];

	put(raw, w->sudog_g, addr_of(g));
	put(raw, w->sudog_c, addr_of(chan));
	put(raw, w->sudog_prev, prev ? addr_of(prev) : 0);
	put(raw, w->sudog_next, next ? addr_of(next) : 0);
}

/* The hchan: len, cap, and recvq {first, last}. */
static void hchan(struct fixture *f, __u64 len, __u64 cap, const void *first, const void *last)
{
	const struct go_wait_layout *w = &f->gp->layout.wait;

	put(f->fake->hchan, w->hchan_qcount, len);
	put(f->fake->hchan, w->hchan_dataqsiz, cap);
	put(f->fake->hchan, w->hchan_recvq, first ? addr_of(first) : 0);
	put(f->fake->hchan, w->hchan_recvq + 8, last ? addr_of(last) : 0);
}

/* One read of the batch's first g, through to its channel's queues. */
static const struct go_blocked_on *read_one(struct fixture *f)
{
	static struct goroutine item;

	assert_int_equal(gowait__begin(f->gp), 0);
	assert_int_equal(gowait__read_batch(f->gp, f->batch, 1), 0);
	memset(&item, 0, sizeof(item));
	item.g_addr = f->batch->raws[0].addr;
	item.blocked_on = f->batch->blocked[0];
	assert_int_equal(gowait__finish(f->gp, &item, 1, NULL), 0);
	return &item.blocked_on;
}

/* Three receivers queued: the channel as the hchan has it. */
static void test_channel_queue(void **state)
{
	struct fixture *f = *state;
	__u64 (*s)[16] = f->fake->sudogs;
	const struct go_blocked_on *on;

	sudog(f, 0, f->fake->g[0], f->fake->hchan, NULL, s[1]);
	sudog(f, 1, f->fake->g[1], f->fake->hchan, s[0], s[2]);
	sudog(f, 2, f->fake->g[1], f->fake->hchan, s[1], NULL);
	hchan(f, 2, 5, s[0], s[2]);
	park(f, 0, REASON_RECV, s[0]);
	on = read_one(f);
	assert_int_equal(on->kind, GO_OBJECT_CHAN);
	assert_int_equal(on->addr, addr_of(f->fake->hchan));
	assert_true(on->chan_read);
	assert_false(on->never_wakes);
	assert_int_equal(on->len, 2);
	assert_int_equal(on->cap, 5);
	assert_int_equal(on->recvq, 3);
	assert_int_equal(on->sendq, 0);
}

/* The sudog names another g: this one woke and the sudog went elsewhere. */
static void test_sudog_of_another_g(void **state)
{
	struct fixture *f = *state;
	const struct go_blocked_on *on;

	sudog(f, 0, f->fake->g[1], f->fake->hchan, NULL, NULL);
	hchan(f, 0, 0, f->fake->sudogs[0], f->fake->sudogs[0]);
	park(f, 0, REASON_RECV, f->fake->sudogs[0]);
	on = read_one(f);
	assert_int_equal(on->kind, GO_OBJECT_CHAN);
	assert_int_equal(on->addr, 0);
	assert_false(on->chan_read);
}

/* A queue that loops back on itself: counted never, no endless walk. */
static void test_cyclic_queue(void **state)
{
	struct fixture *f = *state;
	__u64 (*s)[16] = f->fake->sudogs;
	const struct go_blocked_on *on;

	sudog(f, 0, f->fake->g[0], f->fake->hchan, s[1], s[1]);
	sudog(f, 1, f->fake->g[1], f->fake->hchan, s[0], s[0]);
	hchan(f, 0, 0, s[0], s[1]);
	park(f, 0, REASON_RECV, s[0]);
	on = read_one(f);
	assert_int_equal(on->addr, addr_of(f->fake->hchan));
	assert_false(on->chan_read);

	/* doubly linked as a real list, but for the last pointer */
	sudog(f, 0, f->fake->g[0], f->fake->hchan, NULL, s[1]);
	sudog(f, 1, f->fake->g[1], f->fake->hchan, s[0], NULL);
	hchan(f, 0, 0, s[0], s[0]);
	assert_false(read_one(f)->chan_read);
}

/* A queued sudog of another channel, an unreadable one, len past cap. */
static void test_inconsistent_chan(void **state)
{
	struct fixture *f = *state;
	__u64 (*s)[16] = f->fake->sudogs;

	sudog(f, 0, f->fake->g[0], f->fake->hchan, NULL, s[1]);
	sudog(f, 1, f->fake->g[1], f->fake->sudogs[3], s[0], NULL);
	hchan(f, 0, 0, s[0], s[1]);
	park(f, 0, REASON_RECV, s[0]);
	assert_false(read_one(f)->chan_read);

	sudog(f, 0, f->fake->g[0], f->fake->hchan, NULL, (void *)(uintptr_t)0x1000);
	assert_false(read_one(f)->chan_read);

	sudog(f, 0, f->fake->g[0], f->fake->hchan, NULL, NULL);
	hchan(f, 6, 5, s[0], s[0]);
	assert_false(read_one(f)->chan_read);
	hchan(f, 5, 5, s[0], s[0]);
	assert_true(read_one(f)->chan_read);
}

/* Nil channels never wake; a wait on no object says nothing. */
static void test_never_wakes_and_others(void **state)
{
	struct fixture *f = *state;
	const struct go_blocked_on *on;

	park(f, 0, REASON_NIL_SEND, NULL);
	on = read_one(f);
	assert_int_equal(on->kind, GO_OBJECT_CHAN);
	assert_true(on->never_wakes);
	assert_int_equal(on->addr, 0);

	park(f, 0, REASON_SLEEP, NULL);
	assert_int_equal(read_one(f)->kind, GO_OBJECT_NONE);

	park(f, 0, REASON_RECV, f->fake->sudogs[0]);
	f->batch->fate[0] = G_INCONSISTENT;
	assert_int_equal(read_one(f)->kind, GO_OBJECT_NONE);
}

/*
 * Go < 1.26: no g.waiting; the semaphore's sudog is a treap node of its
 * semtable root, heading the waitlink list of the second waiter.  A node
 * under the wrong root is not believed.
 */
static void test_semtable(void **state)
{
	struct fixture *f = *state;
	const struct go_wait_layout *w = &f->gp->layout.wait;
	__u64 (*s)[16] = f->fake->sudogs;
	__u64 sema = addr_of(&f->fake->sema[1]), root = (sema >> 3) % SEM_TAB_SIZE;
	struct goroutine items[3];

	memset(items, 0, sizeof(items));
	for (int i = 0; i < 3; i++) {
		items[i].g_addr = addr_of(f->fake->g[i % 2]) + (i == 2 ? 8 : 0);
		items[i].blocked_on.kind = GO_OBJECT_SEMA;
	}
	put(s[0], w->sudog_g, items[0].g_addr);
	put(s[0], w->sudog_elem, sema);
	put(s[0], w->sudog_waitlink, addr_of(s[1]));
	put(s[1], w->sudog_g, items[1].g_addr);
	put(s[1], w->sudog_elem, sema);
	put(s[0], w->sudog_next, addr_of(s[2])); /* right child: under the wrong root */
	put(s[2], w->sudog_g, items[2].g_addr);
	put(s[2], w->sudog_elem, sema + 8);
	put(f->fake->semtable, (int)(root * SEM_STRIDE) + w->semaroot_treap, addr_of(s[0]));
	f->gp->semtable = addr_of(f->fake->semtable);
	f->gp->semtable_size = sizeof(f->fake->semtable);
	assert_int_equal(gowait__begin(f->gp), 0);
	assert_int_equal(gowait__finish(f->gp, items, 3, NULL), 0);
	assert_int_equal(items[0].blocked_on.addr, sema);
	assert_int_equal(items[1].blocked_on.addr, sema);
	assert_int_equal(items[2].blocked_on.addr, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_channel_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sudog_of_another_g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cyclic_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inconsistent_chan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_wakes_and_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_semtable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
