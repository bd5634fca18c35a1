// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Goroutines as units (goroutines.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "collect/goroutines.h"
#include "collect/placement.h"
#include "go/goproc.h"
#include "proc/symbolize.h"
#include "util/procfs.h"
#include "util/gaveup.h"
#include "util/text.h"
#include "util/u64map.h"

/* Of a Go process's time budget, what reading its goroutines may spend;
 * naming them (stacks, waits), much quicker per goroutine, has the rest. */
#define READ_SHARE_PERCENT 80

/* One process's reader and goroutine ages. */
struct go_process {
	struct goproc *reader;      /* NULL when opening it failed */
	int open_err;               /* goproc__open's outcome; -ENOMEM is retried */
	char why[256];              /* and its why: what failed, or what it took on trust */
	__u64 maps_hash;            /* the mappings it was opened for: an exec reopens it */
	struct u64map ages;         /* goid -> struct go_age * */
	__u64 last_first_seen_ns;   /* the latest first-seen time handed out */
	unsigned int generation;    /* pictures taken of it */
	bool used;                  /* read since the last prune */
};

struct go_age {
	__u64 wait_key;             /* reason and stack of the wait it was seen in */
	__u64 first_seen_ns;
	unsigned int generation;    /* last picture that saw it */
	int switches;               /* the goroutine's g.trackingSeq then; -1: unknown */
};

struct goroutines {
	struct u64map by_pid;       /* pid -> struct go_process * */
	struct golayout_cache *layouts;
	bool keep_ages;
};

/* runtime2.go's _G* names; 10 is Go 1.26's leaked goroutine. */
static const char *const status_names[] = {
	"idle", "runnable", "running", "syscall", "waiting", "moribund", "dead",
	"enqueue", "copystack", "preempted", "leaked",
};

static const char *status_name(__u32 status)
{
	return status < sizeof(status_names) / sizeof(status_names[0]) ? status_names[status] :
									  "unknown";
}

struct goroutines *goroutines__new(bool keep_ages)
{
	struct goroutines *goroutines = calloc(1, sizeof(*goroutines));

	if (!goroutines)
		return NULL;
	goroutines->keep_ages = keep_ages;
	goroutines->layouts = golayout_cache__new();
	if (!goroutines->layouts) {
		free(goroutines);
		return NULL;
	}
	return goroutines;
}

static void free_process(void *value)
{
	struct go_process *gp = value;

	goproc__free(gp->reader);
	u64map__free_all(&gp->ages, free);
	free(gp);
}

void goroutines__free(struct goroutines *goroutines)
{
	if (!goroutines)
		return;
	u64map__free_all(&goroutines->by_pid, free_process);
	golayout_cache__free(goroutines->layouts);
	free(goroutines);
}

static bool keep_used(__u64 key, void *value, void *ctx)
{
	struct go_process *gp = value;

	(void)key;
	(void)ctx;
	if (gp->used) {
		gp->used = false;
		return true;
	}
	free_process(gp);
	return false;
}

void goroutines__prune(struct goroutines *goroutines)
{
	u64map__filter(&goroutines->by_pid, keep_used, NULL);
}

/* The process's reader, opened on first use and kept, with its outcome,
 * until the process's mappings change (exec). */
static int reader_of(struct goroutines *goroutines, struct proc *proc, struct go_process **out)
{
	struct go_process *gp = u64map__get(&goroutines->by_pid, (__u64)proc->pid);

	procs__refresh(proc); /* notices an exec through the mappings' hash */
	if (gp && gp->maps_hash != proc->maps_hash) {
		u64map__remove(&goroutines->by_pid, (__u64)proc->pid);
		free_process(gp);
		gp = NULL;
	}
	if (!gp) {
		gp = calloc(1, sizeof(*gp));
		if (!gp || u64map__put(&goroutines->by_pid, (__u64)proc->pid, gp)) {
			free(gp);
			return -ENOMEM;
		}
		gp->maps_hash = proc->maps_hash;
		gp->open_err = -ENOMEM;
	}
	if (gp->open_err == -ENOMEM)
		gp->open_err = goproc__open(proc->pid, goroutines->layouts, &gp->reader, gp->why,
					    sizeof(gp->why));
	gp->used = true;
	*out = gp;
	return gp->open_err;
}

