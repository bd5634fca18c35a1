/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * locks SCENARIO: threads stuck on glibc locks in one known shape per run,
 * for the tests of the wait-for graph.  Every lock is a named global (but
 * the process-shared mutex, which lives in shared memory); every thread is
 * named after its role.
 *
 *   abba       "ab" holds lock_a, waits for lock_b; "ba" holds lock_b, waits for lock_a
 *   cycle3     "c1" holds lock_1, waits for lock_2; "c2" lock_2 -> lock_3;
 *              "c3" lock_3 -> lock_1; "bystander" waits for lock_2, holding nothing
 *   self       "self" locks self_lock (a default mutex) twice; "waiter" waits for it
 *   abandoned  "gone" locks abandoned_lock and exits; 3 "waiter"s wait for it
 *   rwlock     "writer" write-locks table_rwlock and pauses; 2 "reader"s wait to
 *              read it, 2 "blocked-writer"s to write it
 *   pi         "holder" locks pi_lock (PTHREAD_PRIO_INHERIT) and pauses; 2 "waiter"s
 *   pshared    a child process ("holder") locks a process-shared mutex in shared
 *              memory and pauses; 2 "waiter" threads of the parent wait for it
 *   heldio     "reader" locks io_lock, then reads a pipe nobody writes; 2 "waiter"s
 *   convoy     "sleeper" locks convoy_lock, then sleeps in nanosleep; 50 "waiter"s
 *
 * Once /proc shows every thread asleep where it should be (futex for the
 * waiters; pause, nanosleep or read for the holders that park), prints its
 * own record of who took what as one line,
 *
 *   READY {"scenario": "abba", "pid": P,
 *          "locks": [{"name": "lock_a", "kind": "mutex", "addr": "0x...",
 *                     "static": true, "mapping": "file"}, ...],
 *          "threads": [{"role": "ab", "pid": P, "tid": T, "holds": "lock_a",
 *                       "waits": "lock_b", "mode": "lock", "parks": null,
 *                       "fd": null, "exited": false}, ...]}
 *
 * (mapping says whether /proc/self/maps has the lock in a mapping of a file
 * or an anonymous one: .bss past the file's last page is anonymous, yet its
 * locks have names; holds/waits are lock names or null; mode is how it
 * waits: lock, read or write; parks is where a holder that waits for no
 * lock sleeps: pause, nanosleep, read (fd says which), exit), then pauses
 * until killed; the pshared child dies with it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "target_util.h"

#define CONVOY_WAITERS 50
#define MAX_ACTORS (CONVOY_WAITERS + 1)
#define MAX_LOCKS 4
#define STACK_SIZE (256 * 1024)

#define SYS_READ 0
#define SYS_PAUSE 34
#define SYS_NANOSLEEP 35
#define SYS_FUTEX 202
#define SYS_CLOCK_NANOSLEEP 230

enum lock_kind { LOCK_MUTEX, LOCK_RWLOCK };
static const char *const lock_kind_names[] = { "mutex", "rwlock" };

enum take_mode { TAKE_LOCK, TAKE_READ, TAKE_WRITE };
static const char *const take_mode_names[] = { "lock", "read", "write" };

enum park { PARK_NONE, PARK_PAUSE, PARK_NANOSLEEP, PARK_READ, PARK_EXIT };
static const char *const park_names[] = { NULL, "pause", "nanosleep", "read", "exit" };

enum stage { STAGE_NONE, STAGE_HOLDING, STAGE_WAITING };

struct named_lock {
	const char *name;
	enum lock_kind kind;
	void *object;
	bool is_static;             /* a global: its name is in the symbol table */
};

struct actor {
	const char *role;           /* also its thread name */
	struct named_lock *holds;   /* taken first (an rwlock for writing), or NULL */
	struct named_lock *waits;   /* then taken in `mode`, blocking for ever; or NULL */
	enum take_mode mode;
	enum park park;             /* where it sleeps when it waits for no lock */
	pthread_barrier_t *meet;    /* the actors of a cycle meet here holding their locks */
	bool in_child;              /* runs as the main thread of a child process */
	pid_t pid, tid;
	int stage;                  /* enum stage, atomic */
};

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_2 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_3 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t self_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t pi_lock; /* PTHREAD_PRIO_INHERIT: set up by scenario_pi */
static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t convoy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t table_rwlock = PTHREAD_RWLOCK_INITIALIZER;

