// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* What parked threads wait for, and the second read (locks.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collect/locks.h"
#include "proc/locks.h"
#include "util/procfs.h"
#include "util/u64map.h"
#include "syscall_nrs.h" /* PW_NR_*, generated from asm/unistd_64.h */

#define DATA_NAMES_MAX 4096         /* lock names kept per process */
#define STATUS_MAX 4096             /* /proc/PID/task/TID/status is ~1.5 KiB */
#define NS_TASKS_MAX (1 << 20)      /* threads of one process mapped to host tids */
#define USER_ADDR_END (1ULL << 56)  /* past the largest user address (5-level paging) */

/* One thread's /proc status, as the confirm and the owner checks read it. */
struct task_status {
	char state;                 /* 'S', 'D', 'R', 'Z', ... */
	pid_t tgid;
	pid_t ns_tid;               /* the last NSpid field: its tid in its own namespace */
	__u64 csw;                  /* voluntary + nonvoluntary context switches */
};

/* A lock as this tick's first read found it, shared by all its waiters. */
struct lock_read {
	struct lock_state state;
	pid_t owner_tid;            /* host tid; 0: none or unknown */
	pid_t owner_pid;
	bool owner_unknown;
	bool owner_dead;
	const char *symbol;         /* the picture's */
};

/* What the confirm compares: a waiter's first read. */
struct evidence {
	pid_t pid;
	__u64 futex_addr;
	enum pw_object_kind kind;
	const struct libc_layout *layout;
	__u32 word;
	pid_t owner;                /* as the process's memory says it */
	bool owner_died;
	__u64 csw;                  /* the waiter's context switches, as the snapshot counted */
};

struct locks {
	struct lock_layouts *layouts;
	struct procs *procs;        /* this tick's */
	struct u64map records;      /* tid -> const struct task_record *, this tick's snapshot */
	struct u64map evidence;     /* tid -> struct evidence: this tick's futex waiters */
	struct u64map owner_csw;    /* tid -> csw + 1 of this tick's parked owners */
	/* the previous tick's: a finding that held across two snapshots needs
	 * no read of its own */
	struct u64map prev_evidence, prev_owner_csw;
	/* the process being filled */
	pid_t pid;
	struct proc *proc;
	const struct libc_layout *layout;
	bool other_namespace;       /* its tids are not ours */
	bool ns_tids_built;
	bool ns_tids_complete;      /* every thread of it mapped: a tid not there is gone */
	struct u64map reads;        /* futex address and kind -> struct lock_read */
	struct u64map ns_tids;      /* its tid in its namespace -> host tid */
};

struct locks *locks__new(void)
{
	struct locks *locks = calloc(1, sizeof(*locks));

	if (!locks)
		return NULL;
	locks->layouts = lock_layouts__new();
	if (!locks->layouts) {
		free(locks);
		return NULL;
	}
	return locks;
}

static void forget_process(struct locks *locks)
{
	u64map__free_all(&locks->reads, free);
	u64map__clear(&locks->ns_tids);
	locks->pid = 0;
	locks->proc = NULL;
	locks->ns_tids_built = false;
	locks->ns_tids_complete = false;
}

void locks__free(struct locks *locks)
{
	if (!locks)
		return;
	forget_process(locks);
	u64map__free_all(&locks->evidence, free);
	u64map__free_all(&locks->prev_evidence, free);
	u64map__clear(&locks->owner_csw);
	u64map__clear(&locks->prev_owner_csw);
	u64map__clear(&locks->records);
	lock_layouts__free(locks->layouts);
	free(locks);
}

static __u64 field_value(const char *status, const char *name)
{
	const char *at = strstr(status, name);

	return at ? strtoull(at + strlen(name), NULL, 10) : 0;
}

