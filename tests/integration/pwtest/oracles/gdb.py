# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""gdb as an oracle: every thread's frames of a live process as gdb's Python
API gives them (gdb_frames.py), and their comparison with parkwatch's."""

import os
import collections
import re
import subprocess
import sys

from pwtest import Fail, check
from pwtest.oracles import proc

GDB_TIMEOUT = 90.0


def norm_name(name):
    """Compare names modulo glibc aliasing: __GI_/___/__ prefixes, @VERSION,
    compiler clone suffixes, time64 `64` suffixes and __libc_ prefixes."""
    n = name.split("@")[0]
    n = re.sub(r"(\.(isra|constprop|part|cold|lto_priv|localalias)(\.\d+)?)+$", "", n)
    prev = None
    while n != prev:
        prev = n
        if n.startswith("__GI_"):
            n = n[5:]
        elif n.startswith("__"):
            n = n.lstrip("_")
        elif n.startswith("libc_") and len(n) > 5:
            n = n[5:]
    if re.search(r"[a-z_]64$", n):
        n = n[:-2]
    return n


GdbFrame = collections.namedtuple("GdbFrame", "name kind file line")
FRAMES_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gdb_frames.py")


def parse_exact(text):
    """{tid: [GdbFrame, ...]} innermost first, from gdb_frames.py's lines."""
    stacks = {}
    for line in text.splitlines():
        if not line.startswith("PWFRAME "):
            continue
        head, _, rest = line.partition("\t")
        _, tid, kind, name = head.split(" ", 3)
        path, _, lineno = rest.partition("\t")
        stacks.setdefault(int(tid), []).append(
            GdbFrame(name, kind, path or None, int(lineno or 0)))
    return stacks


def _attach_batch(pid, script, sysroot=None, before=()):
    """gdb's stdout after attaching to PID (BEFORE: gdb commands to run
    first), running SCRIPT (a Python file) and detaching."""
    cmd = ["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off",
           "-ex", "set pagination off"]
    if sysroot:
        cmd += ["-ex", f"set sysroot {sysroot}"]
    for command in before:
        cmd += ["-ex", command]
    cmd += ["-ex", f"attach {pid}", "-x", script, "-ex", "detach"]
    env = dict(os.environ, DEBUGINFOD_URLS="")
    try:
        cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=GDB_TIMEOUT, env=env)
    except FileNotFoundError:
        raise Fail("gdb is not installed") from None
    except subprocess.TimeoutExpired:
        raise Fail(f"gdb did not finish within {GDB_TIMEOUT:.0f} s") from None
    return cp.stdout.decode("utf-8", "replace"), cp


def exact_backtraces(pid, sysroot=None):
    """Every thread's frames as gdb's Python API gives them, inlined and
    tail-call frames included and past main and the entry point: attach to
    PID, read and detach.  SYSROOT: where gdb finds the files (a target's
    /proc/PID/root).  Returns ({tid: [GdbFrame]}, the /proc snapshot of
    PID's tasks taken just before gdb stopped it: a task whose switch counts
    are the same in an earlier snapshot did not run in between)."""
    out, cp = _attach_batch(pid, FRAMES_SCRIPT, sysroot, before=(
        "set backtrace past-main on", "set backtrace past-entry on",
        # the /proc view just before the attach, which puts every task in "t"
        f"shell {sys.executable} {os.path.abspath(proc.__file__)} {pid}"))
    stacks = parse_exact(out)
    check(stacks, f"gdb printed no frames (exit {cp.returncode}): "
                  f"{cp.stderr.decode('utf-8', 'replace').strip()[-300:]!r}")
    return stacks, proc.parse_snapshot_lines(out)


GdbLock = collections.namedtuple("GdbLock", "kind addr owner function")
LOCKS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gdb_locks.py")