static pthread_barrier_t meet;
static int never_written[2]; /* the pipe heldio's reader reads */

static struct named_lock locks[MAX_LOCKS];
static int lock_count;
static struct actor actors[MAX_ACTORS];
static int actor_count;

#define MUTEX(var) add_lock(#var, LOCK_MUTEX, &(var), true)

static struct named_lock *add_lock(const char *name, enum lock_kind kind, void *object,
				   bool is_static)
{
	struct named_lock *lock = &locks[lock_count++];

	lock->name = name;
	lock->kind = kind;
	lock->object = object;
	lock->is_static = is_static;
	return lock;
}

static struct actor *add_actor(const char *role, struct named_lock *holds,
			       struct named_lock *waits, enum park park)
{
	struct actor *actor = &actors[actor_count++];

	actor->role = role;
	actor->holds = holds;
	actor->waits = waits;
	actor->mode = waits && waits->kind == LOCK_RWLOCK ? TAKE_WRITE : TAKE_LOCK;
	actor->park = park;
	return actor;
}

static void add_waiters(int n, const char *role, struct named_lock *waits, enum take_mode mode)
{
	for (int i = 0; i < n; i++)
		add_actor(role, NULL, waits, PARK_NONE)->mode = mode;
}

/* ------------------------------------------------------------ the scenarios */

static void scenario_abba(void)
{
	struct named_lock *a = MUTEX(lock_a), *b = MUTEX(lock_b);

	pthread_barrier_init(&meet, NULL, 2);
	add_actor("ab", a, b, PARK_NONE)->meet = &meet;
	add_actor("ba", b, a, PARK_NONE)->meet = &meet;
}

static void scenario_cycle3(void)
{
	struct named_lock *one = MUTEX(lock_1), *two = MUTEX(lock_2), *three = MUTEX(lock_3);

	pthread_barrier_init(&meet, NULL, 3);
	add_actor("c1", one, two, PARK_NONE)->meet = &meet;
	add_actor("c2", two, three, PARK_NONE)->meet = &meet;
	add_actor("c3", three, one, PARK_NONE)->meet = &meet;
	add_waiters(1, "bystander", two, TAKE_LOCK);
}

static void scenario_self(void)
{
	struct named_lock *lock = MUTEX(self_lock);

	add_actor("self", lock, lock, PARK_NONE);
	add_waiters(1, "waiter", lock, TAKE_LOCK);
}

static void scenario_abandoned(void)
{
	struct named_lock *lock = MUTEX(abandoned_lock);

	add_actor("gone", lock, NULL, PARK_EXIT);
	add_waiters(3, "waiter", lock, TAKE_LOCK);
}

static void scenario_rwlock(void)
{
	struct named_lock *lock = add_lock("table_rwlock", LOCK_RWLOCK, &table_rwlock, true);

	add_actor("writer", lock, NULL, PARK_PAUSE);
	add_waiters(2, "reader", lock, TAKE_READ);
	add_waiters(2, "blocked-writer", lock, TAKE_WRITE);
}

static void scenario_pi(void)
{
	pthread_mutexattr_t attr;
	int err = pthread_mutexattr_init(&attr);

	if (!err)
		err = pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
	if (!err)
		err = pthread_mutex_init(&pi_lock, &attr);
	if (err)
		tu_die("PTHREAD_PRIO_INHERIT mutex", err);
	add_actor("holder", MUTEX(pi_lock), NULL, PARK_PAUSE);
	add_waiters(2, "waiter", &locks[0], TAKE_LOCK);
}

static void scenario_pshared(void)
{
	pthread_mutex_t *shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t attr;
	struct named_lock *lock;
	int err;

	if (shared == MAP_FAILED)
		tu_die("mmap of the shared mutex", errno);
	err = pthread_mutexattr_init(&attr);
	if (!err)
		err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (!err)
		err = pthread_mutex_init(shared, &attr);
	if (err)
		tu_die("process-shared mutex", err);
	lock = add_lock("shared_lock", LOCK_MUTEX, shared, false);
	add_actor("holder", lock, NULL, PARK_PAUSE)->in_child = true;
	add_waiters(2, "waiter", lock, TAKE_LOCK);
}

static void scenario_heldio(void)
{
	if (pipe(never_written))
		tu_die("pipe", errno);
	add_actor("reader", MUTEX(io_lock), NULL, PARK_READ);
	add_waiters(2, "waiter", &locks[0], TAKE_LOCK);
}

