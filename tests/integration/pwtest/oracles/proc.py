# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""/proc as an oracle: a task's state letter and the syscall it sleeps in,
context switch counts, capabilities.

Run as a script, `proc.py PID` prints `PWSNAP TID STATE VOL NONVOL` per task
of PID: gdb runs it (`shell ...`) while the process is stopped, for a view
of the tasks at the moment of the backtraces.
"""

import os
import sys

if __name__ == "__main__":  # run by path: make the package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))

from pwtest import check, poll  # noqa: E402

# x86_64 syscall numbers the targets sleep in, as /proc/TID/syscall shows them.
SYSCALL_NAMES = {
    0: "read", 7: "poll", 34: "pause", 35: "nanosleep", 61: "wait4",
    128: "rt_sigtimedwait", 202: "futex", 230: "clock_nanosleep",
    232: "epoll_wait", 281: "epoll_pwait",
}
FUTEX, PAUSE = 202, 34


def syscall(pid, tid):
    """(state letter, syscall number or None) of a task from /proc."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/task/{tid}/syscall") as f:
            first = f.read().split()[0]
    except (OSError, IndexError):
        return None, None
    try:
        return state, int(first)
    except ValueError:
        return state, None


def snapshot(pid):
    """{tid: (state, voluntary, nonvoluntary context switches)} of every task."""
    snap = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return snap
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            vol = nonvol = None
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        nonvol = int(line.split()[1])
            snap[int(tid)] = (state, vol, nonvol)
        except (OSError, IndexError, ValueError):
            pass
    return snap


def status(pid):
    """{field: value} of /proc/PID/status (PID may be "PID/task/TID")."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def comm(pid):
    """/proc/PID/comm without its newline, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().rstrip("\n")
    except OSError:
        return None


def exe(pid):
    """/proc/PID/exe's target: what /metrics' exe label says."""
    return os.readlink(f"/proc/{pid}/exe")


def wait_in_syscall(pid, tid, nr, timeout=5.0):
    """Until /proc shows the task asleep in syscall NR."""
    last = [None, None]

    def asleep():
        last[:] = syscall(pid, tid)
        return last[0] == "S" and last[1] == nr

    poll(asleep, timeout, lambda: f"tid {tid} not asleep in syscall {nr} "
                                  f"(state {last[0]}, syscall {last[1]})", interval=0.01)


def snapshot_lines(pid):
    return [f"PWSNAP {tid} {state} {vol} {nonvol}"
            for tid, (state, vol, nonvol) in sorted(snapshot(pid).items())]


def parse_snapshot_lines(text):
    """The snapshot printed by snapshot_lines(), from TEXT with other lines."""
    snap = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "PWSNAP":
            snap[int(parts[1])] = (parts[2], int(parts[3]), int(parts[4]))
    return snap


if __name__ == "__main__":
    check(len(sys.argv) == 2, f"usage: {sys.argv[0]} PID")
    print("\n".join(snapshot_lines(int(sys.argv[1]))))
