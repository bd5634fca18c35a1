# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Run inside gdb (`gdb -x gdb_locks.py`) after attaching, with glibc's debug
information (libc6-dbg): for every thread inside a pthread mutex or rwlock
lock call, the lock and its owner as glibc's own structure says, one line:

    PWLOCK <tid> <kind> <address> <owner tid> <function>

kind is mutex (owner: mutex->__data.__owner) or rwlock (owner:
rwlock->__data.__cur_writer); the frame read is the innermost lock call
whose argument gdb can still read (a PI mutex's ___pthread_mutex_lock has it
optimized out; __pthread_mutex_lock_full, below it, has it).  Read by
gdb.lock_owners."""

import gdb  # noqa: F401 (provided by gdb)

MAX_FRAMES = 64
# (substring of the function's name, its argument, kind, the owner's field)
LOCK_CALLS = (
    ("pthread_mutex_lock", "mutex", "mutex", "__owner"),
    ("pthread_mutex_timedlock", "mutex", "mutex", "__owner"),
    ("pthread_mutex_clocklock", "mutex", "mutex", "__owner"),
    ("pthread_rwlock_rdlock", "rwlock", "rwlock", "__cur_writer"),
    ("pthread_rwlock_wrlock", "rwlock", "rwlock", "__cur_writer"),
    ("pthread_rwlock_timed", "rwlock", "rwlock", "__cur_writer"),
    ("pthread_rwlock_clock", "rwlock", "rwlock", "__cur_writer"),
)


def readable_argument(frame, name):
    try:
        value = frame.read_var(name)
    except (ValueError, gdb.error):
        return None
    return None if value.is_optimized_out else value


def lock_of(thread):
    """(kind, address, owner, function) of the thread's lock call, or None."""
    thread.switch()
    frame = gdb.newest_frame()
    for _ in range(MAX_FRAMES):
        if frame is None:
            return None
        name = frame.name() or ""
        for marker, argument, kind, owner_field in LOCK_CALLS:
            if marker not in name:
                continue
            pointer = readable_argument(frame, argument)
            if pointer is not None:
                owner = int(pointer.dereference()["__data"][owner_field])
                return kind, int(pointer), owner, name
        try:
            frame = frame.older()
        except gdb.error:
            return None
    return None


for thread in gdb.selected_inferior().threads():
    tid = thread.ptid[1]
    try:
        lock = lock_of(thread)
    except gdb.error as e:
        print(f"PWERROR {tid} {e}")
        continue
    if lock:
        kind, address, owner, function = lock
        print(f"PWLOCK {tid} {kind} {address:#x} {owner} {function}")
