// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* libdwfl sessions shared across processes, by file (modcache.h). */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc/elfopen.h"
#include "proc/modcache.h"

/* Holds nest (a tail call's target looked up in another module while one
 * is read); deeper ones are used but not measured. */
#define MODCACHE_NEST_MAX 8

struct shared_module {
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	struct module_tables tables;
	struct file_identity identity;
};

struct modcache {
	struct bytelru lru;
	struct bytelru_entry *in_use[MODCACHE_NEST_MAX]; /* innermost last */
	int depth;
	size_t heap_at;             /* heap bytes at the last look */
};

void module_tables__clear(struct module_tables *tables)
{
	free(tables->cu_table);
	free(tables->pclntab);
	if (tables->func_names) {
		u64map__clear(&tables->func_names->globals);
		u64map__clear(&tables->func_names->locals);
		free(tables->func_names);
	}
	*tables = (struct module_tables){ 0 };
}

static void shared_free(void *value)
{
	struct shared_module *shared = value;

	if (!shared)
		return;
	module_tables__clear(&shared->tables);
	dwfl_end(shared->dwfl);
	free(shared);
}

struct modcache *modcache__new(size_t limit_bytes, size_t max_entries)
{
	struct modcache *cache = calloc(1, sizeof(*cache));

	if (cache)
		bytelru__init(&cache->lru, limit_bytes, max_entries, shared_free);
	return cache;
}

void modcache__free(struct modcache *cache)
{
	if (!cache)
		return;
	bytelru__fini(&cache->lru);
	free(cache);
}

/* malloc'd bytes in use: the small ones and the mmap'd large ones */
static size_t heap_bytes(void)
{
	struct mallinfo2 info = mallinfo2();

	return info.uordblks + info.hblkhd;
}

/* What the heap grew by since the last look is the innermost held
 * session's: libdw reading its units and lines. */
static void charge_growth(struct modcache *cache)
{
	size_t now = heap_bytes();

	if (cache->depth)
		bytelru__charge(&cache->lru, cache->in_use[cache->depth - 1],
				(ssize_t)(now - cache->heap_at));
	cache->heap_at = now;
}

static void begin_use(struct modcache *cache, struct bytelru_entry *entry, bool measured,
		      struct modcache_module *out)
{
	struct shared_module *shared = entry->value;

	measured = measured && cache->depth < MODCACHE_NEST_MAX;
	if (measured)
		cache->in_use[cache->depth++] = entry;
	*out = (struct modcache_module){ shared->mod, shared->bias, &shared->tables, entry,
					 measured };
}

static __u64 key_of(const struct file_identity *identity)
{
	return hash__bytes(identity, sizeof(*identity), 0);
}

int modcache__identity(int fd, struct file_identity *identity)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	*identity = (struct file_identity){ st.st_dev, st.st_ino, (__u64)st.st_size,
					    (__u64)st.st_mtim.tv_sec, (__u64)st.st_mtim.tv_nsec };
	return 0;
}

int modcache__hold(struct modcache *cache, const struct file_identity *identity, bool measured,
		   struct modcache_module *out)
{
	struct bytelru_entry *entry;

	if (measured)
		charge_growth(cache);
	entry = bytelru__hold(&cache->lru, key_of(identity));
	if (!entry)
		return -ENOENT;
	if (memcmp(&((struct shared_module *)entry->value)->identity, identity,
		   sizeof(*identity))) {
		/* another file whose identity hashes alike: not this one's */
		bytelru__release(entry);
		return -ENOENT;
	}
	begin_use(cache, entry, measured, out);
	return 0;
}

/*
 * The file as a one-module session at its own addresses.  The symbol
 * table and the debug file are found now, while pid (whose root the debug
 * file may be in) is the one being read: a later lookup might come when
 * it is gone or its pid is another's.  Units and lines still load lazily.
 */
static struct shared_module *shared_load(int fd, const char *name, pid_t pid,
					 const struct file_identity *identity)
{
	struct shared_module *shared = calloc(1, sizeof(*shared));
	Dwarf_Addr dwarf_bias;

	if (!shared)
		goto fail;
	shared->identity = *identity;
	shared->dwfl = dwfl_begin(&elfopen__callbacks);
	if (!shared->dwfl)
		goto fail;
	dwfl_report_begin(shared->dwfl);
	shared->mod = dwfl_report_elf(shared->dwfl, name, name, fd, 0, false);
	if (!shared->mod)
		goto fail;
	fd = -1; /* the module's now */
	if (dwfl_report_end(shared->dwfl, NULL, NULL))
		goto fail;
	elfopen__bind(shared->dwfl, pid);
	if (!dwfl_module_getelf(shared->mod, &shared->bias))
		goto fail;
	dwfl_module_getsymtab(shared->mod);
	dwfl_module_getdwarf(shared->mod, &dwarf_bias);
	/* no root to look in from now on: only the host's */
	elfopen__bind(shared->dwfl, 0);
	return shared;
fail:
	if (fd >= 0)
		close(fd);
	if (shared && shared->dwfl)
		dwfl_end(shared->dwfl);
	free(shared);
	return NULL;
}

int modcache__load(struct modcache *cache, const struct file_identity *identity, int fd,
		   const char *name, pid_t pid, struct modcache_module *out)
{
	struct shared_module *shared;
	struct bytelru_entry *entry;
	size_t before, loaded;

	if (u64map__get(&cache->lru.by_key, key_of(identity))) {
		/* another file whose identity hashes alike: read by its process alone */
		close(fd);
		return -EEXIST;
	}
	charge_growth(cache);
	before = cache->heap_at;
	shared = shared_load(fd, name, pid, identity);
	if (!shared)
		return -ENOENT;
	loaded = heap_bytes() - before;
	/* evicts what it must first: what that frees is no load's */
	entry = bytelru__add(&cache->lru, key_of(identity), shared);
	if (!entry) {
		shared_free(shared);
		return -ENOMEM;
	}
	bytelru__charge(&cache->lru, entry, (ssize_t)loaded);
	cache->heap_at = heap_bytes();
	begin_use(cache, entry, true, out);
	return 0;
}

void modcache__release(struct modcache *cache, struct modcache_module *module)
{
	int at = cache->depth - 1;

	if (!module->entry)
		return;
	if (module->measured) {
		charge_growth(cache);
		while (at >= 0 && cache->in_use[at] != module->entry)
			at--;
		if (at >= 0) {
			memmove(&cache->in_use[at], &cache->in_use[at + 1],
				(cache->depth - at - 1) * sizeof(cache->in_use[0]));
			cache->depth--;
		}
	}
	bytelru__release(module->entry);
	module->entry = NULL;
}

void modcache__trim(struct modcache *cache)
{
	bytelru__trim(&cache->lru);
	/* what eviction freed is no session's growth */
	cache->heap_at = heap_bytes();
}

void modcache__shed(struct modcache *cache)
{
	size_t limit_bytes = cache->lru.limit_bytes, max_entries = cache->lru.max_entries;

	cache->lru.limit_bytes = 0;
	cache->lru.max_entries = 0;
	modcache__trim(cache);
	cache->lru.limit_bytes = limit_bytes;
	cache->lru.max_entries = max_entries;
}

void modcache__stats(const struct modcache *cache, struct bytelru_stats *stats)
{
	bytelru__stats(&cache->lru, stats);
}
