// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * What parked goroutines wait on (gowait.h).  A goroutine parked on a
 * channel (and, since Go 1.26, on a semaphore) left g.waiting pointing at
 * its sudog, whose c is the channel and elem the semaphore; the sudog must
 * name the g back, or the g woke meanwhile and nothing is said.  Each
 * channel is read once per goproc__read, its queues walked through
 * sudog.next, each sudog of them naming the channel back, and no further
 * than GO_MAX_QUEUE.  Before Go 1.26 a semaphore waiter's sudog hangs only
 * in runtime.semtable: 251 treaps of sudogs by address, each node heading
 * a waitlink list of the others on the same address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "go/gomem.h"
#include "go/gowait.h"

#define HCHAN_MAX_READ 256
#define SEM_TAB_SIZE 251            /* runtime.semTabSize, the same since Go 1.0 */
#define SEM_TREAP_DEPTH 512         /* treap nodes waiting to be visited, at most */
#define SEM_MAX_NODES (1u << 20)    /* sudogs visited in the semtable, at most */

enum wait_class {
	WAIT_OTHER,
	WAIT_CHAN,                  /* chan receive, chan send */
	WAIT_CHAN_NEVER,            /* on a nil channel, or a select with no cases */
	WAIT_SELECT,
	WAIT_SEMA,                  /* sync.Mutex, RWMutex, WaitGroup; "semacquire" */
};

static enum wait_class class_of(const char *reason)
{
	static const struct {
		const char *reason;
		enum wait_class class;
	} classes[] = {
		{ "chan receive", WAIT_CHAN },
		{ "chan send", WAIT_CHAN },
		{ "chan receive (durable)", WAIT_CHAN },
		{ "chan send (durable)", WAIT_CHAN },
		{ "chan receive (nil chan)", WAIT_CHAN_NEVER },
		{ "chan send (nil chan)", WAIT_CHAN_NEVER },
		{ "select (no cases)", WAIT_CHAN_NEVER },
		{ "select", WAIT_SELECT },
		{ "select (durable)", WAIT_SELECT },
		{ "semacquire", WAIT_SEMA },
		{ "sync.Mutex.Lock", WAIT_SEMA },
		{ "sync.RWMutex.RLock", WAIT_SEMA },
		{ "sync.RWMutex.Lock", WAIT_SEMA },
		{ "sync.WaitGroup.Wait", WAIT_SEMA },
		{ "sync.WaitGroup.Wait (durable)", WAIT_SEMA },
	};

	for (size_t i = 0; reason && i < sizeof(classes) / sizeof(classes[0]); i++)
		if (!strcmp(reason, classes[i].reason))
			return classes[i].class;
	return WAIT_OTHER;
}

/* The class of each wait reason code, decided once per process. */
static int wait_classes(struct goproc *gp)
{
	if (gp->wait_classes)
		return 0;
	gp->wait_classes = calloc(256, 1);
	if (!gp->wait_classes)
		return -ENOMEM;
	for (size_t i = 0; i < gp->reason_count && i < 256; i++)
		gp->wait_classes[i] = (__u8)class_of(gp->reasons[i]);
	return 0;
}

/* Bytes to read of a struct to reach each offset's word; 0 when one is unknown. */
static int read_size(const int *offsets, size_t n, int max)
{
	int end = 0;

	for (size_t i = 0; i < n; i++) {
		if (offsets[i] < 0)
			return 0;
		if (offsets[i] + 8 > end)
			end = offsets[i] + 8;
	}
	return end <= max ? end : 0;
}

static int sudog_size(const struct go_wait_layout *w)
{
	const int offsets[] = { w->sudog_g, w->sudog_next, w->sudog_prev, w->sudog_elem,
				w->sudog_waitlink, w->sudog_c };

	return read_size(offsets, sizeof(offsets) / sizeof(offsets[0]), GO_SUDOG_MAX_READ);
}

/* A waitq is {first, last}: its last word is read too. */
static int hchan_size(const struct go_wait_layout *w)
{
	const int offsets[] = { w->hchan_qcount, w->hchan_dataqsiz, w->hchan_closed,
				w->hchan_elemtype, w->hchan_recvq, w->hchan_sendq,
				w->hchan_recvq < 0 ? -1 : w->hchan_recvq + 8,
				w->hchan_sendq < 0 ? -1 : w->hchan_sendq + 8 };

	return read_size(offsets, sizeof(offsets) / sizeof(offsets[0]), HCHAN_MAX_READ);
}

void gowait__begin(struct goproc *gp)
{
	u64map__free_all(&gp->chans, free);
}