/*
 * What the goroutines of one read share, named once: 100,000 goroutines
 * park at a few places, were started by a few go statements and wait on
 * a few channels.  Each memo is checked against what it stands for.
 */
struct shared {
	const struct goroutine *gs; /* the read */
	const struct pw_unit *units; /* their units */
	struct u64map stacks;       /* hash of a goroutine's pcs -> index + 1 in gs */
	struct u64map creators;     /* gopc -> its held symbol */
	struct u64map chans;        /* hchan -> its struct pw_chan */
};

static void shared__clear(struct shared *shared)
{
	u64map__clear(&shared->stacks);
	u64map__clear(&shared->creators);
	u64map__clear(&shared->chans);
}

/* ------------------------------------------------------------- stacks */

/*
 * The stack of g as dumps show it, wrappers left out; NULL stackless.  A
 * wrapper's frame stays when code was inlined into it: its symbol then
 * names that code alone (symbolize.c), as the runtime's tracebacks do.
 */
static int stack_of(struct pw_picture *picture, struct proc *proc, const struct goproc *reader,
		    const struct goroutine *g, const struct pw_stack **out)
{
	struct stack_frame frames[GO_MAX_DEPTH];
	const struct symbol *symbols[GO_MAX_DEPTH];
	int count = 0, depth;

	*out = NULL;
	for (int i = 0; i < g->depth && i < GO_MAX_DEPTH; i++) {
		__u64 lookup_pc = goroutine__lookup_pc(g, i);
		const struct symbol *symbol = symbolize__user(proc, lookup_pc);

		if (!symbol)
			return -ENOMEM;
		if (goproc__is_wrapper(reader, lookup_pc) && symbol->frame_count &&
		    !symbol->frames[symbol->frame_count - 1].inlined)
			continue;
		frames[count] = (struct stack_frame){ g->pcs[i], lookup_pc };
		symbols[count++] = symbol;
	}
	if (!count)
		return 0;
	/* the bottom of every complete goroutine stack: Go never shows it */
	depth = count;
	if (symbol__function(symbols[count - 1]) &&
	    !strcmp(symbol__function(symbols[count - 1]), "runtime.goexit"))
		depth--;
	*out = picture__intern_stack(picture, proc->pid, frames, symbols, depth, count, g->truncated);
	return *out ? 0 : -ENOMEM;
}

static __u64 pcs_key(const struct goroutine *g)
{
	__u64 key = hash__bytes(g->exact, sizeof(g->exact), (__u64)g->depth << 1 | g->truncated);

	key = hash__bytes(g->pcs, g->depth * sizeof(*g->pcs), key);
	return key ? key : 1;
}

static bool same_pcs(const struct goroutine *a, const struct goroutine *b)
{
	return a->depth == b->depth && a->truncated == b->truncated &&
	       !memcmp(a->exact, b->exact, sizeof(a->exact)) &&
	       !memcmp(a->pcs, b->pcs, a->depth * sizeof(*a->pcs));
}

/* stack_of, once per distinct pcs: the stack depends on nothing else. */
static int shared_stack(struct shared *shared, struct pw_picture *picture, struct proc *proc,
			const struct goproc *reader, size_t i, const struct pw_stack **out)
{
	const struct goroutine *g = &shared->gs[i];
	__u64 key;
	uintptr_t first;
	int err;

	if (!g->depth)
		return stack_of(picture, proc, reader, g, out);
	key = pcs_key(g);
	first = (uintptr_t)u64map__get(&shared->stacks, key);
	if (first && same_pcs(&shared->gs[first - 1], g)) {
		*out = shared->units[first - 1].stack;
		return 0;
	}
	err = stack_of(picture, proc, reader, g, out);
	if (!err && !first)
		err = u64map__put(&shared->stacks, key, (void *)(uintptr_t)(i + 1));
	return err;
}

/* The go statement at gopc, named and held once. */
static const struct symbol *shared_creator(struct shared *shared, struct pw_picture *picture,
					   struct proc *proc, __u64 gopc)
{
	const struct symbol *creator = u64map__get(&shared->creators, gopc);

	if (creator)
		return creator;
	creator = symbolize__user(proc, gopc - 1);
	if (creator)
		creator = picture__hold_symbol(picture, creator);
	if (creator && u64map__put(&shared->creators, gopc, (void *)creator))
		return NULL;
	return creator;
}

