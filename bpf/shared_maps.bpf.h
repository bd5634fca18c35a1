/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The maps both BPF programs use, declared once: the per-thread park state
 * (task storage) and the watched-process filter.  The tracker creates them;
 * the snapshot iterator is given the tracker's file descriptors.
 */
#ifndef PARKWATCH_SHARED_MAPS_BPF_H
#define PARKWATCH_SHARED_MAPS_BPF_H

#include "park.h"
#include "kernel.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct park_state);
} park_states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PARK_MAX_WATCHED);
	__type(key, __u32);
	__type(value, __u8);
} watched_tgids SEC(".maps");

#endif /* PARKWATCH_SHARED_MAPS_BPF_H */