static void scenario_convoy(void)
{
	add_actor("sleeper", MUTEX(convoy_lock), NULL, PARK_NANOSLEEP);
	add_waiters(CONVOY_WAITERS, "waiter", &locks[0], TAKE_LOCK);
}

static const struct scenario {
	const char *name;
	void (*setup)(void);
} scenarios[] = {
	{ "abba", scenario_abba },
	{ "cycle3", scenario_cycle3 },
	{ "self", scenario_self },
	{ "abandoned", scenario_abandoned },
	{ "rwlock", scenario_rwlock },
	{ "pi", scenario_pi },
	{ "pshared", scenario_pshared },
	{ "heldio", scenario_heldio },
	{ "convoy", scenario_convoy },
};

/* ------------------------------------------------------------ the actors */

static void take(const struct named_lock *lock, enum take_mode mode)
{
	int err;

	if (lock->kind == LOCK_MUTEX)
		err = pthread_mutex_lock(lock->object);
	else if (mode == TAKE_READ)
		err = pthread_rwlock_rdlock(lock->object);
	else
		err = pthread_rwlock_wrlock(lock->object);
	if (err)
		tu_die(lock->name, err);
}

static void set_stage(struct actor *actor, enum stage stage)
{
	__atomic_store_n(&actor->stage, stage, __ATOMIC_RELEASE);
}

/* Sleeps for ever where its park says; returns at once for PARK_EXIT. */
static void park(const struct actor *actor)
{
	struct timespec hour = { 3600, 0 };
	char byte;

	for (;;) {
		switch (actor->park) {
		case PARK_PAUSE:
			pause();
			break;
		case PARK_NANOSLEEP:
			nanosleep(&hour, NULL);
			break;
		case PARK_READ:
			if (read(never_written[0], &byte, 1) < 0 && errno != EINTR)
				tu_die("read of the pipe", errno);
			break;
		default:
			return;
		}
	}
}

static void *actor_main(void *arg)
{
	struct actor *actor = arg;

	actor->pid = getpid();
	actor->tid = gettid();
	pthread_setname_np(pthread_self(), actor->role);
	if (actor->holds)
		take(actor->holds, actor->holds->kind == LOCK_MUTEX ? TAKE_LOCK : TAKE_WRITE);
	set_stage(actor, STAGE_HOLDING);
	if (actor->meet)
		pthread_barrier_wait(actor->meet);
	set_stage(actor, STAGE_WAITING);
	if (actor->waits)
		take(actor->waits, actor->mode);
	park(actor);
	return NULL;
}

static void wait_stage(const struct actor *actor, enum stage stage)
{
	long long deadline = tu_now_ns() + TU_DEADLINE_NS;

	while (__atomic_load_n(&actor->stage, __ATOMIC_ACQUIRE) < (int)stage) {
		if (tu_now_ns() > deadline) {
			fprintf(stderr, "target: %s thread not at stage %d after 5 s\n",
				actor->role, stage);
			exit(1);
		}
		tu_poll_pause();
	}
}

