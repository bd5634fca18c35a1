/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * One libdwfl session per ELF file, shared by every process that maps it:
 * the symbol table, DWARF and Go function table of glibc, or of a binary
 * run 200 times, are read once, not once per process.  A session is keyed
 * by its file's identity (device, inode, size, modification time): the
 * very same file, never one that only claims the same build id, so that
 * one container's file can't name another's frames.  Debug info loads as
 * lookups need it (libdw reads a unit's DIEs and lines on first use).
 *
 * What each session holds is measured as the heap bytes it grew by while
 * in use (mallinfo2), and the sessions are kept under a byte budget (and a
 * count, for their fds): least recently used out first, never one held by
 * a caller (util/bytelru.h).  The budget is kept at each trim, between two
 * pictures: one picture is never made to read a file twice.
 */
#ifndef PARKWATCH_MODCACHE_H
#define PARKWATCH_MODCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <elfutils/libdwfl.h>
#include "util/bytelru.h"
#include "util/u64map.h"

struct cu_table;
struct pclntab;

/* A module's function names, indexed by tailcall.c: hash of a name -> its
 * address in the module's session, global and weak ones apart from local
 * ones. */
struct func_names {
	struct u64map globals, locals;
};

/* What symbolize.c and tailcall.c build once per module: one block each,
 * freed with it (module_tables__clear). */
struct module_tables {
	struct cu_table *cu_table;
	struct pclntab *pclntab;
	struct func_names *func_names; /* NULL until tailcall.c needs it */
};

/* Frees what tables hold, not tables itself. */
void module_tables__clear(struct module_tables *tables);

/* A module held for reading: a shared session's, or (entry NULL) one the
 * caller owns. */
struct modcache_module {
	Dwfl_Module *mod;
	Dwarf_Addr bias;            /* mod's addresses over its file's */
	struct module_tables *tables;
	struct bytelru_entry *entry;
	bool measured;              /* what the heap grows by while held is charged to it */
};

/* Which file a session reads, as fstat gives it. */
struct file_identity {
	__u64 dev, ino, size, mtime_sec, mtime_nsec;
};

/* Sessions hold two fds each (the binary, its debug file): max_entries
 * bounds them. */
struct modcache *modcache__new(size_t limit_bytes, size_t max_entries);
void modcache__free(struct modcache *cache);
/* The identity of the open file fd: 0 or -errno. */
int modcache__identity(int fd, struct file_identity *identity);
/* The session of the file, held: 0, or -ENOENT on a miss.  measured: by
 * a caller that may make libdw read more of it (not one that reads what
 * is already loaded, which then costs no look at the heap). */
int modcache__hold(struct modcache *cache, const struct file_identity *identity, bool measured,
		   struct modcache_module *out);
/*
 * A new session over the file open at fd (whose identity it must be),
 * which it takes (closed on failure), named name, its debug info looked
 * up through pid's root; held.  Returns 0 or -errno.
 */
int modcache__load(struct modcache *cache, const struct file_identity *identity, int fd,
		   const char *name, pid_t pid, struct modcache_module *out);
/* Ends a hold (a module the caller owns: nothing). */
void modcache__release(struct modcache *cache, struct modcache_module *module);
/* Evicts what is past the budget, least recently used first. */
void modcache__trim(struct modcache *cache);
/* Every session not held evicted, its fds closed (out of fds). */
void modcache__shed(struct modcache *cache);
void modcache__stats(const struct modcache *cache, struct bytelru_stats *stats);

#endif /* PARKWATCH_MODCACHE_H */
