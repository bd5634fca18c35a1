/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Per-process state kept across snapshots: the libdwfl session over the
 * process's mappings (for unwinding: its modules' CFI), the symbol cache
 * (symbolize.c), the names of its JIT code (perfmap.c) and the unwound
 * stacks of threads still in the same park (unwind.c).  Symbols and debug
 * info are read through sessions shared by every process that maps the
 * same file (modcache.h), under one byte budget.  A process the last
 * snapshot did not touch is dropped: pictures hold their own references
 * to the symbols they name.
 */
#ifndef PARKWATCH_PROCS_H
#define PARKWATCH_PROCS_H

#include <stdbool.h>
#include <sys/types.h>
#include <elfutils/libdwfl.h>
#include "park.h"
#include "proc/modcache.h"
#include "util/u64map.h"

struct unwind_input;
struct perfmap;
struct cgroup_label;

struct procs;

/* The lines of /proc/PID/maps that map a file (procs.c). */
struct file_maps {
	char *text;                 /* NUL-terminated, NULL when none */
	size_t len;
	bool jit_exec;              /* some executable memory maps no file, or a memfd */
};

/* Beyond it a process's mapped files are not read: a hostile process
 * could map one page of a file 65,530 times (vm.max_map_count). */
#define PROCS_FILE_MAPS_MAX_BYTES (16u << 20)

struct proc {
	pid_t pid;
	unsigned long long start_ticks; /* with pid, which process this is (0: unknown) */
	__u64 leader_start_ns;      /* the same in a snapshot's terms (procs__get_started) */
	struct procs *owner;
	Dwfl *dwfl;                 /* NULL until a stack needs it */
	bool dwfl_failed;           /* don't retry a process whose maps can't be read */
	__u64 maps_hash;            /* /proc/PID/maps' file lines when the caches were filled */
	struct file_maps file_maps; /* those lines, the modules of dwfl */
	pid_t ns_pid;               /* procs__ns_pid, once ns_pid_known */
	bool ns_pid_known;
	char *exe;                  /* procs__exe_path, NULL until read */
	unsigned int maps_checked_generation; /* maps are re-read once per snapshot */
	bool fd_limit_hit;          /* it ran out of fds in snapshot fd_limit_generation */
	unsigned int fd_limit_generation;
	int mem_fd;                 /* /proc/PID/mem, -1 until needed */
	size_t fds_held;            /* what dwfl and mem_fd may hold open, at most */
	__u64 fds_used_at;          /* when dwfl or mem_fd was last used (procs' clock) */
	struct u64map symbols;      /* lookup pc -> struct symbol *, one reference each */
	struct u64map module_files; /* Dwfl_Module * -> struct file_identity of its file, one
				     * block each; NOT_SHARED for one read by the process alone */
	struct u64map own_tables;   /* Dwfl_Module * -> struct module_tables of one read by the
				     * process alone, one block each */
	struct u64map tail_symbols; /* lookup pc -> struct symbol * of a tail-call frame (symbolize.c) */
	struct u64map tail_chains;  /* (return pc, callee) -> its tail-call frames (tailcall.c), one block each */
	struct u64map stacks;       /* tid -> struct stack * for the current park, one block each */
	struct cgroup_label *cgroup; /* its cgroup label as last read, NULL until read
				     * (collect/placement.c) */
	__u64 cgroup_key;           /* the snapshot's key of its cgroups then */
	__u64 cgroup_read_ns;       /* when, in the snapshot's clock */
	struct u64map data_names;   /* data address -> its symbol's name, "" for none: what
				     * a lock is called, looked up once (collect/locks.c) */
	struct perfmap *perfmap;    /* its JIT code's names (perfmap.c), NULL until needed */
	const struct unwind_input *unwinding; /* the thread Dwfl's callbacks serve (unwind.c) */
	unsigned int seen_generation;
};

/*
 * The fds processes may hold at once (a Dwfl session's binaries and debug
 * files, the memory fd), from a soft RLIMIT_NOFILE of nofile: past it, the
 * least recently used one's are closed (they are reopened when needed).
 * A quarter more is the shared sessions' (modcache.h), two fds each.
 */
