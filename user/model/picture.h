/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The picture: one tick's view of every watched unit, immutable once built
 * and the input of every consumer (live view, text, JSON, pprof, folded,
 * Prometheus, leak trends, the leak report, HTTP).  A unit is an OS thread
 * or a Go goroutine; both kinds carry the same fields, and a goroutine's
 * own extras sit in a side struct.  Groups (units with the same process,
 * wait reason, timeout and stack) and per-process summaries are built once,
 * for both kinds, by group__finish (model/group.h).
 *
 * A picture owns what it points to: stacks, kernel frames, strings and
 * goroutine extras are its own, and the symbols its stacks name are held by
 * reference.  It stays valid after its process exits or the caches it came
 * from are flushed.  It is reference-counted so that the collector, the
 * HTTP server and a per-process view can share it.
 */
#ifndef PARKWATCH_PICTURE_H
#define PARKWATCH_PICTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "park.h"
#include "model/symbol.h"
#include "util/budget.h"

enum pw_unit_kind {
	PW_UNIT_THREAD,
	PW_UNIT_GOROUTINE,
};

/* Scheduler state buckets, as the summaries and /metrics count them. */
enum pw_state {
	PW_STATE_SLEEPING,
	PW_STATE_DISK_SLEEP,
	PW_STATE_RUNNING,
	PW_STATE_RUNNABLE,
	PW_STATE_STOPPED,
	PW_STATE__COUNT,
};

extern const char *const pw_state_names[PW_STATE__COUNT];

/*
 * What a parked unit waits for, when parkwatch can tell: the object it
 * sleeps on, read from the futex address and the frames (threads) or from
 * the runtime's sudog (goroutines), and who holds it.
 */
enum pw_object_kind {
	PW_OBJECT_NONE = 0,         /* not known; the rest of pw_blocked_on is zero */
	PW_OBJECT_MUTEX,            /* pthread_mutex_t */
	PW_OBJECT_RWLOCK,           /* pthread_rwlock_t */
	PW_OBJECT_CONDVAR,          /* pthread_cond_t: no owner */
	PW_OBJECT_LOCK,             /* a C library internal lock (__lll_lock_wait_private) */
	PW_OBJECT_SEMA,             /* sem_t; a Go semaphore (sync.Mutex, RWMutex, WaitGroup) */
	PW_OBJECT_BARRIER,          /* pthread_barrier_t */
	PW_OBJECT_FUTEX,            /* a futex word no frame names */
	PW_OBJECT_CHANNEL,          /* a Go channel */
	PW_OBJECT_FD,               /* a file descriptor (IO, poll on one fd, accept, ...) */
	PW_OBJECT__COUNT,
};

/* "mutex", "rwlock", "condvar", "lock", "sema", "barrier", "futex",
 * "channel", "fd": the names every output gives a kind ("" for NONE). */
extern const char *const pw_object_kind_names[PW_OBJECT__COUNT];

/* A stack as a picture holds it, shared by every unit parked on it. */
struct pw_stack {
	__u64 signature;            /* of the pcs: the same stack has it in every picture */
	int depth;                  /* frames dumps show, leaf first */
	int full_depth;             /* depth plus a hidden tail (runtime.goexit) profiles keep */
	bool truncated;             /* the walk stopped early: deeper frames are missing */
	struct stack_frame *frames; /* full_depth of them */
	const struct symbol **symbols; /* per frame, never NULL (frame_count 0: unknown) */
	/* what its function names say of a futex wait, found once per stack
	 * of threads (classify__stack_futex): every thread parked on it
	 * shares it */
	const char *futex_reason;   /* "cond wait", "mutex lock", ...; NULL: none says */
	enum pw_object_kind futex_object;
};

struct pw_wait {
	const char *reason;         /* "cond wait", "chan receive", ...; for a goroutine not
				     * waiting, its status ("running") */
	const char *syscall;        /* the syscall a thread sleeps in; NULL otherwise */
	enum park_reason kernel_reason; /* the tier-1 key; PARK_REASON_OTHER for goroutines */
	bool has_timeout;           /* the wait ends by itself */
};