/* /proc/PID/task/TID/status, or /proc/TID/status with pid 0: false when gone. */
static bool read_status(pid_t pid, pid_t tid, struct task_status *out)
{
	char status[STATUS_MAX], name[64];
	const char *at, *last;

	if (pid)
		snprintf(name, sizeof(name), "task/%d/status", tid);
	else
		snprintf(name, sizeof(name), "status");
	if (procfs__read(pid ? pid : tid, name, status, sizeof(status)) <= 0)
		return false;
	at = strstr(status, "\nState:");
	out->state = at ? at[strspn(at + 7, " \t") + 7] : '?';
	out->tgid = (pid_t)field_value(status, "\nTgid:");
	out->csw = field_value(status, "\nvoluntary_ctxt_switches:") +
		   field_value(status, "\nnonvoluntary_ctxt_switches:");
	out->ns_tid = 0;
	at = strstr(status, "\nNSpid:");
	if (at) {
		at += strlen("\nNSpid:");
		for (last = at; *at && *at != '\n'; at++)
			if ((*at == ' ' || *at == '\t') && at[1] >= '0' && at[1] <= '9')
				last = at + 1;
		out->ns_tid = (pid_t)strtol(last, NULL, 10);
	}
	return true;
}

static bool alive(const struct task_status *status)
{
	return status->state != 'Z' && status->state != 'X' && status->state != 'x';
}

/* The host tids of a process in another PID namespace, by its own tids. */
static void build_ns_tids(struct locks *locks)
{
	char path[64];
	struct dirent *entry;
	size_t seen = 0;
	DIR *dir;

	locks->ns_tids_built = true;
	snprintf(path, sizeof(path), "/proc/%d/task", locks->pid);
	dir = procfs__opendir(path);
	if (!dir)
		return;
	locks->ns_tids_complete = true;
	while ((entry = readdir(dir))) {
		struct task_status status;
		char *end;
		long tid = strtol(entry->d_name, &end, 10);

		if (*end || tid <= 0 || tid > INT_MAX || !read_status(locks->pid, (pid_t)tid, &status))
			continue;
		/* past the bound, or out of memory: owners not mapped are unknown */
		if (++seen > NS_TASKS_MAX || (status.ns_tid > 0 &&
		    u64map__put(&locks->ns_tids, (__u64)status.ns_tid, (void *)(long)tid))) {
			locks->ns_tids_complete = false;
			break;
		}
	}
	closedir(dir);
}

/*
 * The owner's host tid and process, and whether it lives.  A lock that is
 * not process-shared is held by a thread of the waiter's own process:
 * /proc/PID/task/TID finds only those, so a tid reused elsewhere is no
 * owner.  A process-shared one may be held by any process's thread.
 */
static void resolve_owner(struct locks *locks, struct lock_read *read)
{
	struct task_status status;
	pid_t host = read->state.owner;

	if (!host) {
		read->owner_unknown = read->state.owner_unknown;
		read->owner_dead = read->state.owner_died;
		return;
	}
	if (locks->other_namespace) {
		if (!locks->ns_tids_built)
			build_ns_tids(locks);
		host = (pid_t)(long)u64map__get(&locks->ns_tids, (__u64)host);
		if (!host) {
			/* no thread of its own: gone, or another process's (unseen) */
			read->owner_dead = !read->state.pshared && locks->ns_tids_complete;
			read->owner_unknown = !read->owner_dead;
			return;
		}
	}
	read->owner_tid = host;
	read->owner_pid = locks->pid;
	if (!read_status(read->state.pshared ? 0 : locks->pid, host, &status) || !alive(&status))
		read->owner_dead = true;
	else if (read->state.pshared && status.tgid > 0)
		read->owner_pid = status.tgid;
	read->owner_dead |= read->state.owner_died;
}

struct nearest_module {
	__u64 addr;
	Dwfl_Module *mod;
	Dwarf_Addr end;
};

static int nearest_below(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			 void *arg)
{
	struct nearest_module *nearest = arg;
	Dwarf_Addr end;

	(void)userdata;
	(void)name;
	(void)start;
	dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
	if (end <= nearest->addr && (!nearest->mod || end > nearest->end)) {
		nearest->mod = mod;
		nearest->end = end;
	}
	return DWARF_CB_OK;
}

/*
 * The module whose data holds addr.  A module's .bss past its file's last
 * page is an anonymous mapping, outside the range libdwfl gives the module
 * (from /proc/PID/maps): there, the nearest module below whose loadable
 * segments cover addr.
 */
