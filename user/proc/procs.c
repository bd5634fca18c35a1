// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Process cache and libdwfl sessions (procs.h). */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "model/symbol.h"
#include "proc/elfopen.h"
#include "proc/perfmap.h"
#include "proc/procs.h"
#include "proc/procs_internal.h"
#include "util/gaveup.h"
#include "util/procfs.h"


/* Headroom for the fds that are no process's: the BPF objects, the
 * snapshot iterator, HTTP clients, output files, a Go program's reader. */
#define PROCS_FD_RESERVE 96
/* A Dwfl session may hold two fds per module: its binary and debug file. */
#define PROCS_FDS_PER_MODULE 2
/* The part of the fd budget the shared module sessions may hold. */
#define PROCS_SHARED_FD_DIVISOR 4

/* What processes and the shared sessions may hold together. */
static size_t fd_budget_all(unsigned long long nofile)
{
	unsigned long long budget = nofile > 2 * PROCS_FD_RESERVE ? nofile - PROCS_FD_RESERVE :
								     nofile / 2;

	return budget > SIZE_MAX ? SIZE_MAX : (size_t)budget;
}

size_t procs__fd_budget(unsigned long long nofile)
{
	size_t all = fd_budget_all(nofile);

	return all - all / PROCS_SHARED_FD_DIVISOR;
}

struct procs *procs__new(size_t cache_limit_bytes)
{
	struct procs *procs = calloc(1, sizeof(struct procs));
	struct rlimit limit;
	unsigned long long nofile = getrlimit(RLIMIT_NOFILE, &limit) ? 0 : limit.rlim_cur;
	size_t shared_fds = fd_budget_all(nofile) - procs__fd_budget(nofile);

	if (!procs)
		return NULL;
	procs->fd_budget = procs__fd_budget(nofile);
	procs->modcache = modcache__new(cache_limit_bytes, shared_fds / PROCS_FDS_PER_MODULE + 1);
	if (!procs->modcache) {
		free(procs);
		return NULL;
	}
	return procs;
}

static void free_identity(void *value)
{
	if (value != NOT_SHARED)
		free(value);
}

static void free_tables(void *value)
{
	struct module_tables *tables = value;

	module_tables__clear(tables);
	free(tables);
}

/* Closes the process's fds; what they are needed for reopens them.  The
 * tables keyed by the session's modules go with it, the names stay. */
static void release_fds(struct proc *proc)
{
	proc->owner->fds_held -= proc->fds_held;
	proc->fds_held = 0;
	u64map__free_all(&proc->module_files, free_identity);
	u64map__free_all(&proc->own_tables, free_tables);
	if (proc->dwfl)
		dwfl_end(proc->dwfl);
	proc->dwfl = NULL;
	if (proc->mem_fd >= 0)
		close(proc->mem_fd);
	proc->mem_fd = -1;
}

/* Everything cached of the process's image, for a new one (dlopen, exec):
 * an exec leaves the memory fd reading the old, gone address space. */
static void proc_reset_dwfl(struct proc *proc)
{
	u64map__free_all(&proc->symbols, symbol__put_value);
	u64map__free_all(&proc->tail_symbols, symbol__put_value);
	u64map__free_all(&proc->tail_chains, free);
	u64map__free_all(&proc->data_names, free);
	free(proc->exe);
	proc->exe = NULL;
	release_fds(proc);
}

/* void * for u64map__free_all */
static void proc_free(void *value)
{
	struct proc *proc = value;

	proc_reset_dwfl(proc);
	u64map__free_all(&proc->stacks, free);
	perfmap__free(proc->perfmap);
	free(proc->cgroup);
	free(proc->file_maps.text);
	free(proc);
}

void procs__free(struct procs *procs)
{
	if (!procs)
		return;
	u64map__free_all(&procs->by_pid, proc_free);
	modcache__free(procs->modcache);
	free(procs);
}

void procs__begin(struct procs *procs)
{
	procs->generation++;
}

static bool keep_if_seen(__u64 key, void *value, void *ctx)
{
	struct proc *proc = value;
	struct procs *procs = ctx;

	(void)key;
	if (proc->seen_generation == procs->generation)
		return true;
	proc_free(proc);
	return false;
}

void procs__end(struct procs *procs)
{
	u64map__filter(&procs->by_pid, keep_if_seen, procs);
	modcache__trim(procs->modcache);
}

