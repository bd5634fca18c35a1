// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Goroutines read from outside the Go process (goproc.h), once goopen.c
 * has opened the goproc: each read takes runtime.allgs, its g's in
 * batches (gomem.c), each made sense of (gounwind.c), the ones that moved
 * under us read again or dropped, all collected into one allocation.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/clock.h"
#include "go/gomem.h"
#include "go/goproc.h"
#include "go/gowait.h"
#include "go/gounwind.h"
#include "util/budget.h"

/* What reading one g costs at least, for the memory budget: its entry,
 * its pcs offset, its pointer, its place in the again list and the seen
 * map, and a stack of eight frames. */
#define G_READ_BYTES (sizeof(struct goroutine) + sizeof(size_t) + 4 * sizeof(__u64) + \
		      8 * sizeof(__u64))

const char *goproc__version(const struct goproc *gp)
{
	return gp->version;
}

int goproc__minor(const struct goproc *gp)
{
	return gp->minor;
}

bool goproc__has_parent_goid(const struct goproc *gp)
{
	return gp->layout.parent_goid >= 0;
}

size_t goproc__dropped(const struct goproc *gp)
{
	return gp->dropped;
}

bool goproc__is_wrapper(const struct goproc *gp, __u64 pc)
{
	size_t lo = 0, hi = gp->wrapper_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pc < gp->wrappers[mid].lo)
			hi = mid;
		else if (pc >= gp->wrappers[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

void goproc__free_goroutines(struct goroutine *goroutines)
{
	free(goroutines);
}

/* Collects goroutines and their pcs; pcs become pointers only at the end,
 * when both arrays stop moving. */
struct collector {
	struct goroutine *items;
	size_t *pc_offsets;
	size_t count, cap;
	__u64 *pcs;
	size_t pc_count, pc_cap;
	__u64 *again;               /* g's that changed while the first pass read them */
	size_t again_count;
	__u64 now_ns;
	bool finalizer_running;
	size_t dropped;
	struct budget *budget;      /* NULL: none */
	size_t fixed_bytes;         /* what was allocated for every g at the start */
};

static int collector_add(struct collector *c, const struct goroutine *g, const __u64 *pcs)
{
	if (c->count == c->cap) {
		size_t bigger = c->cap ? c->cap * 2 : 1024;
		struct goroutine *items = realloc(c->items, bigger * sizeof(*items));
		size_t *offsets;

		if (!items)
			return -ENOMEM;
		c->items = items;
		offsets = realloc(c->pc_offsets, bigger * sizeof(*offsets));
		if (!offsets)
			return -ENOMEM;
		c->pc_offsets = offsets;
		c->cap = bigger;
	}
	if (c->pc_count + g->depth > c->pc_cap) {
		size_t bigger = c->pc_cap ? c->pc_cap * 2 : 8192;
		__u64 *grown;

		while (bigger < c->pc_count + g->depth)
			bigger *= 2;
		if (budget__too_big(c->budget, c->fixed_bytes + bigger * sizeof(*grown)))
			return -E2BIG;
		grown = realloc(c->pcs, bigger * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		c->pcs = grown;
		c->pc_cap = bigger;
	}
	c->items[c->count] = *g;
	c->items[c->count].pcs = NULL;
	c->pc_offsets[c->count++] = c->pc_count;
	memcpy(c->pcs + c->pc_count, pcs, g->depth * sizeof(*pcs));
	c->pc_count += g->depth;
	return 0;
}

/*
 * Reads n g's (n <= GO_BATCH): the structs, the stacks of those with saved
 * registers, then the fields that must not have moved meanwhile.  A g that
 * changed goes to c->again for a second pass, or is dropped in that pass.
 */
static int read_batch(struct goproc *gp, const __u64 *addrs, size_t n, bool last_pass,
		      struct collector *c)
{
	const struct go_layout *l = &gp->layout;
	struct batch *b = gp->batch;
	size_t m = 0;
	int hdr_lo = l->sched_sp, hdr_hi = l->sched_sp;
	__u64 pcs[GO_MAX_DEPTH];
	int err;

	if (!n || n > GO_BATCH)
		return 0;
	gomem__order_by_addr(addrs, n, b->order);
	err = gomem__read_coalesced(gp, b, addrs, b->order, n, 0, l->g_read_size, b->gbuf);
	if (err)
		return err;

	for (size_t i = 0; i < n; i++) {
		struct graw *g = &b->raws[i];

		b->fate[i] = G_INCONSISTENT; /* a pointer in allgs that leads nowhere */
		if (!b->g_ok[i])
			continue;
		gounwind__decode(l, addrs[i], b->gbuf + i * l->g_read_size, g);
		if (go_status_dead(g->status))
			b->fate[i] = G_SKIP;
		else if (gounwind__consistent(gp, g))
			b->fate[i] = gounwind__has_stack(g) ? G_STACK : G_NO_STACK;
		if (b->fate[i] == G_STACK)
			b->windows[m++] = (struct window){ .addr = g->sp,
							   .len = gounwind__stack_window(g),
							   .g = (__u32)i };
	}

	err = gomem__read_windows(gp, b, m);
	if (err)
		return err;
	for (size_t k = 0; k < m; k++) {
		b->stack_at[b->windows[k].g] = b->windows[k].at;
		if (!b->windows[k].ok)
			b->fate[b->windows[k].g] = G_INCONSISTENT; /* freed or moved under us */
	}
	/* before the header's second read, which then vouches for it too */
	err = gowait__read_batch(gp, b, n);
	if (err)
		return err;

	/* did anything move while we read? */
	{
		const int fields[] = { l->sched_pc, l->sched_bp, l->atomicstatus, l->goid,
				       l->syscallsp, l->syscallpc };

		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			if (fields[k] < 0)
				continue; /* a Go without it */
			hdr_lo = fields[k] < hdr_lo ? fields[k] : hdr_lo;
			hdr_hi = fields[k] > hdr_hi ? fields[k] : hdr_hi;
		}
		hdr_hi += 8;
		err = gomem__read_coalesced(gp, b, addrs, b->order, n, hdr_lo, hdr_hi - hdr_lo,
					    b->hbuf);
		if (err)
			return err;
		for (size_t i = 0; i < n; i++)
			if (b->fate[i] == G_STACK &&
			    (!b->g_ok[i] ||
			     !gounwind__same_header(l, hdr_lo, &b->raws[i],
						b->hbuf + i * (hdr_hi - hdr_lo))))
				b->fate[i] = G_INCONSISTENT;
	}

	for (size_t i = 0; i < n; i++) {
		struct goroutine g;
		struct stack_view view;

		if (b->fate[i] == G_SKIP)
			continue;
		if (b->fate[i] == G_INCONSISTENT) {
			if (last_pass)
				c->dropped++;
			else
				c->again[c->again_count++] = addrs[i];
			continue;
		}
		gounwind__to_goroutine(gp, &b->raws[i], c->now_ns, c->finalizer_running, &g);
		g.blocked_on = b->blocked[i];
		if (b->fate[i] == G_STACK) {
			view.buf = b->sbuf + b->stack_at[i];
			view.base = b->raws[i].sp;
			view.len = gounwind__stack_window(&b->raws[i]);
			g.depth = gounwind__walk_stack(gp, &b->raws[i], &view, pcs, g.exact, &g.truncated);
		}
		if (g.status == GO_STATUS_RUNNING || g.status == GO_STATUS_SYSCALL) {
			g.tid = gounwind__thread(gp, &b->raws[i]);
		}
		err = collector_add(c, &g, pcs);
		if (err)
			return err;
	}
	return 0;
}

static bool finalizer_running(struct goproc *gp)
{
	__u32 status = 0;
	__u8 running = 0;

	if (gp->fing_running)
		return !gomem__read(gp, gp->fing_running, &running, 1) && running;
	/* Go >= 1.21: fingStatus & fingRunningFinalizer (2) */
	return gp->fing_status && !gomem__read(gp, gp->fing_status, &status, 4) && (status & 2);
}

/* The pcs go after the goroutines in the items' own block: a large
 * block grows in place (mremap), where a new one would copy 100,000
 * goroutines into pages touched for the first time. */
static int finish(struct collector *c, struct goroutine **out, size_t *count)
{
	size_t size = c->count * sizeof(**out) + c->pc_count * sizeof(__u64);
	struct goroutine *list = realloc(c->items, size ? size : 1);
	__u64 *pcs;

	if (!list)
		return -ENOMEM;
	c->items = NULL;
	pcs = (__u64 *)(list + c->count);
	memcpy(pcs, c->pcs, c->pc_count * sizeof(*pcs));
	for (size_t i = 0; i < c->count; i++)
		list[i].pcs = list[i].depth ? pcs + c->pc_offsets[i] : NULL;
	*out = list;
	*count = c->count;
	return 0;
}

_Static_assert(GOPROC_READ_AT_LEAST % GO_BATCH == 0, "the pass ends between batches");

/* Whether the budget ends the pass at allgs index at: not in its first
 * entries, which are read whatever the time (goproc.h). */
static bool budget_ends_read(struct collector *c, size_t at)
{
	return at >= GOPROC_READ_AT_LEAST && budget__spent(c->budget);
}

/*
 * The g addresses one pass met: a set of at most len, so sized once, at
 * most half full, keys alone (a u64map grows through every size on the
 * way and keeps a value per key: four times the memory, touched anew).
 */
struct seen_set {
	__u64 *slots;               /* 0: empty */
	size_t mask;
	int shift;
};

static int seen_init(struct seen_set *s, size_t len)
{
	size_t cap = 64;
	int bits = 6;

	while (cap < 2 * len) {
		cap *= 2;
		bits++;
	}
	s->slots = calloc(cap, sizeof(*s->slots));
	s->mask = cap - 1;
	s->shift = 64 - bits;
	return s->slots ? 0 : -ENOMEM;
}

/* Adds addr (not 0); false when it was there already. */
static bool seen_add(struct seen_set *s, __u64 addr)
{
	size_t i = (size_t)((addr * 0x9e3779b97f4a7c15ULL) >> s->shift);

	for (; s->slots[i]; i = (i + 1) & s->mask)
		if (s->slots[i] == addr)
			return false;
	s->slots[i] = addr;
	return true;
}

/* The g's in allgs, deduplicated, in batches; then once more the ones
 * that moved under the first pass. */
static int read_all(struct goproc *gp, size_t len, struct collector *c)
{
	struct seen_set seen;
	__u64 batch[GO_BATCH];
	size_t batch_count = 0;
	int err = seen_init(&seen, len);

	for (size_t i = 0; i < len && !err; i++) {
		__u64 addr = gp->ptrs[i];

		if (i % GO_BATCH == 0 && budget_ends_read(c, i))
			break;

		/* allgs never holds nil or the same g twice: a stale array does */
		if (!user_ptr(addr) || !seen_add(&seen, addr)) {
			c->dropped++;
			continue;
		}
		batch[batch_count++] = addr;
		if (batch_count == GO_BATCH || i == len - 1) {
			err = read_batch(gp, batch, batch_count, false, c);
			batch_count = 0;
		}
	}
	if (!err && batch_count && !budget_ends_read(c, len - batch_count))
		err = read_batch(gp, batch, batch_count, false, c);
	free(seen.slots);
	for (size_t i = 0; i < c->again_count && !err && !budget__spent(c->budget); i += GO_BATCH) {
		size_t n = c->again_count - i < GO_BATCH ? c->again_count - i : GO_BATCH;

		err = read_batch(gp, c->again + i, n, true, c);
	}
	/* the memory budget cut it: what was read stands */
	return err == -E2BIG ? 0 : err;
}

int goproc__read(struct goproc *gp, struct goroutine **out, size_t *count, struct budget *budget)
{
	struct collector c = { .budget = budget };
	size_t len = 0, claimed = 0;
	size_t max_count = budget && budget->max_bytes ? budget->max_bytes / G_READ_BYTES : SIZE_MAX;
	int err;

	*out = NULL;
	*count = 0;
	err = gomem__read_allgs(gp, max_count, &len, &claimed);
	if (err)
		return err;
	if (claimed > len)
		budget__too_big(budget, claimed * G_READ_BYTES);
	err = gowait__begin(gp);
	if (err)
		return err;
	c.now_ns = clock__monotonic_ns();
	c.finalizer_running = finalizer_running(gp);
	/* sized for every g at once: growing 100,000 entries costs more than reading them */
	c.cap = len ? len : 1;
	c.pc_cap = c.cap * 8;
	c.fixed_bytes = c.cap * (G_READ_BYTES - 8 * sizeof(__u64));
	c.items = malloc(c.cap * sizeof(*c.items));
	c.pc_offsets = malloc(c.cap * sizeof(*c.pc_offsets));
	c.pcs = malloc(c.pc_cap * sizeof(*c.pcs));
	c.again = malloc(c.cap * sizeof(*c.again));
	if (!c.items || !c.pc_offsets || !c.pcs || !c.again)
		err = -ENOMEM;
	if (!err)
		err = read_all(gp, len, &c);
	if (!err)
		err = gowait__finish(gp, c.items, c.count, budget);
	gp->dropped = c.dropped;
	if (!err)
		err = finish(&c, out, count);
	free(c.items);
	free(c.pc_offsets);
	free(c.pcs);
	free(c.again);
	return err;
}