static Dwfl_Module *data_module(Dwfl *dwfl, __u64 addr)
{
	struct nearest_module nearest = { .addr = addr };
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
	GElf_Addr bias;
	size_t count;
	Elf *elf;

	if (mod)
		return mod;
	dwfl_getmodules(dwfl, nearest_below, &nearest, 0);
	elf = nearest.mod ? dwfl_module_getelf(nearest.mod, &bias) : NULL;
	if (!elf || elf_getphdrnum(elf, &count))
		return NULL;
	for (size_t i = 0; i < count; i++) {
		GElf_Phdr phdr;

		if (gelf_getphdr(elf, (int)i, &phdr) && phdr.p_type == PT_LOAD &&
		    addr >= phdr.p_vaddr + bias && addr - (phdr.p_vaddr + bias) < phdr.p_memsz)
			return nearest.mod;
	}
	return NULL;
}

/* "config_lock", "table+0x40": a lock in a module's data, by its symbol. */
/* The name of the data symbol at addr, +offset, or "" (heap, stack); NULL
 * when out of memory.  *lasting is false for a name missing only for now
 * (the process's modules unreadable, out of fds). */
static char *data_name(struct proc *proc, __u64 addr, bool *lasting)
{
	Dwfl *dwfl = procs__dwfl(proc);
	Dwfl_Module *own = dwfl ? data_module(dwfl, addr) : NULL;
	struct proc_module module;
	GElf_Off offset = 0;
	GElf_Sym sym;
	const char *name;
	char text[256] = "";
	bool named;

	*lasting = dwfl != NULL;
	if (!own)
		return strdup(text);
	if (!procs__module_of(proc, own, true, &module)) {
		*lasting = false;
		return strdup(text);
	}
	name = dwfl_module_addrinfo(module.mod, addr - module.delta, &offset, &sym, NULL, NULL,
				    NULL);
	named = name && name[0] &&
		(GELF_ST_TYPE(sym.st_info) == STT_OBJECT || GELF_ST_TYPE(sym.st_info) == STT_COMMON) &&
		(sym.st_size ? offset < sym.st_size : offset == 0);
	if (named && offset)
		snprintf(text, sizeof(text), "%s+%#llx", name, (unsigned long long)offset);
	else if (named)
		snprintf(text, sizeof(text), "%s", name);
	procs__module_done(proc, &module);
	return strdup(text);
}

/* What the lock at addr is called, the picture's, or NULL; looked up once
 * per process image: its waiters stay parked on it picture after picture. */
static const char *lock_symbol(struct pw_picture *picture, struct proc *proc, __u64 addr)
{
	char *name = addr ? u64map__get(&proc->data_names, addr) : NULL;
	const char *shown;
	bool lasting;

	if (name || !addr)
		return name && name[0] ? picture__string(picture, name) : NULL;
	if (proc->data_names.count >= DATA_NAMES_MAX) /* locks come and go: start over */
		u64map__free_all(&proc->data_names, free);
	name = data_name(proc, addr, &lasting);
	shown = name && name[0] ? picture__string(picture, name) : NULL;
	if (!name || !lasting || u64map__put(&proc->data_names, addr, name))
		free(name);
	return shown;
}

static int begin_process(struct locks *locks, pid_t pid)
{
	forget_process(locks);
	locks->pid = pid;
	locks->proc = procs__get(locks->procs, pid);
	if (!locks->proc)
		return -ENOMEM;
	locks->layout = lock_layouts__of(locks->layouts, locks->proc);
	if (!locks->layout)
		return -ENOMEM;
	locks->other_namespace = procs__ns_pid(locks->proc) != 0;
	return 0;
}

/* This tick's first read of the lock at futex_addr; NULL when unreadable
 * (and for a lock cached as unreadable) or out of memory (*err). */
static const struct lock_read *first_read(struct locks *locks, struct pw_picture *picture,
					  enum pw_object_kind kind, __u64 futex_addr, int *err)
{
	/* by kind too: a waiter without frames names the same word a bare
	 * futex; user addresses leave the top byte free */
	__u64 key = futex_addr ^ ((__u64)kind << 56);
	struct lock_read *read = u64map__get(&locks->reads, key);