/* The holder of a process-shared lock: a child process that dies with us. */
static void start_in_child(struct actor *actor)
{
	pid_t parent = getpid(), child;
	int ready[2];
	char byte = 0;

	if (pipe(ready))
		tu_die("pipe", errno);
	child = fork();
	if (child < 0)
		tu_die("fork", errno);
	if (!child) {
		close(ready[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		prctl(PR_SET_NAME, actor->role);
		take(actor->holds, TAKE_LOCK);
		if (write(ready[1], &byte, 1) != 1)
			_exit(1);
		park(actor);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &byte, 1) != 1) {
		fprintf(stderr, "target: the %s child died before taking its lock\n", actor->role);
		exit(1);
	}
	close(ready[0]);
	actor->pid = actor->tid = child;
	set_stage(actor, STAGE_WAITING);
}

/* Starts the actor and returns once it holds its lock: the next one may wait for it. */
static void start(struct actor *actor, const pthread_attr_t *attr)
{
	long long deadline;
	pthread_t thread;
	int err;

	if (actor->in_child) {
		start_in_child(actor);
		return;
	}
	err = pthread_create(&thread, attr, actor_main, actor);
	if (err)
		tu_die("pthread_create", err);
	wait_stage(actor, STAGE_HOLDING);
	if (actor->park != PARK_EXIT)
		return;
	err = pthread_join(thread, NULL);
	if (err)
		tu_die("pthread_join", err);
	/* joined: the kernel cleared its tid; /proc says the task is gone too */
	deadline = tu_now_ns() + TU_DEADLINE_NS;
	while (tu_task_state(actor->tid)) {
		if (tu_now_ns() > deadline) {
			fprintf(stderr, "target: exited thread %d still in /proc after 5 s\n",
				(int)actor->tid);
			exit(1);
		}
		tu_poll_pause();
	}
}

static void wait_asleep(const struct actor *actor)
{
	pid_t pid = actor->pid == getpid() ? 0 : actor->pid;

	if (actor->waits) {
		tu_wait_blocked_of(pid, actor->tid, actor->role, SYS_FUTEX, SYS_FUTEX);
		return;
	}
	switch (actor->park) {
	case PARK_PAUSE:
		tu_wait_blocked_of(pid, actor->tid, actor->role, SYS_PAUSE, SYS_PAUSE);
		break;
	case PARK_NANOSLEEP:
		tu_wait_blocked_of(pid, actor->tid, actor->role, SYS_NANOSLEEP, SYS_CLOCK_NANOSLEEP);
		break;
	case PARK_READ:
		tu_wait_blocked_of(pid, actor->tid, actor->role, SYS_READ, SYS_READ);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------ the record */

/* "file" or "anonymous": what /proc/self/maps maps at ADDR; "unmapped". */
static const char *mapping_of(const void *addr)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	unsigned long start, end, inode;
	const char *kind = "unmapped";
	char line[512];

	if (!maps)
		tu_die("/proc/self/maps", errno);
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &start, &end, &inode) == 3 &&
		    (unsigned long)addr >= start && (unsigned long)addr < end) {
			kind = inode ? "file" : "anonymous";
			break;
		}
	}
	fclose(maps);
	return kind;
}

static void print_name_or_null(const char *key, const struct named_lock *lock)
{
	if (lock)
		printf(", \"%s\": \"%s\"", key, lock->name);
	else
		printf(", \"%s\": null", key);
}

static void print_record(const char *scenario)
{
	printf("READY {\"scenario\": \"%s\", \"pid\": %d, \"locks\": [", scenario, (int)getpid());
	for (int i = 0; i < lock_count; i++)
		printf("%s{\"name\": \"%s\", \"kind\": \"%s\", \"addr\": \"%p\", \"static\": %s, "
		       "\"mapping\": \"%s\"}", i ? ", " : "", locks[i].name,
		       lock_kind_names[locks[i].kind], locks[i].object,
		       locks[i].is_static ? "true" : "false", mapping_of(locks[i].object));
	printf("], \"threads\": [");
	for (int i = 0; i < actor_count; i++) {
		const struct actor *actor = &actors[i];

		printf("%s{\"role\": \"%s\", \"pid\": %d, \"tid\": %d", i ? ", " : "", actor->role,
		       (int)actor->pid, (int)actor->tid);
		print_name_or_null("holds", actor->holds);
		print_name_or_null("waits", actor->waits);
		printf(", \"mode\": \"%s\"", take_mode_names[actor->mode]);
		if (park_names[actor->park] && !actor->waits)
			printf(", \"parks\": \"%s\"", park_names[actor->park]);
		else
			printf(", \"parks\": null");
		if (actor->park == PARK_READ)
			printf(", \"fd\": %d", never_written[0]);
		else
			printf(", \"fd\": null");
		printf(", \"exited\": %s}", actor->park == PARK_EXIT ? "true" : "false");
	}
	printf("]}\n");
	if (fflush(stdout)) {
		fprintf(stderr, "target: cannot write to stdout: %s\n", strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const struct scenario *scenario = NULL;
	pthread_attr_t attr;

	for (size_t i = 0; argc == 2 && i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name))
			scenario = &scenarios[i];
	if (!scenario) {
		fprintf(stderr, "usage: locks abba|cycle3|self|abandoned|rwlock|pi|pshared|heldio|convoy\n");
		return 2;
	}
	scenario->setup();
	tu_thread_attr(&attr, STACK_SIZE, false);
	for (int i = 0; i < actor_count; i++)
		start(&actors[i], &attr);
	for (int i = 0; i < actor_count; i++) {
		wait_stage(&actors[i], STAGE_WAITING);
		wait_asleep(&actors[i]);
	}
	print_record(scenario->name);
	for (;;)
		pause();
}