size_t procs__fd_budget(unsigned long long nofile);

/* A module of the process's to read symbols and debug info from. */
struct proc_module {
	Dwfl_Module *mod;           /* a shared session's (modcache.h), or the process's own */
	__u64 delta;                /* a process address less the module's address for it */
	struct module_tables *tables;
	struct modcache_module held;
};

/* cache_limit_bytes: the budget of the shared module sessions
 * (--memory-limit), PROCS_CACHE_DEFAULT_BYTES unless told. */
#define PROCS_CACHE_DEFAULT_BYTES (64ULL << 20)
struct procs *procs__new(size_t cache_limit_bytes);
void procs__free(struct procs *procs);
/* Starts a snapshot: processes it doesn't touch are dropped at procs__end. */
void procs__begin(struct procs *procs);
void procs__end(struct procs *procs);
/* Symbolized addresses cached over every process. */
size_t procs__symbol_count(const struct procs *procs);
/* The fds processes may hold now, at most. */
size_t procs__fds_held(const struct procs *procs);
/* Every process's sessions and memory fds closed, and the shared
 * sessions not in use (reopened when next read): what a picture does when
 * parkwatch runs out of fds. */
void procs__shed_fds(struct procs *procs);
/* The shared module sessions' size and use. */
void procs__cache_stats(const struct procs *procs, struct bytelru_stats *stats);
/* The process's entry, created on first use; NULL only when out of memory.
 * A pid now held by another process (its start time changed) gets a fresh
 * entry: nothing cached for the one before carries over. */
struct proc *procs__get(struct procs *procs, pid_t pid);
/* procs__get for a process whose leader's start (task_record's
 * leader_start_ns) the snapshot gives: /proc/PID/stat is read only when it
 * is new, not once per process and snapshot. */
struct proc *procs__get_started(struct procs *procs, pid_t pid, __u64 leader_start_ns);
/* Drops what is cached of the process's image when its mappings changed
 * (dlopen, exec); once per snapshot.  Returns false if they can't be read
 * (gone, not ours, or out of fds). */
bool procs__refresh(struct proc *proc);
/*
 * Takes the process's mappings as the last snapshot read them, without
 * reading them again in this one: for a process none of whose threads has
 * a new park to unwind.  Its threads' stacks and names, cached, stay right
 * while the code they are parked in stays mapped, which it must; reading
 * /proc/PID/maps was most of what a process cost the daemon per picture.
 * A process never read, or short of fds last time, is read as usual.
 */
void procs__trust_mappings(struct proc *proc);
/* Its pid in its own PID namespace, 0 in ours (procfs__ns_pid), read
 * once: a process never changes PID namespace. */
pid_t procs__ns_pid(struct proc *proc);
/* The path of its executable (procfs__exe_path), read again only after
 * an exec: a copy, the caller's to free; NULL when unreadable. */
char *procs__exe_path(struct proc *proc);
/* The process's Dwfl session, (re)built when its mappings changed; NULL if
 * the process can't be read (gone, or not ours) or fds ran out. */
Dwfl *procs__dwfl(struct proc *proc);
/*
 * The module holding pc in the process (procs__module_of: the process's
 * module own), to read symbols and debug info from: the session shared by
 * every process mapping its file, else the process's own (the vDSO, a file
 * no longer there).  Held until procs__module_done.  False when pc is in
 * no module.  measured: see modcache__hold.
 */
bool procs__module_at(struct proc *proc, __u64 pc, struct proc_module *out);
bool procs__module_of(struct proc *proc, Dwfl_Module *own, bool measured,
		      struct proc_module *out);
void procs__module_done(struct proc *proc, struct proc_module *module);
/* Reads 8 bytes of the process's memory. */
bool procs__read_word(struct proc *proc, __u64 addr, __u64 *word);
/* Reads size bytes (a small struct: at most PROCS_READ_MAX) of its memory. */
#define PROCS_READ_MAX 256
bool procs__read(struct proc *proc, __u64 addr, void *buf, size_t size);

#endif /* PARKWATCH_PROCS_H */