/* What only a goroutine has. */
struct pw_goroutine {
	__u64 parent_goid;          /* 0: none, or a Go before 1.21 */
	__u64 gopc;                 /* return address of its `go` statement; 0: none */
	const struct symbol *creator; /* at gopc - 1; NULL without gopc */
	const char *status;         /* "waiting", "runnable", "running", "syscall", ... */
	const char *wait_reason;    /* waiting: the runtime's text; else NULL */
	__u64 wait_ns;              /* by the runtime's waitsince, which only a GC sets: 0
				     * when unknown */
	pid_t tid;                  /* running or in a syscall: its thread, when known */
	bool system;                /* a runtime goroutine: Go's dumps leave it out */
	bool locked;                /* locked to its thread */
};

/* A Go channel, as its hchan read. */
struct pw_chan {
	__u64 len;                  /* elements buffered (qcount) */
	__u64 cap;                  /* buffer size (dataqsiz); 0: unbuffered */
	bool closed;
	__u32 sendq, recvq;         /* goroutines queued to send, to receive */
	const char *elem_type;      /* "int", "*main.job"; NULL when unknown */
};

/* A file descriptor and what it is.  Strings are the picture's. */
struct pw_fd {
	int fd;
	const char *type;           /* "tcp", "tcp6", "udp", "unix", "pipe", "fifo", "eventfd",
				     * "file", "tty", "socket", ...; never NULL */
	const char *text;           /* one line for dumps: "TCP 10.0.0.1:5432 -> 10.0.0.2:41234
				     * ESTABLISHED", "/var/log/app.log", "pipe:[81234]" */
	bool listening;             /* a listening socket: a thread in accept on it is idle */
	pid_t peer_pid;             /* the process at the other end (pipe, UNIX socket); 0: unknown */
	const char *peer_comm;      /* its name, when peer_pid */
};

struct pw_blocked_on {
	enum pw_object_kind kind;
	__u64 addr;                 /* the object in its process's memory (futex word, hchan,
				     * semaphore); 0 for an fd and a nil channel */
	const char *symbol;         /* a static object's name: "config_lock", "table+0x40"; NULL */
	pid_t owner_tid;            /* the thread holding it (a host tid); 0: no owner, or unknown */
	pid_t owner_pid;            /* owner_tid's process: another one for a process-shared lock */
	bool owner_unknown;         /* it has an owner parkwatch cannot read (musl, elided, an
				     * unknown C library, readers of an rwlock) */
	bool owner_dead;            /* owner_tid is no live thread, or the robust futex says
				     * FUTEX_OWNER_DIED: nobody will release it */
	bool never_wakes;           /* a nil channel, a select with no cases */
	const struct pw_chan *chan; /* PW_OBJECT_CHANNEL, when its hchan was read */
	const struct pw_fd *fd;     /* PW_OBJECT_FD */
};

struct pw_unit {
	enum pw_unit_kind kind;
	pid_t pid;
	__u64 id;                   /* tid or goid */
	char comm[PARK_COMM_LEN];   /* the thread's name; a goroutine's process's */
	enum pw_state state;
	const char *state_name;     /* "sleeping", "traced", ...: the finer name dumps show */
	bool parked;                /* off CPU and not runnable (a goroutine: waiting) */
	bool park_start_estimated;  /* parked before parkwatch could see it start */
	__u64 park_start_ns;        /* CLOCK_MONOTONIC; 0 when not parked */
	__u64 park_ns;              /* parked this long when the picture was taken */
	struct pw_wait wait;        /* a parked thread's, or any goroutine's */
	const struct pw_stack *stack; /* NULL: none (running, short park) */
	bool stack_raced;           /* no stack: it woke while the stack was copied */
	const __u64 *kstack;        /* kstack_depth kernel addresses, or NULL */
	int kstack_depth;
	const struct pw_goroutine *go; /* NULL for a thread */
	struct pw_blocked_on blocked_on; /* parked units: what they wait for */
};

