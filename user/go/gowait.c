// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * What parked goroutines wait on (gowait.h).  A goroutine parked on a
 * channel (and, since Go 1.26, on a semaphore) left g.waiting pointing at
 * its sudog, whose c is the channel and elem the semaphore; the sudog must
 * name the g back, or the g woke meanwhile and nothing is said.  Each
 * channel is read once per goproc__read, after every g: its queues are
 * walked through sudog.next, each sudog naming the channel and the one
 * before it back, mostly through the sudogs read with their g's.  Before
 * Go 1.26 a semaphore waiter's sudog hangs only
 * in runtime.semtable: 251 treaps of sudogs by address, each node heading
 * a waitlink list of the others on the same address.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "go/gomem.h"
#include "go/govars.h"
#include "go/gowait.h"
#include "util/u64map.h"

#define HCHAN_MAX_READ 256
#define SEM_TREAP_DEPTH 512         /* treap nodes waiting to be visited, at most */
#define SEM_MAX_NODES (1u << 20)    /* sudogs visited in the semtable, at most */
/* runtime._type (internal/abi.Type since Go 1.21), the same from 1.19 to 1.27 */
#define TYPE_TFLAG 20               /* tflag */
#define TYPE_STR 40                 /* str: a nameOff from runtime.types */
#define TFLAG_EXTRA_STAR 2          /* str names *T: the name is T */
#define TYPE_NAME_MAX 256
#define QUEUE_MAX_READS (1u << 20)  /* queued sudogs read per goproc__read, beyond the
				     * waiters' own: about a second of reads */

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

/* What a queue walk needs of a sudog. */
struct sudog_copy {
	__u64 next, prev, c;
};

struct chan_entry {
	__u64 addr;
	struct go_blocked_on seen;  /* chan_read and the channel's fields */
};

/* What one goproc__read keeps of the waits it met (gp->wait). */
struct gowait {
	__u8 classes[256];          /* enum wait_class per reason code */
	struct u64map sudogs;       /* sudog address -> index + 1 into copies */
	struct sudog_copy *copies;
	size_t copy_count, copy_cap;
	struct u64map chans;        /* hchan -> index + 1 into chan_list */
	struct chan_entry *chan_list;
	size_t chan_count, chan_cap;
	__u8 *hchan_buf;            /* GO_BATCH hchans, read at once */
	size_t reads_left;          /* of QUEUE_MAX_READS */
	struct u64map type_names;   /* runtime type -> its name, or no_name; kept across reads */
};

static char no_name[] = "";

int gowait__begin(struct goproc *gp)
{
	struct gowait *st = gp->wait;

	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return -ENOMEM;
		gp->wait = st;
		for (size_t i = 0; i < gp->reason_count && i < 256; i++)
			st->classes[i] = (__u8)class_of(gp->reasons[i]);
	}
	u64map__clear(&st->sudogs);
	u64map__clear(&st->chans);
	st->copy_count = st->chan_count = 0;
	st->reads_left = QUEUE_MAX_READS;
	return 0;
}

static bool free_name(__u64 key, void *value, void *ctx)
{
	(void)key;
	(void)ctx;
	if (value != no_name)
		free(value);
	return false;
}

void gowait__free(struct goproc *gp)
{
	struct gowait *st = gp->wait;

	if (!st)
		return;
	u64map__clear(&st->sudogs);
	u64map__clear(&st->chans);
	u64map__filter(&st->type_names, free_name, NULL);
	u64map__clear(&st->type_names);
	free(st->copies);
	free(st->chan_list);
	free(st->hchan_buf);
	free(st);
	gp->wait = NULL;
}

/* Grows *array of *cap items of size to hold one more; false: no memory. */
static bool make_room(void **array, size_t *cap, size_t count, size_t size)
{
	size_t bigger = *cap ? *cap * 2 : 1024;
	void *grown;

	if (count < *cap)
		return true;
	grown = realloc(*array, bigger * size);
	if (!grown)
		return false;
	*array = grown;
	*cap = bigger;
	return true;
}

