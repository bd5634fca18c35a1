/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What both BPF programs share, declared once: the per-thread park state
 * (task storage), the watched-process filter and its settings, the kernel's
 * restart functions, and the give-up counters.  park_tracker.bpf.c defines
 * each of them; snapshot.bpf.c sees them through these extern
 * declarations, and `bpftool gen object` links the two objects into one, so
 * there is one copy of each in the loaded object and one skeleton
 * (parkwatch_bpf) for userspace.
 */
#ifndef PARKWATCH_SHARED_BPF_H
#define PARKWATCH_SHARED_BPF_H

#include "park.h"

/* The map types, named so that the definition and the extern declarations
 * can't drift apart (the linker insists they match). */
typedef struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct park_state);
} park_states_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PARK_MAX_WATCHED); /* tracker.c sizes it to the -p list */
	__type(key, __u32);
	__type(value, __u8);
} watched_tgids_map;

extern park_states_map park_states SEC(".maps");
extern watched_tgids_map watched_tgids SEC(".maps");

/* Filter settings (filter.bpf.h), set by userspace before load. */
extern const volatile bool filter_tgid;     /* only the processes in watched_tgids */
extern const volatile bool filter_cgroup;   /* only threads in cgroup cgroup_id */
extern const volatile __u64 cgroup_id;      /* cgroup v2 id (kernfs node id) */
extern const volatile __u32 comm_count;     /* only processes named one of comms[] */
extern const volatile char comms[PARK_MAX_COMMS][PARK_COMM_LEN];

/* Every give-up, counted (park.h). */
extern struct pw_stats gave_up;

#define GAVE_UP(counter) __sync_fetch_and_add(&gave_up.counter, 1)

#endif /* PARKWATCH_SHARED_BPF_H */
