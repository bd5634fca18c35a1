// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Process cache and libdwfl sessions (procs.h). */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model/symbol.h"
#include "proc/elfopen.h"
#include "proc/perfmap.h"
#include "proc/procs.h"
#include "util/gaveup.h"
#include "util/procfs.h"

struct procs {
	struct u64map by_pid;
	unsigned int generation;
};

struct procs *procs__new(void)
{
	return calloc(1, sizeof(struct procs));
}

static void proc_reset_dwfl(struct proc *proc)
{
	u64map__free_all(&proc->symbols, symbol__put_value);
	u64map__free_all(&proc->cu_tables, free);
	u64map__free_all(&proc->pclntabs, free);
	u64map__free_all(&proc->tail_symbols, symbol__put_value);
	u64map__free_all(&proc->tail_chains, free);
	u64map__clear(&proc->tail_names); /* addresses, nothing to free */
	proc->tail_names_built = false;
	if (proc->dwfl)
		dwfl_end(proc->dwfl);
	proc->dwfl = NULL;
}

/* void * for u64map__free_all */
static void proc_free(void *value)
{
	struct proc *proc = value;

	proc_reset_dwfl(proc);
	u64map__free_all(&proc->stacks, free);
	perfmap__free(proc->perfmap);
	if (proc->mem_fd >= 0)
		close(proc->mem_fd);
	free(proc);
}

void procs__free(struct procs *procs)
{
	if (!procs)
		return;
	u64map__free_all(&procs->by_pid, proc_free);
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

struct proc *procs__get(struct procs *procs, pid_t pid)
{
	struct proc *proc = u64map__get(&procs->by_pid, (__u64)pid);

	if (!proc) {
		proc = calloc(1, sizeof(*proc));
		if (!proc)
			return NULL;
		proc->pid = pid;
		proc->mem_fd = -1;
		if (u64map__put(&procs->by_pid, (__u64)pid, proc)) {
			free(proc);
			return NULL;
		}
	}
	proc->seen_generation = procs->generation;
	return proc;
}

/* Hash of the file-backed mappings: all libdwfl cares about.  Anonymous
 * ones (heap, new thread stacks) change often and don't matter. */
static __u64 maps_hash(pid_t pid)
{
	char path[64], *line = NULL;
	size_t capacity = 0;
	ssize_t len;
	__u64 hash = 1;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = procfs__fopen(path);
	if (!maps)
		return 0;
	while ((len = getline(&line, &capacity, maps)) > 0)
		if (strchr(line, '/'))
			hash = hash__bytes(line, len, hash);
	free(line);
	fclose(maps);
	return hash;
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
	char path[64];
	FILE *maps;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", proc->pid);
	maps = procfs__fopen(path);
	if (!maps)
		return -errno;
	dwfl_report_begin(proc->dwfl);
	err = dwfl_linux_proc_maps_report(proc->dwfl, maps);
	fclose(maps);
	return err;
}

Dwfl *procs__dwfl(struct proc *proc)
{
	__u64 hash;

	if (proc->dwfl_failed)
		return NULL;
	/* the mappings are read once per snapshot, not once per lookup */
	if (proc->dwfl && proc->maps_checked_generation == proc->seen_generation)
		return proc->dwfl;
	proc->maps_checked_generation = proc->seen_generation;
	refresh_perfmap(proc);
	hash = maps_hash(proc->pid);
	if (!hash) {
		proc->dwfl_failed = true;
		gaveup__count(GAVEUP_PROCESS_UNREADABLE);
		return NULL;
	}
	if (proc->dwfl && hash == proc->maps_hash)
		return proc->dwfl;
	/* mappings changed (dlopen, exec): symbols and stacks may be stale */
	proc_reset_dwfl(proc);
	proc->dwfl = dwfl_begin(&elfopen__callbacks);
	if (!proc->dwfl)
		goto fail;
	if (report_modules(proc) || dwfl_report_end(proc->dwfl, NULL, NULL) != 0)
		goto fail;
	/* binaries are opened through the process's own root (containers) */
	elfopen__bind(proc->dwfl, proc->pid);
	proc->maps_hash = hash;
	return proc->dwfl;
fail:
	proc_reset_dwfl(proc);
	proc->dwfl_failed = true;
	gaveup__count(GAVEUP_PROCESS_UNREADABLE);
	return NULL;
}

bool procs__read(struct proc *proc, __u64 addr, void *buf, size_t size)
{
	char path[64];

	if (size > PROCS_READ_MAX || addr > (__u64)INT64_MAX - size)
		return false;
	if (proc->mem_fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/mem", proc->pid);
		proc->mem_fd = procfs__open(path, O_RDONLY);
		if (proc->mem_fd < 0)
			return false;
	}
	return pread(proc->mem_fd, buf, size, (off_t)addr) == (ssize_t)size;
}

bool procs__read_word(struct proc *proc, __u64 addr, __u64 *word)
{
	return procs__read(proc, addr, word, sizeof(*word));
}