struct pw_group {
	__u64 signature;            /* of pid, reason, timeout and stack: stable across pictures */
	pid_t pid;
	enum pw_unit_kind kind;
	const char *reason;
	bool has_timeout;
	bool parked;                /* its members are parked (always, for threads) */
	size_t count;
	__u64 oldest_park_ns;
	const struct pw_stack *stack; /* NULL: stackless members */
	/* Where the members wait, for one-line tables: the first frame of the
	 * program's own code (classify__where); NULL without one. */
	const struct symbol_frame *where;
	const struct pw_unit **members; /* count of them, oldest first */
	/* How many distinct objects (kind and address) the members wait on: 200
	 * goroutines on 200 private channels (a leak) against 200 workers on one
	 * queue (a pool).  0: none known. */
	size_t objects;
	bool deadlocked;            /* a member is in a deadlock finding */
	bool convoy;                /* a member heads a convoy or waits behind its head */
};

/*
 * Where a process runs, read off its cgroup path (proc/cgroup.h).  Strings
 * are the picture's (picture__string); each NULL when the path doesn't say.
 */
struct pw_cgroup {
	const char *path;           /* cgroup v2 path, or v1's pids/memory/first one */
	const char *runtime;        /* "docker", "containerd", "cri-o", "podman" */
	const char *container;      /* the container id as the runtime wrote it */
	const char *pod;            /* Kubernetes pod UID (kubepods paths) */
	const char *qos;            /* with pod: "guaranteed", "burstable", "besteffort" */
	const char *unit;           /* systemd unit: "nginx.service", "session-3.scope" */
};

struct pw_process {
	pid_t pid;
	unsigned long long start_ticks; /* with pid, which process this is (0: unknown) */
	pid_t ns_pid;               /* its pid in its own PID namespace; 0: the same */
	uid_t owner_uid;            /* the one user its uids all are; 0 (root's) when they
				     * differ or are unknown: whose stacks these are */
	char comm[PARK_COMM_LEN];
	char *exe;                  /* main binary, NULL when unreadable */
	struct pw_cgroup cgroup;
	enum pw_unit_kind unit_kind; /* what this process's units are */
	size_t units;               /* for goroutines: user goroutines, as Go's "total" */
	size_t parked;
	/* goroutine processes only */
	char *go_version;           /* "go1.21.6"; "unknown" when the binary doesn't say */
	int go_minor;               /* 21 for go1.21.6; 0 when unknown */
	char *goroot_src;           /* ".../src/": files below it are the standard library's */
	bool has_parent_goid;       /* Go 1.21+: "created by F in goroutine N" */
	size_t system_units;        /* runtime goroutines, not in units */
	size_t dropped;             /* goroutines that changed under every read */
	enum budget_cut cut_short;  /* reading its goroutines stopped early (its time or
				     * memory budget, or a stop): the rest are missing */
};

/*
 * What the wait-for graph (model/waitfor.h) shows: each finding held in two
 * reads of its evidence (collect/ confirms).  Units are the picture's.
 */
enum pw_finding_kind {
	PW_FINDING_DEADLOCK,        /* units: a cycle, each waiting for a lock the next holds */
	PW_FINDING_SELF_DEADLOCK,   /* units: one thread waiting for a mutex it holds */
	PW_FINDING_ABANDONED,       /* units: the waiters of a lock whose owner is gone */
	PW_FINDING_CONVOY,          /* units: the head (an owner waiting for no known owner),
				     * then every unit whose chain of owners ends at it */
	PW_FINDING__COUNT,
};

/* "deadlock", "self-deadlock", "abandoned lock", "convoy" */
extern const char *const pw_finding_kind_names[PW_FINDING__COUNT];

struct pw_finding {
	enum pw_finding_kind kind;
	pid_t pid;                  /* units[0]'s process */
	__u64 addr;                 /* self-deadlock, abandoned: the lock; convoy: a lock the
				     * head holds; deadlock: units[0]'s lock */
	pid_t owner_tid;            /* abandoned: the gone owner; convoy: the head */
	const struct pw_unit **units;
	size_t unit_count;
};

struct picture_owned;