/* Keeps the sudog at addr, read from raw, for the queue walks. */
static int keep_sudog(struct gowait *st, const struct go_wait_layout *w, __u64 addr,
		      const __u8 *raw)
{
	if (u64map__get(&st->sudogs, addr))
		return 0;
	if (!make_room((void **)&st->copies, &st->copy_cap, st->copy_count, sizeof(*st->copies)))
		return -ENOMEM;
	st->copies[st->copy_count++] = (struct sudog_copy){
		u64_at(raw, w->sudog_next), u64_at(raw, w->sudog_prev), u64_at(raw, w->sudog_c) };
	return u64map__put(&st->sudogs, addr, (void *)(uintptr_t)st->copy_count);
}

static int note_chan(struct gowait *st, __u64 hchan)
{
	if (u64map__get(&st->chans, hchan))
		return 0;
	if (!make_room((void **)&st->chan_list, &st->chan_cap, st->chan_count,
		       sizeof(*st->chan_list)))
		return -ENOMEM;
	st->chan_list[st->chan_count++] = (struct chan_entry){ .addr = hchan };
	return u64map__put(&st->chans, hchan, (void *)(uintptr_t)st->chan_count);
}

/* The sudog at addr: a waiter's read with its g, else read now. */
static bool sudog_at(struct goproc *gp, __u64 addr, struct sudog_copy *out)
{
	const struct go_wait_layout *w = &gp->layout.wait;
	uintptr_t kept = (uintptr_t)u64map__get(&gp->wait->sudogs, addr);
	__u8 raw[GO_SUDOG_MAX_READ];

	if (kept) {
		*out = gp->wait->copies[kept - 1];
		return true;
	}
	if (!gp->wait->reads_left || !user_ptr(addr) || gomem__read(gp, addr, raw, sudog_size(w)))
		return false;
	gp->wait->reads_left--;
	*out = (struct sudog_copy){ u64_at(raw, w->sudog_next), u64_at(raw, w->sudog_prev),
				    u64_at(raw, w->sudog_c) };
	return true;
}

/*
 * How many sudogs queue on hchan in the waitq {first, last} at waitq:
 * each must name hchan as its channel and, the list being doubly linked,
 * the one before it as its prev, and the walk must end at last.  False
 * when the list changed under the walk (or never was one): a cycle fails
 * the prev check where it closes, and no queue is longer than a process
 * has goroutines.  The waiters' own sudogs were read with their g's: only
 * a select's other cases cost a read here, QUEUE_MAX_READS of them at
 * most, after which channels stay unknown.
 */
static bool count_queue(struct goproc *gp, __u64 hchan, const __u8 *waitq, __u32 *count)
{
	__u64 at = u64_at(waitq, 0), last = u64_at(waitq, 8), prev = 0;
	struct sudog_copy sudog;

	*count = 0;
	while (at && *count < GO_MAX_GOROUTINES) {
		if (!sudog_at(gp, at, &sudog) || sudog.c != hchan || sudog.prev != prev)
			return false;
		(*count)++;
		prev = at;
		at = sudog.next;
	}
	return !at && prev == last;
}

/*
 * The name of the runtime type at addr, "int" or "*main.job": its str is
 * an offset into the module's type data (runtime.types, which .symtab
 * names), where a name is a flags byte, a varint length and the bytes.
 */
static char *read_type_name(struct goproc *gp, __u64 addr)
{
	const struct range *types = &gp->types;
	__u8 type[TYPE_STR + 4], raw[3 + TYPE_NAME_MAX];
	__u64 name, len, avail;
	__s32 off;
	int at = 2;

	if (!types->hi || !in_range(types, addr) || types->hi - addr < sizeof(type) ||
	    gomem__read(gp, addr, type, sizeof(type)))
		return NULL;
	memcpy(&off, type + TYPE_STR, sizeof(off));
	name = types->lo + (__u64)(__s64)off;
	if (off < 0 || !in_range(types, name))
		return NULL;
	avail = types->hi - name < sizeof(raw) ? types->hi - name : sizeof(raw);
	if (avail < 2 || gomem__read(gp, name, raw, avail))
		return NULL;
	len = raw[1] & 0x7f;
	if (raw[1] & 0x80) {
		if (avail < 3 || (raw[2] & 0x80))
			return NULL;
		len |= (__u64)raw[2] << 7;
		at = 3;
	}
	if (!len || len > avail - at)
		return NULL;
	if ((type[TYPE_TFLAG] & TFLAG_EXTRA_STAR) && raw[at] == '*') {
		at++;
		len--;
	}
	return strndup((const char *)raw + at, len);
}

