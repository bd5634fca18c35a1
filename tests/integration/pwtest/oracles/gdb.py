# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""gdb as an oracle: `thread apply all bt` of a live process, parsed, and
the comparison of its stacks with parkwatch's frames."""

import os
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


def dedupe(names):
    out = []
    for n in names:
        if not out or out[-1] != n:
            out.append(n)
    return out


def parse_backtraces(text):
    """{tid: [(function, file or None), ...]} leaf first, from `thread apply all bt`."""
    stacks = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^Thread \d+ \(.*?(?:LWP|process) (\d+)\)", line)
        if m:
            cur = int(m.group(1))
            stacks[cur] = []
            continue
        if cur is None:
            continue
        m = re.match(r"^#\d+\s+(?:0x[0-9a-fA-F]+ in )?(\S+)", line)
        if m:
            fm = re.search(r"\) at (\S+):\d+\s*$", line)
            stacks[cur].append((m.group(1), fm.group(1) if fm else None))
    return stacks


def backtraces(pid):
    """Attach to PID, take every thread's backtrace and detach.  Returns
    (stacks as parse_backtraces gives them, the /proc snapshot of PID's tasks
    taken while gdb held it stopped)."""
    cmd = ["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off",
           "-ex", "set print frame-arguments none", "-ex", "set print entry-values no",
           "-ex", f"shell {sys.executable} {os.path.abspath(proc.__file__)} {pid}",
           "-ex", f"attach {pid}", "-ex", "thread apply all bt", "-ex", "detach"]
    env = dict(os.environ, DEBUGINFOD_URLS="")
    try:
        cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=GDB_TIMEOUT, env=env)
    except FileNotFoundError:
        raise Fail("gdb is not installed") from None
    except subprocess.TimeoutExpired:
        raise Fail(f"gdb did not finish within {GDB_TIMEOUT:.0f} s") from None
    out = cp.stdout.decode("utf-8", "replace")
    stacks = parse_backtraces(out)
    check(stacks, f"gdb printed no stacks (exit {cp.returncode}): "
                  f"{cp.stderr.decode('utf-8', 'replace').strip()[-300:]!r}")
    return stacks, proc.parse_snapshot_lines(out)


def compare_stacks(frames, gdb_frames, own_src):
    """(matched, why): parkwatch and gdb name the frames both know in one order.

    Names only one side knows are left out: gdb adds frames for tail calls it
    rebuilds from DWARF call-site data (e.g. __futex_abstimed_wait_cancelable64
    and ___pthread_join jump to their callees, so those frames are on no
    stack), and stops at main; parkwatch goes on to _start.  gdb's `??` ends
    the comparison.  Frames gdb places in the program's own source (OWN_SRC)
    must be in parkwatch's stack too."""
    p = dedupe([norm_name(f["function"]) for f in frames or [] if f.get("function")])
    g, required = [], []
    for name, src in gdb_frames:
        if name.startswith("??") or name.startswith("<"):
            break
        g.append(norm_name(name))
        if own_src and src and os.path.basename(src) == own_src:
            required.append(norm_name(name))
    g = dedupe(g)
    common = set(p) & set(g)
    if not common:
        return False, f"no function names in common: parkwatch {p} gdb {g}"
    pc = dedupe([n for n in p if n in common])
    gc = dedupe([n for n in g if n in common])
    if pc != gc:
        return False, f"order differs: parkwatch {pc} gdb {gc}"
    lost = [n for n in required if n not in p]
    if lost:
        return False, f"parkwatch lacks the program's own frames {lost}: {p}"
    return True, ""