static bool count_symbols(__u64 key, void *value, void *ctx)
{
	(void)key;
	*(size_t *)ctx += ((struct proc *)value)->symbols.count;
	return true;
}

size_t procs__symbol_count(const struct procs *procs)
{
	size_t count = 0;

	u64map__filter((struct u64map *)&procs->by_pid, count_symbols, &count);
	return count;
}

size_t procs__fds_held(const struct procs *procs)
{
	return procs->fds_held;
}

void procs__cache_stats(const struct procs *procs, struct bytelru_stats *stats)
{
	modcache__stats(procs->modcache, stats);
}

struct lru {
	const struct proc *opening;
	struct proc *oldest;
};

static bool find_lru(__u64 key, void *value, void *ctx)
{
	struct proc *proc = value;
	struct lru *lru = ctx;

	(void)key;
	if (proc != lru->opening && proc->fds_held &&
	    (!lru->oldest || proc->fds_used_at < lru->oldest->fds_used_at))
		lru->oldest = proc;
	return true;
}

static bool shed_one(__u64 key, void *value, void *ctx)
{
	(void)key;
	(void)ctx;
	release_fds(value);
	return true;
}

void procs__shed_fds(struct procs *procs)
{
	u64map__filter(&procs->by_pid, shed_one, NULL);
	modcache__shed(procs->modcache);
}

/* Safe mid-snapshot: a process's session and fd are only used while it is
 * the one read. */
void procs__make_fd_room(struct proc *proc, size_t count)
{
	struct procs *procs = proc->owner;

	proc->fds_used_at = ++procs->fd_clock;
	while (procs->fds_held + count > procs->fd_budget) {
		struct lru lru = { proc, NULL };

		u64map__filter(&procs->by_pid, find_lru, &lru);
		if (!lru.oldest)
			break; /* then opening may fail, and is counted */
		release_fds(lru.oldest);
	}
	proc->fds_held += count;
	procs->fds_held += count;
}

static int count_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			void *arg)
{
	(void)mod;
	(void)userdata;
	(void)name;
	(void)start;
	++*(size_t *)arg;
	return DWARF_CB_OK;
}

static bool fds_ran_out(const struct proc *proc)
{
	return proc->fd_limit_hit && proc->fd_limit_generation == proc->seen_generation;
}

/* Out of fds (EMFILE, ENFILE): the process stays unsymbolized this
 * snapshot, counted once; the next one tries again. */
static bool out_of_fds(struct proc *proc, int err)
{
	if (err != EMFILE && err != ENFILE)
		return false;
	if (!fds_ran_out(proc)) {
		proc->fd_limit_hit = true;
		proc->fd_limit_generation = proc->seen_generation;
		gaveup__count(GAVEUP_FD_LIMIT);
	}
	return true;
}

static struct proc *proc_new(struct procs *procs, pid_t pid, unsigned long long start_ticks)
{
	struct proc *proc = calloc(1, sizeof(*proc));

	if (!proc)
		return NULL;
	proc->pid = pid;
	proc->start_ticks = start_ticks;
	proc->owner = procs;
	proc->mem_fd = -1;
	proc->maps_checked_generation = procs->generation - 1; /* not yet read */
	if (u64map__put(&procs->by_pid, (__u64)pid, proc)) {
		free(proc);
		return NULL;
	}
	return proc;
}

struct proc *procs__get(struct procs *procs, pid_t pid)
{
	struct proc *proc = u64map__get(&procs->by_pid, (__u64)pid);
	unsigned long long start_ticks;

	if (proc && proc->seen_generation == procs->generation)
		return proc;
	/* once per snapshot: is it still the process the entry was made for? */
	start_ticks = procfs__start_ticks(pid);
	if (proc && start_ticks && proc->start_ticks && start_ticks != proc->start_ticks) {
		u64map__remove(&procs->by_pid, (__u64)pid);
		proc_free(proc);
		proc = NULL;
	}
	if (!proc)
		proc = proc_new(procs, pid, start_ticks);
	if (!proc)
		return NULL;
	if (!proc->start_ticks)
		proc->start_ticks = start_ticks;
	proc->seen_generation = procs->generation;
	return proc;
}