/* Waits that end by themselves: time.Sleep and the runtime's timers. */
static bool reason_has_timeout(const char *reason)
{
	return !strcmp(reason, "sleep") || strstr(reason, "timer");
}

/*
 * Where GOROOT's sources are, from a runtime function's file
 * (".../src/runtime/proc.go" -> ".../src/"): frames with files below it
 * are the standard library's.
 */
static char *find_goroot(const struct pw_unit *units, size_t count)
{
	for (size_t u = 0; u < count; u++) {
		const struct pw_stack *stack = units[u].stack;

		for (int i = 0; stack && i < stack->full_depth; i++) {
			const struct symbol *symbol = stack->symbols[i];

			for (int j = 0; j < symbol->frame_count; j++) {
				const char *file = symbol->frames[j].file;
				const char *at = file ? strstr(file, "/src/runtime/") : NULL;

				if (text__has_prefix(symbol->frames[j].function, "runtime.") && at)
					return strndup(file, at - file + 5);
			}
		}
	}
	return NULL;
}

/* ------------------------------------------------------------- ages */

/* The next first-seen time: now, but strictly after every one handed out. */
static __u64 next_first_seen(struct go_process *gp, __u64 now_ns)
{
	__u64 t = now_ns > gp->last_first_seen_ns ? now_ns : gp->last_first_seen_ns + 1;

	gp->last_first_seen_ns = t;
	return t;
}

static __u64 wait_key(const struct pw_unit *unit)
{
	__u64 key = unit->stack ? unit->stack->signature : 0;

	return hash__bytes(unit->wait.reason, strlen(unit->wait.reason), key);
}

/*
 * When parkwatch first saw the waiting unit in its current wait.  The same
 * reason and stack are the same wait only if the goroutine has not run in
 * between (its switch count says): a ticker's loop parks at the same place
 * every tick, and each park is a new wait, as a thread's is.
 */
static int first_seen(struct go_process *gp, const struct pw_unit *unit, int switches,
		      __u64 now_ns, __u64 *out)
{
	struct go_age *age = unit->id ? u64map__get(&gp->ages, unit->id) : NULL;
	__u64 key = wait_key(unit);

	if (age && age->wait_key == key &&
	    (age->switches < 0 || switches < 0 || age->switches == switches)) {
		age->generation = gp->generation;
		*out = age->first_seen_ns;
		return 0;
	}
	*out = next_first_seen(gp, now_ns);
	if (age) { /* woke and waits again: a new wait */
		*age = (struct go_age){ key, *out, gp->generation, switches };
		return 0;
	}
	if (!unit->id || gp->ages.count >= GOROUTINES_AGES_MAX)
		return 0;
	age = malloc(sizeof(*age));
	if (!age)
		return -ENOMEM;
	*age = (struct go_age){ key, *out, gp->generation, switches };
	if (u64map__put(&gp->ages, unit->id, age)) {
		free(age);
		return -ENOMEM;
	}
	return 0;
}

static bool keep_seen(__u64 key, void *value, void *ctx)
{
	const struct go_age *age = value;

	(void)key;
	if (age->generation == *(const unsigned int *)ctx)
		return true;
	free(value);
	return false;
}

/* ------------------------------------------------------------- units */

/* A frame of sync.Mutex's or sync.RWMutex's code (internal/sync's since Go
 * 1.24): before Go 1.21 every semaphore waiter says "semacquire". */
static bool in_mutex_code(const struct pw_stack *stack)
{
	for (int i = 0; stack && i < stack->depth; i++) {
		const char *function = symbol__function(stack->symbols[i]);

		if (function && (strstr(function, "sync.(*Mutex).") ||
				 strstr(function, "sync.(*RWMutex).")))
			return true;
	}
	return false;
}

/*
 * What g waits on (go/goproc.h's blocked_on) as the model has it.  A Go
 * mutex has an owner the runtime doesn't record: owner unknown; a
 * WaitGroup and a channel have none.
 */
static bool same_chan(const struct pw_chan *chan, const struct go_blocked_on *from)
{
	return chan->len == from->len && chan->cap == from->cap && chan->closed == from->closed &&
	       chan->sendq == from->sendq && chan->recvq == from->recvq &&
	       (chan->elem_type && from->elem_type ? !strcmp(chan->elem_type, from->elem_type) :
						     chan->elem_type == from->elem_type);
}