void gowait__free(struct goproc *gp)
{
	u64map__free_all(&gp->chans, free);
	free(gp->wait_classes);
	gp->wait_classes = NULL;
}

/*
 * How many sudogs queue on hchan in the waitq {first, last} at raw + off:
 * each must name hchan as its channel and, the list being doubly linked,
 * the one before it as its prev, and the walk must end at last.  False
 * when the list changed under the walk (or never was one): a cycle fails
 * the prev check where it closes.  Past GO_MAX_QUEUE the count stops.
 */
static bool count_queue(struct goproc *gp, __u64 hchan, const __u8 *waitq, __u32 *count)
{
	const struct go_wait_layout *w = &gp->layout.wait;
	int size = sudog_size(w);
	__u8 raw[GO_SUDOG_MAX_READ];
	__u64 at = u64_at(waitq, 0), last = u64_at(waitq, 8), prev = 0;

	*count = 0;
	while (at && *count < GO_MAX_QUEUE) {
		if (!user_ptr(at) || gomem__read(gp, at, raw, size) ||
		    u64_at(raw, w->sudog_c) != hchan || u64_at(raw, w->sudog_prev) != prev)
			return false;
		(*count)++;
		prev = at;
		at = u64_at(raw, w->sudog_next);
	}
	return *count == GO_MAX_QUEUE || prev == last;
}

/* One channel as read now, with its queues; NULL (unknown) when any of it
 * didn't hold.  Kept in gp->chans for the rest of the goproc__read. */
static int read_chan(struct goproc *gp, __u64 hchan, const struct go_blocked_on **out)
{
	const struct go_wait_layout *w = &gp->layout.wait;
	struct go_blocked_on *chan = u64map__get(&gp->chans, hchan);
	int size = hchan_size(w);
	__u8 raw[HCHAN_MAX_READ];
	__u32 closed;
	int err;

	*out = NULL;
	if (chan) {
		*out = chan->chan_read ? chan : NULL;
		return 0;
	}
	chan = calloc(1, sizeof(*chan));
	if (!chan)
		return -ENOMEM;
	if (u64map__put(&gp->chans, hchan, chan)) {
		free(chan);
		return -ENOMEM;
	}
	err = size ? gomem__read(gp, hchan, raw, size) : -EFAULT;
	if (err)
		return err == -EFAULT ? 0 : err;
	chan->len = u64_at(raw, w->hchan_qcount);
	chan->cap = u64_at(raw, w->hchan_dataqsiz);
	closed = u32_at(raw, w->hchan_closed);
	/* makechan refuses buffers beyond the address space */
	if (chan->len > chan->cap || chan->cap > USER_ADDR_END || closed > 1)
		return 0;
	chan->closed = closed;
	chan->chan_read = count_queue(gp, hchan, raw + w->hchan_sendq, &chan->sendq) &&
			  count_queue(gp, hchan, raw + w->hchan_recvq, &chan->recvq);
	*out = chan->chan_read ? chan : NULL;
	return 0;
}

static bool waits(const struct graw *g)
{
	return g->status == GO_STATUS_WAITING || g->status == GO_STATUS_LEAKED;
}

int gowait__read_batch(struct goproc *gp, struct batch *b, size_t n)
{
	const struct go_wait_layout *w = &gp->layout.wait;
	int size = sudog_size(w);
	size_t m = 0;
	int err = wait_classes(gp);

	if (err)
		return err;
	memset(b->blocked, 0, n * sizeof(*b->blocked));
	for (size_t i = 0; i < n; i++) {
		const struct graw *g = &b->raws[i];
		struct go_blocked_on *on = &b->blocked[i];
		enum wait_class class;

		if ((b->fate[i] != G_STACK && b->fate[i] != G_NO_STACK) || !waits(g))
			continue;
		class = gp->wait_classes[g->reason];
		if (class == WAIT_OTHER)
			continue;
		on->kind = class == WAIT_SEMA ? GO_OBJECT_SEMA : GO_OBJECT_CHAN;
		on->never_wakes = class == WAIT_CHAN_NEVER;
		if (on->never_wakes || !size || !user_ptr(g->waiting))
			continue;
		b->local[m] = (struct iovec){ b->sudog_buf + i * GO_SUDOG_MAX_READ, size };
		b->remote[m] = (struct iovec){ (void *)(unsigned long)g->waiting, size };
		b->slot[m++] = (__u32)i;
	}
	err = gomem__read_ranges(gp, b->local, b->remote, m, b->ok);
	if (err)
		return err;
	for (size_t k = 0; k < m; k++) {
		__u32 i = b->slot[k];
		const __u8 *sudog = b->sudog_buf + i * GO_SUDOG_MAX_READ;
		struct go_blocked_on *on = &b->blocked[i];
		const struct go_blocked_on *chan;
		__u64 addr;

		/* a sudog of another g: this one woke, and parked again maybe */
		if (!b->ok[k] || u64_at(sudog, w->sudog_g) != b->raws[i].addr)
			continue;
		addr = u64_at(sudog, on->kind == GO_OBJECT_SEMA ? w->sudog_elem : w->sudog_c);
		/* a semaphore is a uint32, a channel an hchan */
		if (on->kind == GO_OBJECT_SEMA ? !addr || addr >= USER_ADDR_END || (addr & 3) :
						 !user_ptr(addr))
			continue;
		on->addr = addr;
		if (on->kind != GO_OBJECT_CHAN)
			continue;
		err = read_chan(gp, addr, &chan);
		if (err)
			return err;
		if (chan) {
			on->chan_read = true;
			on->closed = chan->closed;
			on->len = chan->len;
			on->cap = chan->cap;
			on->sendq = chan->sendq;
			on->recvq = chan->recvq;
		}
	}
	return 0;
}