struct proc *procs__get_started(struct procs *procs, pid_t pid, __u64 leader_start_ns)
{
	struct proc *proc = u64map__get(&procs->by_pid, (__u64)pid);

	if (proc && leader_start_ns && proc->leader_start_ns == leader_start_ns) {
		proc->seen_generation = procs->generation;
		return proc;
	}
	proc = procs__get(procs, pid);
	if (proc)
		proc->leader_start_ns = leader_start_ns;
	return proc;
}

static bool keep_unless_jit(__u64 key, void *value, void *ctx)
{
	struct symbol *symbol = value;
	const struct perfmap *map = ctx;

	if (symbol->module && !perfmap__is_jit_symbol(symbol) && !perfmap__find(map, key))
		return true;
	symbol__put(symbol);
	return false;
}

/* The perf map re-read if it changed: the cached names of addresses it
 * named before, names now, or that no ELF module holds are then stale. */
static void refresh_perfmap(struct proc *proc)
{
	if (!proc->perfmap)
		proc->perfmap = perfmap__new(proc->pid);
	if (proc->perfmap && perfmap__refresh(proc->perfmap) > 0)
		u64map__filter(&proc->symbols, keep_unless_jit, proc->perfmap);
}

/* The process's modules from its maps, opened here rather than by libdwfl
 * (dwfl_linux_proc_report), so that the broker opens them once privileges
 * are dropped. */
static int report_modules(struct proc *proc)
{
	FILE *maps;
	int err;

	dwfl_report_begin(proc->dwfl);
	if (!proc->file_maps.len)
		return 0;
	maps = fmemopen(proc->file_maps.text, proc->file_maps.len, "r");
	if (!maps)
		return errno;
	err = dwfl_linux_proc_maps_report(proc->dwfl, maps);
	fclose(maps);
	return err;
}

/*
 * A process's module maps its file as the shared session does, by
 * reference to the same libelf handle: glibc is mapped (and its pages
 * count in parkwatch's RSS) once, not once per process.  What has no
 * shared session is opened as elfopen opens it.
 */
static int proc_find_elf(Dwfl_Module *mod, void **userdata, const char *module_name,
			 Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct proc *proc = *userdata;
	void *pid = (void *)(intptr_t)proc->pid;
	struct proc_module shared = { 0 };
	Dwarf_Addr bias;
	Elf *elf;

	if (procs__hold_shared(proc, mod, false, &shared)) {
		elf = dwfl_module_getelf(shared.held.mod, &bias);
		*elfp = elf ? elf_begin(-1, ELF_C_READ_MMAP, elf) : NULL;
		procs__module_done(proc, &shared);
		*file_name = *elfp ? strdup(module_name) : NULL;
		if (*file_name)
			return -1; /* no fd of its own: the shared session holds it */
		elf_end(*elfp);
		*elfp = NULL;
	}
	return elfopen__find_elf(mod, &pid, module_name, base, file_name, elfp);
}

static int proc_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *module_name,
			       Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			       GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct proc *proc = *userdata;
	void *pid = (void *)(intptr_t)proc->pid;

	return elfopen__find_debuginfo(mod, &pid, module_name, base, file_name, debuglink_file,
				       debuglink_crc, debuginfo_file_name);
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = proc_find_elf,
	.find_debuginfo = proc_find_debuginfo,
	.debuginfo_path = &elfopen__host_debuginfo_path,
};

/* A process whose maps can't be read is given up on for good; one out of
 * fds only for this snapshot. */
static void unreadable(struct proc *proc, int err)
{
	if (out_of_fds(proc, err))
		return;
	proc->dwfl_failed = true;
	gaveup__count(GAVEUP_PROCESS_UNREADABLE);
}

bool procs__refresh(struct proc *proc)
{
	struct file_maps file_maps;
	__u64 hash;

	if (proc->dwfl_failed)
		return false;
	/* the mappings are read once per snapshot, not once per lookup */
	if (proc->maps_checked_generation == proc->seen_generation)
		return proc->maps_hash != 0;
	proc->maps_checked_generation = proc->seen_generation;
	if (proc->fd_limit_hit) {
		/* what was looked up without its binaries is unknown: again */
		proc->fd_limit_hit = false;
		proc_reset_dwfl(proc);
	}
	errno = 0;
	hash = procs__read_file_maps(proc->pid, &file_maps);
	if (!hash) {
		unreadable(proc, errno);
		/* out of fds, the caches stay for the next snapshot */
		return false;
	}
	if (hash == proc->maps_hash) {
		free(file_maps.text);
	} else {
		/* mappings changed (dlopen, exec): symbols and stacks may be stale */
		proc_reset_dwfl(proc);
		proc->maps_hash = hash;
		free(proc->file_maps.text);
		proc->file_maps = file_maps;
	}
	/* a perf map names JIT code, which only executable memory of no file
	 * holds: without any, no frame needs it (and no file is opened) */
	if (file_maps.jit_exec)
		refresh_perfmap(proc);
	return true;
}