	if (read)
		return read->state.kind == kind ? read : NULL;
	read = calloc(1, sizeof(*read));
	if (!read) {
		*err = -ENOMEM;
		return NULL;
	}
	if (lock_state__read(locks->proc, locks->layout, kind, futex_addr, &read->state)) {
		read->state.kind = PW_OBJECT_NONE; /* not read again this tick */
	} else {
		resolve_owner(locks, read);
		read->symbol = lock_symbol(picture, locks->proc, read->state.addr);
	}
	if (u64map__put(&locks->reads, key, read)) {
		free(read);
		*err = -ENOMEM;
		return NULL;
	}
	return read->state.kind == kind ? read : NULL;
}

static int fill_unit(struct locks *locks, struct pw_picture *picture, struct pw_unit *unit,
		     const struct task_record *rec)
{
	enum pw_object_kind kind = unit->stack ? unit->stack->futex_object : PW_OBJECT_FUTEX;
	__u64 futex_addr = rec->wait.arg0;
	const struct task_record *owner;
	const struct lock_read *read;
	struct evidence *evidence;
	int err = 0;

	if (unit->pid != locks->pid && (err = begin_process(locks, unit->pid)))
		return err;
	read = first_read(locks, picture, kind, futex_addr, &err);
	if (!read)
		return err;
	unit->blocked_on = (struct pw_blocked_on){
		.kind = kind,
		.addr = read->state.addr,
		.symbol = read->symbol,
		.owner_tid = read->owner_tid,
		.owner_pid = read->owner_tid ? read->owner_pid : 0,
		.owner_unknown = read->owner_unknown,
		.owner_dead = read->owner_dead,
	};
	if (!read->owner_tid && !read->owner_dead)
		return 0; /* no edge: nothing a finding would need confirmed */
	evidence = malloc(sizeof(*evidence));
	if (!evidence)
		return -ENOMEM;
	*evidence = (struct evidence){
		.pid = unit->pid,
		.futex_addr = futex_addr,
		.kind = kind,
		.layout = locks->layout,
		.word = read->state.word,
		.owner = read->state.owner,
		.owner_died = read->state.owner_died,
		.csw = rec->csw,
	};
	free(u64map__remove(&locks->evidence, unit->id));
	if (u64map__put(&locks->evidence, unit->id, evidence)) {
		free(evidence);
		return -ENOMEM;
	}
	owner = read->owner_tid ? u64map__get(&locks->records, (__u64)read->owner_tid) : NULL;
	if (owner && (owner->state & PARK_TASK_SLEEP_MASK))
		return u64map__put(&locks->owner_csw, owner->tid, (void *)(uintptr_t)(owner->csw + 1));
	return 0;
}

static bool futex_wait(const struct pw_unit *unit, const struct task_record *rec)
{
	/* futex_waitv's argument is an array of words, not one */
	return unit->kind == PW_UNIT_THREAD && unit->parked && rec &&
	       rec->wait.reason == PARK_REASON_FUTEX && rec->wait.arg0 &&
	       rec->wait.arg0 < USER_ADDR_END &&
	       (rec->wait.syscall_nr == PW_NR_futex || rec->wait.syscall_nr == PW_NR_restart_syscall);
}

int locks__fill(struct locks *locks, struct pw_picture *picture, const struct snapshot *snap,
		struct procs *procs)
{
	int err = 0;

	struct u64map last_owners = locks->prev_owner_csw;

	locks->procs = procs;
	forget_process(locks);
	u64map__free_all(&locks->prev_evidence, free);
	locks->prev_evidence = locks->evidence;
	locks->evidence = (struct u64map){ 0 };
	locks->prev_owner_csw = locks->owner_csw;
	locks->owner_csw = last_owners;
	u64map__clear(&locks->owner_csw);
	u64map__clear(&locks->records);
	err = u64map__reserve(&locks->records, snap->count);
	for (size_t i = 0; i < snap->count && !err; i++)
		err = u64map__put(&locks->records, snap->threads[i].rec->tid,
				  (void *)snap->threads[i].rec);
	for (size_t i = 0; i < picture->unit_count && !err; i++) {
		struct pw_unit *unit = &picture->units[i];
		const struct task_record *rec = unit->kind == PW_UNIT_THREAD ?
			u64map__get(&locks->records, unit->id) : NULL;

		if (futex_wait(unit, rec))
			err = fill_unit(locks, picture, unit, rec);
	}
	forget_process(locks);
	return err;
}

