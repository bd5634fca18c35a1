/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Names of JIT-compiled code from a process's perf map, /tmp/perf-PID.map,
 * the file the JVM (jcmd PID Compiler.perfmap, -XX:+DumpPerfMapAtExit),
 * Node (--perf-basic-prof) and Python >= 3.12 (-X perf) write: one line
 * per piece of code, `START SIZE name` with START and SIZE in hex.  It is
 * read through the target's own root, with the pid it has inside its PID
 * namespace, and re-read when the file changes.  The file is written by the
 * target (or by anyone who can write its /tmp): it is read only when owned
 * by the process's user or root, bounded in size and lines, and a line
 * that is not `START SIZE name` is skipped.
 */
#ifndef PARKWATCH_PERFMAP_H
#define PARKWATCH_PERFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "model/symbol.h"

/* Bounds of one read: bytes of the file, entries, bytes of a name. */
#define PERFMAP_MAX_BYTES (64u << 20)
#define PERFMAP_MAX_ENTRIES (1u << 20)
#define PERFMAP_MAX_NAME 1024

struct perfmap_entry {
	__u64 start, end;           /* [start, end) */
	const char *name;
	size_t line;                /* in the file, from 1: where entries overlap, the later wins */
};

struct perfmap;

/* The perf map of process pid, read at the first perfmap__refresh; NULL
 * when out of memory. */
struct perfmap *perfmap__new(pid_t pid);
/* The perf map at path, accepted when owned by owner or root, its frames
 * in module (e.g. "[perf-42.map]"); for tests and tools.  NULL when out of
 * memory. */
struct perfmap *perfmap__new_path(const char *path, uid_t owner, const char *module);
void perfmap__free(struct perfmap *map);

/*
 * Reads the file again when its identity, size or modification time
 * changed since the last read (a missing or unacceptable file is an empty
 * map).  Returns 1 when the entries changed, 0 when not, -ENOMEM.
 */
int perfmap__refresh(struct perfmap *map);
/*
 * Replaces the entries with those of text, len bytes of a perf map
 * followed by a NUL, malloc'd: the map takes it over (names point into
 * it).  What perfmap__refresh does with the file's bytes; for tests and
 * fuzzing.  0, or -ENOMEM (the map is then empty).
 */
int perfmap__parse(struct perfmap *map, char *text, size_t len);
/* The entry holding pc, NULL when none (map may be NULL). */
const struct perfmap_entry *perfmap__find(const struct perfmap *map, __u64 pc);
/*
 * A symbol for pc naming its JIT code: one frame, the entry's name, in
 * the map's module.  NULL when no entry holds pc (or out of memory).
 */
struct symbol *perfmap__symbol(const struct perfmap *map, __u64 pc);
/* Whether symbol came from a perf map (a refresh makes it stale). */
bool perfmap__is_jit_symbol(const struct symbol *symbol);

/* Entries read, and lines skipped (malformed, or past the bounds). */
size_t perfmap__count(const struct perfmap *map);
size_t perfmap__skipped(const struct perfmap *map);

#endif /* PARKWATCH_PERFMAP_H */