/* ---------------------------------------------------------- semtable */

struct sema_walk {
	struct goproc *gp;
	struct u64map wanted;       /* g address -> its goroutine's blocked_on */
	size_t visited;
	__u8 raw[GO_SUDOG_MAX_READ];
};

/* The sudogs of one root's treap: each node and the waitlink list it heads
 * give their g's the node's address (elem), which must hash to the root. */
static int walk_root(struct sema_walk *walk, size_t root, __u64 treap)
{
	const struct go_wait_layout *w = &walk->gp->layout.wait;
	int size = sudog_size(w);
	__u64 pending[SEM_TREAP_DEPTH];
	size_t depth = 0;

	if (treap)
		pending[depth++] = treap;
	while (depth && walk->visited < SEM_MAX_NODES) {
		__u64 node = pending[--depth], at = node, addr = 0;

		for (size_t in_list = 0; at && walk->visited < SEM_MAX_NODES; in_list++) {
			struct go_blocked_on *on;
			int err;

			walk->visited++;
			if (!user_ptr(at))
				break;
			err = gomem__read(walk->gp, at, walk->raw, size);
			if (err)
				return err == -EFAULT ? 0 : err;
			if (!in_list) {
				addr = u64_at(walk->raw, w->sudog_elem);
				/* semTable.rootFor: (addr >> 3) % semTabSize */
				if (!addr || (addr >> 3) % SEM_TAB_SIZE != root)
					break; /* changed under us: nothing below it is trusted */
				if (depth + 2 <= SEM_TREAP_DEPTH) {
					__u64 left = u64_at(walk->raw, w->sudog_prev);
					__u64 right = u64_at(walk->raw, w->sudog_next);

					if (left)
						pending[depth++] = left;
					if (right)
						pending[depth++] = right;
				}
			} else if (u64_at(walk->raw, w->sudog_elem) != addr) {
				break;
			}
			on = u64map__get(&walk->wanted, u64_at(walk->raw, w->sudog_g));
			if (on)
				on->addr = addr;
			at = u64_at(walk->raw, w->sudog_waitlink);
		}
	}
	return 0;
}

int gowait__semaphores(struct goproc *gp, struct goroutine *items, size_t count)
{
	const struct go_wait_layout *w = &gp->layout.wait;
	struct sema_walk walk = { .gp = gp };
	__u64 stride = gp->semtable_size / SEM_TAB_SIZE;
	__u8 *table = NULL;
	int err = 0;

	if (!gp->semtable || !sudog_size(w) || w->semaroot_treap < 0 ||
	    gp->semtable_size % SEM_TAB_SIZE || stride < (__u64)w->semaroot_treap + 8)
		return 0;
	for (size_t i = 0; i < count && !err; i++)
		if (items[i].blocked_on.kind == GO_OBJECT_SEMA && !items[i].blocked_on.addr)
			err = u64map__put(&walk.wanted, items[i].g_addr, &items[i].blocked_on);
	if (err || !walk.wanted.count)
		goto out;
	table = malloc(gp->semtable_size);
	if (!table) {
		err = -ENOMEM;
		goto out;
	}
	err = gomem__read(gp, gp->semtable, table, gp->semtable_size);
	if (err == -EFAULT)
		err = 0; /* unknown, as without a semtable */
	else
		for (size_t root = 0; root < SEM_TAB_SIZE && !err; root++)
			err = walk_root(&walk, root,
					u64_at(table, root * stride + w->semaroot_treap));
out:
	free(table);
	u64map__clear(&walk.wanted);
	return err;
}
