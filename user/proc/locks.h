/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The C library's locks as a live process holds them: where glibc keeps a
 * mutex's owner and kind, a rwlock's writer and futex words, a condition
 * variable's futex words (offsets from libc's DWARF when its debug info is
 * found, else from a table by glibc version read off the libc ELF), and
 * the state of one lock a thread sleeps on, read from process memory.
 * Without either source (musl, a static or unknown C library) owners are
 * unknown, never guessed.
 */
#ifndef PARKWATCH_LOCKS_H
#define PARKWATCH_LOCKS_H

#include <stdbool.h>
#include <sys/types.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include "model/picture.h"
#include "proc/procs.h"

/* glibc's futex word bits of PI and robust mutexes (linux/futex.h) */
#define LOCKS_FUTEX_TID_MASK 0x3fffffffU
#define LOCKS_FUTEX_OWNER_DIED 0x40000000U

/* Byte offsets in glibc's structs; -1 where unknown. */
struct libc_layout {
	bool known;                 /* a glibc whose mutex and rwlock offsets are known */
	bool from_dwarf;            /* read from its debug info, not the table */
	int version_major, version_minor; /* 0.0: not read */
	int mutex_lock, mutex_owner, mutex_kind;          /* struct __pthread_mutex_s */
	int rwlock_readers, rwlock_wrphase_futex;         /* struct __pthread_rwlock_arch_t */
	int rwlock_writers_futex, rwlock_cur_writer;
	int cond_g_signals;         /* struct __pthread_cond_s; -1: condvars are named
				     * by the futex word they sleep on */
};

/* From a libc's DWARF: 0, or -ENOENT when it doesn't describe the structs. */
int libc_layout__from_dwarf(Dwarf *dwarf, struct libc_layout *out);
/* From the table: 0, or -ENOENT for a version it has no offsets of. */
int libc_layout__from_version(int major, int minor, struct libc_layout *out);
/* glibc's version from its banner in .rodata ("... release version 2.36."):
 * 0, or -ENOENT. */
int libc_layout__version(Elf *elf, int *major, int *minor);

/* The layouts of the C libraries seen, one per libc build, across processes. */
struct lock_layouts;

struct lock_layouts *lock_layouts__new(void);
/* NULL-safe. */
void lock_layouts__free(struct lock_layouts *layouts);
/* proc's C library's layout (known false when none): never NULL but when
 * out of memory. */
const struct libc_layout *lock_layouts__of(struct lock_layouts *layouts, struct proc *proc);

/* A lock as one read of its memory found it. */
struct lock_state {
	enum pw_object_kind kind;
	__u64 addr;                 /* the object: pthread_mutex_t, pthread_rwlock_t, ... */
	__u32 word;                 /* the futex word the waiter sleeps on */
	pid_t owner;                /* its owner's tid, in the process's PID namespace; 0:
				     * none or unknown */
	bool owner_unknown;         /* held by someone the memory doesn't name */
	bool owner_died;            /* FUTEX_OWNER_DIED: a robust mutex's owner exited */
	bool pshared;               /* a process-shared mutex: the owner may be elsewhere
				     * (glibc marks every robust mutex so) */
};

/*
 * The lock of kind (named by the waiter's frames) that a thread sleeping
 * on the futex word at futex_addr waits for: its base, owner and word.
 * 0, -EFAULT when the memory can't be read.
 */
int lock_state__read(struct proc *proc, const struct libc_layout *layout,
		     enum pw_object_kind kind, __u64 futex_addr, struct lock_state *out);

#endif /* PARKWATCH_LOCKS_H */