/* Still asleep, and never woken since the snapshot. */
static bool still_parked(struct locks *locks, const struct pw_unit *unit)
{
	const struct task_record *rec = u64map__get(&locks->records, unit->id);
	struct task_status status;

	return rec && read_status(unit->pid, (pid_t)unit->id, &status) &&
	       status.state && strchr("SDTtI", status.state) && status.csw == rec->csw;
}

/* The lock a waiter sleeps on, read again: the same word and owner. */
static bool lock_unchanged(struct locks *locks, const struct evidence *evidence)
{
	struct proc *proc = procs__get(locks->procs, evidence->pid);
	struct lock_state again;

	return proc &&
	       !lock_state__read(proc, evidence->layout, evidence->kind, evidence->futex_addr, &again) &&
	       again.word == evidence->word && again.owner == evidence->owner &&
	       again.owner_died == evidence->owner_died;
}

static bool same_lock(const struct evidence *a, const struct evidence *b)
{
	return a->pid == b->pid && a->futex_addr == b->futex_addr && a->kind == b->kind &&
	       a->word == b->word && a->owner == b->owner && a->owner_died == b->owner_died;
}

/*
 * The candidate held in the previous snapshot too: the same words and
 * owners, and every thread in it parked in both with the same context
 * switches, so it never woke in between.  Costs no read: in the live view
 * and the daemon, a lasting finding is confirmed by the next tick.
 */
static bool held_since_last_tick(struct locks *locks, const struct pw_finding *candidate)
{
	for (size_t i = 0; i < candidate->unit_count; i++) {
		const struct pw_unit *unit = candidate->units[i];
		const struct task_record *rec = u64map__get(&locks->records, unit->id);
		const struct evidence *now = u64map__get(&locks->evidence, unit->id);
		const struct evidence *before = u64map__get(&locks->prev_evidence, unit->id);

		if (!rec)
			return false;
		if (candidate->kind == PW_FINDING_CONVOY && i == 0) { /* the head */
			uintptr_t last = (uintptr_t)u64map__get(&locks->prev_owner_csw, unit->id);

			if (unit->parked && last != rec->csw + 1)
				return false;
			continue;
		}
		if (!now || !before || !same_lock(now, before) || now->csw != before->csw)
			return false;
	}
	return true;
}

/* The second read, now: the candidate is new since the last snapshot. */
static bool held_on_second_read(struct locks *locks, const struct pw_finding *candidate)
{
	const struct evidence *reread = NULL;
	struct task_status status;

	for (size_t i = 0; i < candidate->unit_count; i++) {
		const struct pw_unit *unit = candidate->units[i];
		const struct evidence *evidence = u64map__get(&locks->evidence, unit->id);
		bool head = candidate->kind == PW_FINDING_CONVOY && i == 0;

		if (head && !unit->parked)
			continue; /* running: a long critical section, nothing to compare */
		if (!head && !evidence)
			return false;
		/* a convoy's waiters share a lock: read again once, not per waiter */
		if (evidence && !(reread && same_lock(reread, evidence))) {
			if (!lock_unchanged(locks, evidence))
				return false;
			reread = evidence;
		}
		if (!still_parked(locks, unit))
			return false;
	}
	/* gone for good: no thread of that tid came (back) in between */
	if (candidate->kind == PW_FINDING_ABANDONED && candidate->owner_tid &&
	    read_status(candidate->pid, candidate->owner_tid, &status) && alive(&status))
		return false;
	return true;
}

bool locks__confirm(void *ctx, const struct pw_finding *candidate)
{
	struct locks *locks = ctx;

	return held_since_last_tick(locks, candidate) || held_on_second_read(locks, candidate);
}