/* The type's name, read once per process; NULL when unknown. */
static const char *type_name(struct goproc *gp, __u64 addr)
{
	struct gowait *st = gp->wait;
	char *name = addr ? u64map__get(&st->type_names, addr) : no_name;

	if (!name) {
		name = read_type_name(gp, addr);
		if (u64map__put(&st->type_names, addr, name ? name : no_name)) {
			free(name);
			return NULL;
		}
	}
	return name && name != no_name ? name : NULL;
}

/* One channel from its hchan, as read in raw: seen.chan_read when all of
 * it held. */
static void read_chan(struct goproc *gp, struct chan_entry *chan, const __u8 *raw)
{
	const struct go_wait_layout *w = &gp->layout.wait;
	struct go_blocked_on *seen = &chan->seen;
	__u32 closed = u32_at(raw, w->hchan_closed);

	seen->len = u64_at(raw, w->hchan_qcount);
	seen->cap = u64_at(raw, w->hchan_dataqsiz);
	/* makechan refuses buffers beyond the address space */
	if (seen->len > seen->cap || seen->cap > USER_ADDR_END || closed > 1)
		return;
	seen->closed = closed;
	seen->elem_type = type_name(gp, u64_at(raw, w->hchan_elemtype));
	seen->chan_read = count_queue(gp, chan->addr, raw + w->hchan_sendq, &seen->sendq) &&
			  count_queue(gp, chan->addr, raw + w->hchan_recvq, &seen->recvq);
}

/* Every channel met, its hchan read GO_BATCH at a time; those the budget
 * leaves unread stay unknown. */
static int read_chans(struct goproc *gp, struct budget *budget)
{
	struct gowait *st = gp->wait;
	struct batch *b = gp->batch;
	int size = hchan_size(&gp->layout.wait);

	if (!size || !st->chan_count)
		return 0;
	if (!st->hchan_buf && !(st->hchan_buf = malloc((size_t)GO_BATCH * HCHAN_MAX_READ)))
		return -ENOMEM;
	for (size_t done = 0; done < st->chan_count && !budget__spent(budget); done += GO_BATCH) {
		size_t n = st->chan_count - done < GO_BATCH ? st->chan_count - done : GO_BATCH;
		int err;

		for (size_t i = 0; i < n; i++) {
			b->local[i] = (struct iovec){ st->hchan_buf + i * HCHAN_MAX_READ, size };
			b->remote[i] = (struct iovec){
				(void *)(unsigned long)st->chan_list[done + i].addr, size };
		}
		err = gomem__read_ranges(gp, b->local, b->remote, n, b->ok);
		if (err)
			return err;
		for (size_t i = 0; i < n; i++)
			if (b->ok[i])
				read_chan(gp, &st->chan_list[done + i], st->hchan_buf + i * HCHAN_MAX_READ);
	}
	return 0;
}

static bool waits(const struct graw *g)
{
	return g->status == GO_STATUS_WAITING || g->status == GO_STATUS_LEAKED;
}