static int fill_blocked_on(struct shared *shared, struct pw_picture *picture,
			   const struct goroutine *g, struct pw_unit *unit)
{
	const struct go_blocked_on *from = &g->blocked_on;
	struct pw_blocked_on *on = &unit->blocked_on;
	const char *reason = unit->wait.reason;
	struct pw_chan *chan;

	if (from->kind == GO_OBJECT_SEMA) {
		on->kind = PW_OBJECT_SEMA;
		on->addr = from->addr;
		on->owner_unknown = text__has_prefix(reason, "sync.Mutex.") ||
				    text__has_prefix(reason, "sync.RWMutex.") ||
				    (!strcmp(reason, "semacquire") && in_mutex_code(unit->stack));
		return 0;
	}
	if (from->kind != GO_OBJECT_CHAN)
		return 0;
	on->kind = PW_OBJECT_CHANNEL;
	on->addr = from->addr;
	on->never_wakes = from->never_wakes;
	if (!from->chan_read)
		return 0;
	/* its waiters share one: the channel as read once */
	chan = from->addr ? u64map__get(&shared->chans, from->addr) : NULL;
	if (chan && same_chan(chan, from)) {
		on->chan = chan;
		return 0;
	}
	chan = picture__add_chan(picture);
	if (!chan)
		return -ENOMEM;
	*chan = (struct pw_chan){ .len = from->len, .cap = from->cap, .closed = from->closed,
				  .sendq = from->sendq, .recvq = from->recvq };
	if (from->elem_type && !(chan->elem_type = picture__string(picture, from->elem_type)))
		return -ENOMEM;
	on->chan = chan;
	return from->addr ? u64map__put(&shared->chans, from->addr, chan) : 0;
}

static int fill_unit(struct shared *shared, struct pw_picture *picture, struct proc *proc,
		     const struct goproc *reader, size_t i, const char *comm, struct pw_unit *unit,
		     struct pw_goroutine *go)
{
	const struct goroutine *g = &shared->gs[i];
	bool waiting = g->status == GO_STATUS_WAITING || g->status == GO_STATUS_LEAKED;
	int err;

	go->parent_goid = g->parent_goid;
	go->gopc = g->gopc;
	go->status = status_name(g->status);
	go->wait_ns = g->wait_ns;
	go->tid = g->tid;
	go->system = g->system;
	go->locked = g->locked;
	if (waiting && g->wait_reason && g->wait_reason[0]) {
		go->wait_reason = picture__string(picture, g->wait_reason);
		if (!go->wait_reason)
			return -ENOMEM;
	}
	if (g->gopc) {
		go->creator = shared_creator(shared, picture, proc, g->gopc);
		if (!go->creator)
			return -ENOMEM;
	}
	unit->kind = PW_UNIT_GOROUTINE;
	unit->pid = proc->pid;
	unit->id = g->goid;
	memcpy(unit->comm, comm, sizeof(unit->comm));
	unit->go = go;
	unit->parked = waiting; /* a leaked goroutine waits for ever */
	unit->state = unit->parked ? PW_STATE_SLEEPING :
		      g->status == GO_STATUS_RUNNING ? PW_STATE_RUNNING : PW_STATE_RUNNABLE;
	unit->state_name = go->status;
	unit->wait.reason = go->wait_reason ? go->wait_reason : go->status;
	unit->wait.has_timeout = reason_has_timeout(unit->wait.reason);
	unit->wait.kernel_reason = PARK_REASON_OTHER;
	err = shared_stack(shared, picture, proc, reader, i, &unit->stack);
	return err || !waiting ? err : fill_blocked_on(shared, picture, g, unit);
}

static int add_process(struct pw_picture *picture, struct proc *proc, const struct goproc *reader,
		       enum budget_cut cut_short,
		       const char *comm, const struct pw_unit *units, size_t count)
{
	struct pw_process *summary = picture__add_process(picture, proc->pid);

	if (!summary)
		return -ENOMEM;
	summary->start_ticks = proc->start_ticks;
	memcpy(summary->comm, comm, sizeof(summary->comm));
	summary->unit_kind = PW_UNIT_GOROUTINE;
	summary->exe = procs__exe_path(proc);
	summary->go_version = strdup(goproc__version(reader));
	summary->goroot_src = find_goroot(units, count);
	summary->go_minor = goproc__minor(reader);
	summary->has_parent_goid = goproc__has_parent_goid(reader);
	summary->dropped = goproc__dropped(reader);
	gaveup__add(GAVEUP_GOROUTINE_CHANGED, summary->dropped);
	summary->cut_short = cut_short;
	if (!summary->go_version)
		return -ENOMEM;
	return placement__fill(picture, summary, proc, NULL);
}