void procs__trust_mappings(struct proc *proc)
{
	if (proc->maps_hash && !proc->fd_limit_hit && !proc->dwfl_failed)
		proc->maps_checked_generation = proc->seen_generation;
}

pid_t procs__ns_pid(struct proc *proc)
{
	if (!proc->ns_pid_known) {
		proc->ns_pid = procfs__ns_pid(proc->pid);
		proc->ns_pid_known = true;
	}
	return proc->ns_pid;
}

char *procs__exe_path(struct proc *proc)
{
	/* an exec changes the mappings, which drops it (proc_reset_dwfl) */
	procs__refresh(proc);
	if (!proc->exe)
		proc->exe = procfs__exe_path(proc->pid);
	return proc->exe ? strdup(proc->exe) : NULL;
}

Dwfl *procs__dwfl(struct proc *proc)
{
	size_t modules = 0;
	int err;

	if (!procs__refresh(proc) || fds_ran_out(proc))
		return NULL;
	if (proc->dwfl) {
		proc->fds_used_at = ++proc->owner->fd_clock;
		return proc->dwfl;
	}
	proc->dwfl = dwfl_begin(&proc_callbacks);
	if (!proc->dwfl) {
		err = ENOMEM;
		goto fail;
	}
	err = report_modules(proc);
	if (!err && dwfl_report_end(proc->dwfl, NULL, NULL) != 0)
		err = EINVAL;
	if (err)
		goto fail;
	/* binaries are opened through the process's own root (containers) */
	elfopen__bind_userdata(proc->dwfl, proc);
	/* the modules' files are opened as lookups need them: room for all */
	dwfl_getmodules(proc->dwfl, count_module, &modules, 0);
	procs__make_fd_room(proc, modules * PROCS_FDS_PER_MODULE);
	return proc->dwfl;
fail:
	release_fds(proc);
	unreadable(proc, err);
	return NULL;
}

/* Only the memory fd: it may be closed while the session unwinds. */
static void close_mem(struct proc *proc)
{
	if (proc->mem_fd < 0)
		return;
	close(proc->mem_fd);
	proc->mem_fd = -1;
	proc->fds_held--;
	proc->owner->fds_held--;
}

/* The memory fd, opened on first use: false when it can't be. */
static bool open_mem(struct proc *proc)
{
	char path[64];

	if (proc->mem_fd >= 0) {
		proc->fds_used_at = ++proc->owner->fd_clock;
		return true;
	}
	if (fds_ran_out(proc))
		return false;
	procs__make_fd_room(proc, 1);
	snprintf(path, sizeof(path), "/proc/%d/mem", proc->pid);
	proc->mem_fd = procfs__open(path, O_RDONLY);
	if (proc->mem_fd < 0) {
		proc->fds_held--;
		proc->owner->fds_held--;
		out_of_fds(proc, errno);
		return false;
	}
	return true;
}

bool procs__read(struct proc *proc, __u64 addr, void *buf, size_t size)
{
	ssize_t got;

	if (size > PROCS_READ_MAX || addr > (__u64)INT64_MAX - size)
		return false;
	if (!open_mem(proc))
		return false;
	got = pread(proc->mem_fd, buf, size, (off_t)addr);
	if (got != 0)
		return got == (ssize_t)size;
	/* nothing at all: the address space the fd was opened on is gone (an
	 * exec that left the mappings as they were): once more on a new one */
	close_mem(proc);
	if (!open_mem(proc))
		return false;
	return pread(proc->mem_fd, buf, size, (off_t)addr) == (ssize_t)size;
}

bool procs__read_word(struct proc *proc, __u64 addr, __u64 *word)
{
	return procs__read(proc, addr, word, sizeof(*word));
}