struct pw_picture {
	unsigned int refs;          /* atomic */
	__u64 time_unix_ns;
	__u64 time_mono_ns;
	struct pw_unit *units;      /* by pid; a process's threads by tid, goroutines in
				     * the runtime's order */
	size_t unit_count;
	size_t parked_count;
	size_t state_counts[PW_STATE__COUNT];
	struct pw_process *procs;   /* by pid */
	size_t proc_count;
	struct pw_group *groups;    /* largest first, then oldest */
	size_t group_count;
	struct pw_totals *totals;   /* tier-1 as of this picture, owned; NULL: none */
	struct pw_finding *findings; /* deadlocks first, then self-deadlocks, abandoned, convoys */
	size_t finding_count;
	struct picture_owned *owned; /* what the picture frees */
	struct pw_picture *parent;  /* a view's whole picture (picture__view_pid) */
	enum budget_cut cut_short;  /* BUDGET_CUT_STOPPED: parkwatch was asked to stop while
				     * taking it, and units not reached yet are missing */
};

/* "stopped", "time_budget", "memory_budget"; NULL for BUDGET_CUT_NONE. */
const char *picture__cut_name(enum budget_cut cut);

/* An empty picture with one reference; NULL when out of memory. */
struct pw_picture *picture__new(void);
struct pw_picture *picture__get(struct pw_picture *picture);
/* Drops a reference; the last frees.  NULL-safe. */
void picture__put(struct pw_picture *picture);

/* ---- building: sources fill a new picture, then group__finish
 * (model/group.h) counts it and builds its groups ---- */

/* count more zeroed units at the end; NULL when out of memory. */
struct pw_unit *picture__add_units(struct pw_picture *picture, size_t count);
/* A new process summary, zeroed but for pid; NULL when out of memory. */
struct pw_process *picture__add_process(struct pw_picture *picture, pid_t pid);
/*
 * The picture's stack of pid with these frames and symbols (copied; a
 * reference is taken on each symbol), shared with any unit of pid already
 * given the same one.  full_depth frames, of which the last full_depth -
 * depth are hidden from dumps.  NULL when out of memory.
 */
struct pw_stack *picture__intern_stack(struct pw_picture *picture, pid_t pid,
					     const struct stack_frame *frames,
					     const struct symbol *const *symbols, int depth,
					     int full_depth, bool truncated);
/* A copy owned by the picture (kernel stacks); NULL when out of memory. */
const void *picture__copy(struct pw_picture *picture, const void *data, size_t size);
/* A string owned by the picture, one copy per distinct text; NULL for NULL
 * or when out of memory. */
const char *picture__string(struct pw_picture *picture, const char *text);
/* Takes a reference on symbol for the picture; returns it. */
const struct symbol *picture__hold_symbol(struct pw_picture *picture, const struct symbol *symbol);
/* A zeroed chan or fd description owned by the picture; NULL when out of memory. */
struct pw_chan *picture__add_chan(struct pw_picture *picture);
struct pw_fd *picture__add_fd(struct pw_picture *picture);
/* count zeroed goroutine extras owned by the picture; NULL when out of memory. */
struct pw_goroutine *picture__add_goroutines(struct pw_picture *picture, size_t count);
/*
 * Sorts units and processes by pid and counts them, per state and per
 * process.  0, -ENOMEM, or -EINVAL for units without their process.
 */
int picture__finish(struct pw_picture *picture);

/* ---- reading ---- */

/* The unit of pid with this tid or goid, or NULL (a finished picture). */
const struct pw_unit *picture__unit(const struct pw_picture *picture, pid_t pid, __u64 id);
/* The process summary for pid, or NULL. */
const struct pw_process *picture__process(const struct pw_picture *picture, pid_t pid);
/*
 * A picture of pid alone (units, groups, summary), sharing picture's data
 * and holding a reference to it.  0, -ENOENT (no such process) or -ENOMEM.
 */
int picture__view_pid(struct pw_picture *picture, pid_t pid, struct pw_picture **out);
/* The process when the picture is one goroutine process; else NULL.  Go's
 * own output shapes (debug=1/2, goroutine profiles) are for that case. */
const struct pw_process *picture__goroutine_process(const struct pw_picture *picture);
/*
 * The one short label of where a process runs, for columns and headers:
 * the container id's first 12 characters, else "pod/" and the pod UID,
 * else the systemd unit; NULL when none of them is known.
 */
const char *picture__container_label(const struct pw_process *process, char *buf, size_t size);
/* "finite" or "none": how every output names a wait's timeout. */
const char *picture__timeout_name(bool has_timeout);

#endif /* PARKWATCH_PICTURE_H */