int gowait__read_batch(struct goproc *gp, struct batch *b, size_t n)
{
	const struct go_wait_layout *w = &gp->layout.wait;
	struct gowait *st = gp->wait;
	int size = sudog_size(w), err;
	size_t m = 0;

	memset(b->blocked, 0, n * sizeof(*b->blocked));
	for (size_t i = 0; i < n; i++) {
		const struct graw *g = &b->raws[i];
		struct go_blocked_on *on = &b->blocked[i];
		enum wait_class class;

		if ((b->fate[i] != G_STACK && b->fate[i] != G_NO_STACK) || !waits(g))
			continue;
		class = st->classes[g->reason];
		if (class == WAIT_OTHER)
			continue;
		on->kind = class == WAIT_SEMA ? GO_OBJECT_SEMA : GO_OBJECT_CHAN;
		on->never_wakes = class == WAIT_CHAN_NEVER;
		if (on->never_wakes || !size || !user_ptr(g->waiting))
			continue;
		b->sudog_addrs[m] = g->waiting;
		b->sudog_owner[m++] = (__u32)i;
	}
	/* the runtime allocates sudogs side by side: read them coalesced
	 * (b->g_ok is free until the header's second read) */
	gomem__order_by_addr(b->sudog_addrs, m, b->sudog_order);
	err = gomem__read_coalesced(gp, b, b->sudog_addrs, b->sudog_order, m, 0, size,
				    b->sudog_buf);
	for (size_t k = 0; k < m && !err; k++) {
		__u32 i = b->sudog_owner[k];
		const __u8 *sudog = b->sudog_buf + k * size;
		struct go_blocked_on *on = &b->blocked[i];
		__u64 addr;

		/* a sudog of another g: this one woke, and parked again maybe */
		if (!b->g_ok[k] || u64_at(sudog, w->sudog_g) != b->raws[i].addr)
			continue;
		addr = u64_at(sudog, on->kind == GO_OBJECT_SEMA ? w->sudog_elem : w->sudog_c);
		/* a semaphore is a uint32, a channel an hchan */
		if (on->kind == GO_OBJECT_SEMA ? !addr || addr >= USER_ADDR_END || (addr & 3) :
						 !user_ptr(addr))
			continue;
		on->addr = addr;
		if (on->kind == GO_OBJECT_CHAN) {
			err = keep_sudog(st, w, b->raws[i].waiting, sudog);
			if (!err)
				err = note_chan(st, addr);
		}
	}
	return err;
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
				if (!addr || (addr >> 3) % GO_SEM_TAB_SIZE != root)
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

static int read_semaphores(struct goproc *gp, struct goroutine *items, size_t count,
			   struct budget *budget)
{
	const struct go_wait_layout *w = &gp->layout.wait;
	struct sema_walk walk = { .gp = gp };
	__u64 stride = gp->semtable_size / GO_SEM_TAB_SIZE;
	__u8 *table = NULL;
	int err = 0;

	if (!gp->semtable || !sudog_size(w) || w->semaroot_treap < 0 ||
	    gp->semtable_size % GO_SEM_TAB_SIZE || stride < (__u64)w->semaroot_treap + 8)
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
		for (size_t root = 0; root < GO_SEM_TAB_SIZE && !err && !budget__spent(budget); root++)
			err = walk_root(&walk, root,
					u64_at(table, root * stride + w->semaroot_treap));
out:
	free(table);
	u64map__clear(&walk.wanted);
	return err;
}

int gowait__finish(struct goproc *gp, struct goroutine *items, size_t count, struct budget *budget)
{
	int err = read_chans(gp, budget);

	for (size_t i = 0; i < count && !err; i++) {
		struct go_blocked_on *on = &items[i].blocked_on;
		uintptr_t chan = on->kind == GO_OBJECT_CHAN && on->addr ?
					 (uintptr_t)u64map__get(&gp->wait->chans, on->addr) : 0;
		const struct go_blocked_on *seen = chan ? &gp->wait->chan_list[chan - 1].seen : NULL;

		if (!seen || !seen->chan_read)
			continue;
		on->chan_read = true;
		on->closed = seen->closed;
		on->len = seen->len;
		on->cap = seen->cap;
		on->sendq = seen->sendq;
		on->recvq = seen->recvq;
		on->elem_type = seen->elem_type;
	}
	return err ? err : read_semaphores(gp, items, count, budget);
}