int goroutines__add(struct goroutines *goroutines, struct pw_picture *picture, struct proc *proc,
		    __u64 now_ns, struct budget *budget)
{
	size_t first_unit = picture->unit_count, first_proc = picture->proc_count, count = 0;
	struct goroutine *gs = NULL;
	char comm[PARK_COMM_LEN];
	struct pw_goroutine *extras;
	struct go_process *gp;
	struct pw_unit *units;
	struct budget reading = { 0 };
	struct shared shared = { 0 };
	int err = reader_of(goroutines, proc, &gp);

	if (err)
		return err;
	/* reading may not spend the time naming what it read needs: a read
	 * cut short keeps the goroutines read so far (its cut is budget's
	 * once they are named, or budget__spent would name none) */
	if (budget)
		reading = budget__first_part(budget, READ_SHARE_PERCENT);
	err = goproc__read(gp->reader, &gs, &count, budget ? &reading : NULL);
	if (err)
		return err;
	procfs__comm(proc->pid, comm, sizeof(comm));
	/* none: a read cut short before its first goroutine */
	units = count ? picture__add_units(picture, count) : NULL;
	extras = count ? picture__add_goroutines(picture, count) : NULL;
	err = !count || (units && extras) ? 0 : -ENOMEM;
	shared.gs = gs;
	shared.units = units;
	gp->generation++;
	for (size_t i = 0; i < count && !err; i++) {
		/* naming them is most of the work of a first picture; the
		 * first few are named whatever the time, as they were read */
		if (i >= GOPROC_READ_AT_LEAST && budget__spent(budget)) {
			picture->unit_count -= count - i;
			count = i;
			break;
		}
		err = fill_unit(&shared, picture, proc, gp->reader, i, comm, &units[i], &extras[i]);
		if (!err && units[i].parked && goroutines->keep_ages) {
			err = first_seen(gp, &units[i], gs[i].switches, now_ns,
					 &units[i].park_start_ns);
			units[i].park_ns = now_ns > units[i].park_start_ns ?
						   now_ns - units[i].park_start_ns : 0;
		}
	}
	shared__clear(&shared);
	budget__take_cut(budget, &reading);
	if (!err)
		err = add_process(picture, proc, gp->reader, budget ? budget->cut : BUDGET_CUT_NONE,
				  comm, units, count);
	if (!err && budget && (budget->cut == BUDGET_CUT_TIME || budget->cut == BUDGET_CUT_MEMORY))
		gaveup__count(GAVEUP_GO_BUDGET_EXCEEDED);
	goproc__free_goroutines(gs);
	if (err) {
		/* what was added stays owned by the picture, unseen; a summary
		 * past proc_count is not freed with it */
		picture->unit_count = first_unit;
		for (size_t p = first_proc; p < picture->proc_count; p++) {
			free(picture->procs[p].exe);
			free(picture->procs[p].go_version);
			free(picture->procs[p].goroot_src);
		}
		picture->proc_count = first_proc;
		return err;
	}
	u64map__filter(&gp->ages, keep_seen, &gp->generation);
	return 0;
}

const char *goroutines__why(const struct goroutines *goroutines, pid_t pid)
{
	const struct go_process *gp = u64map__get(&goroutines->by_pid, (__u64)pid);

	return gp && gp->why[0] ? gp->why : NULL;
}

const char *goroutines__strerror(int err)
{
	switch (err) {
	case -ENOEXEC:
		return "not a Go program";
	case -ENODATA:
		return "a Go program whose goroutines can't be read";
	case -ESRCH:
		return "the process exited";
	case -EACCES:
		return "its memory can't be read (run as root, or with CAP_SYS_PTRACE)";
	case -EBADMSG:
		return "its goroutine list made no sense (a runtime this parkwatch doesn't know)";
	case -EFAULT:
		return "its memory doesn't match its binary";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