def lock_owners(pid):
    """{tid: GdbLock} of PID's threads inside a pthread mutex or rwlock lock
    call: the lock's address and its owner as glibc's structure holds it
    (mutex->__data.__owner, rwlock->__data.__cur_writer), read by gdb with
    libc6-dbg in the lock call's frame (gdb_locks.py).  gdb stops the
    process while it reads."""
    out, cp = _attach_batch(pid, LOCKS_SCRIPT)
    owners = {}
    for line in out.splitlines():
        if line.startswith("PWLOCK "):
            _, tid, kind, addr, owner, function = line.split(" ", 5)
            owners[int(tid)] = GdbLock(kind, int(addr, 16), int(owner), function)
    errors = [l for l in out.splitlines() if l.startswith("PWERROR ")]
    check(not errors, f"gdb could not read threads of {pid}: {errors[:3]}")
    check(cp.returncode == 0 or owners, f"gdb exit {cp.returncode}: "
          f"{cp.stderr.decode('utf-8', 'replace').strip()[-300:]!r}")
    return owners


def strip_parameters(name):
    """A demangled name without its parameter list and qualifiers:
    `ns::f(int) const` reads `ns::f`, as gdb names a function from DWARF.
    Parentheses inside the name (`{lambda()#1}`, `(anonymous namespace)`,
    `operator()`) stay."""
    n = name.strip()
    for q in (" const", " volatile", " &&", " &"):
        while n.endswith(q):
            n = n[: -len(q)].rstrip()
    if not n.endswith(")") or n.endswith("operator()"):
        return n
    depth = 0
    for i in range(len(n) - 1, -1, -1):
        if n[i] == ")":
            depth += 1
        elif n[i] == "(":
            depth -= 1
            if depth == 0:
                head = n[:i]
                # `operator()(int)`: the list starts after `operator()`
                return head if head and not head.endswith("operator") else n
    return n


def exact_name(name):
    """The name both sides are compared by: without parameters, modulo
    glibc's aliases (norm_name)."""
    if not name or name.startswith("??"):
        return "??"
    return norm_name(strip_parameters(name))


def compare_exact(frames, gdb_frames):
    """(matched, why): parkwatch's frames (JSON, innermost first, inlined
    and tail-call frames included) name the same functions in the same
    order as gdb's, frame for frame, each in the same source file (by base
    name: gdb resolves glibc's relative paths) or, where gdb has no line,
    in none.  Lines are not compared: gdb skips the rows of the line table
    that are not statements, and gcc -O2 marks some calls' rows so (a call
    on line 92 of a `while` on line 91 reads 91 in gdb, 92 in addr2line and
    parkwatch).  gdb's first `??` ends the comparison: past a frame gdb
    can't name, its unwinding is a guess."""
    def where(path):
        return os.path.basename(path) if path else None

    p = [(exact_name(f.get("function")), where(f.get("file"))) for f in frames or []]
    g = []
    for f in gdb_frames:
        if f.kind == "other" or f.name.startswith("??"):
            break
        g.append((exact_name(f.name), where(f.file)))
    if not g:
        return False, "gdb named no frame"
    if p[: len(g)] != g or (len(p) > len(g) and len(g) == len(gdb_frames)):
        return False, f"parkwatch {p} gdb {g}"
    return True, ""


def slept_through(before, after, tid):
    """The task slept in both /proc views (proc.snapshot) with no switch in
    between."""
    a, b = before.get(tid), after.get(tid)
    return bool(a and a == b and a[0] in ("S", "D"))


def other_mount_ns(pid):
    return os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")


def agreement(parked, before, every=False):
    """Parked units ({pid: [JSON units]}) against gdb's stacks of their
    process (read through /proc/PID/root for a process in another mount
    namespace), by compare_exact: every unit (EVERY), or those whose task
    slept from BEFORE ({pid: proc.snapshot}) to gdb's attach.  Returns
    ([(pid, tid) compared], [what differs, one line per unit])."""
    compared, problems = [], []
    for pid, units in parked.items():
        stacks, during = exact_backtraces(
            pid, sysroot=f"/proc/{pid}/root" if other_mount_ns(pid) else None)
        for u in units:
            tid = u["id"]
            if not every and not slept_through(before[pid], during, tid):
                continue
            compared.append((pid, tid))
            ok, why = compare_exact(u.get("frames"), stacks.get(tid, []))
            if not ok:
                problems.append(f"pid {pid} tid {tid} ({u.get('comm')}): {why}")
    return compared, problems
