# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The Go runtime as an oracle: parsers of /debug/pprof/goroutine?debug=1
and debug=2, the runtime's own dumps, which parkwatch's goroutine mode
prints in the same shapes (so the same parsers read both sides).

Stacks are compared as sequences of *physical* frames where pcs matter (an
inlined call folds into the function it was inlined into): the runtime gives
each inlined frame the pc of its inline mark, parkwatch the pc of the call.
"""

import re

from pwtest import check


def physical(frames):
    """Names of physical frames from (name, entry) pairs, leaf first: an
    inlined frame shares its caller's entry and folds into it."""
    names = []
    for i, (name, entry) in enumerate(frames):
        if i + 1 < len(frames) and entry is not None and frames[i + 1][1] == entry:
            continue
        names.append(name)
    return tuple(names)


FRAME1 = re.compile(r"^#\t+(0x[0-9a-f]+)\t+(\S+)\+(0x[0-9a-f]+)\t+(\S+)$")
GROUP1 = re.compile(r"^(\d+) @( 0x[0-9a-f]+)+$")
STACKLESS1 = re.compile(r"^# (\d+) \[([^\]]+)\]: stack unavailable$")


def parse_debug1(text):
    """({physical stack: count}, total, {physical stack: [(function, file:line)]}).
    parkwatch's stackless goroutines count as the stack ('[running]',); a
    goroutine in a syscall must have its stack, as in the runtime's."""
    groups, lines_of, total = {}, {}, None
    count, frames, places = None, [], []

    def close():
        if count is not None:
            key = physical(frames)
            groups[key] = groups.get(key, 0) + count
            lines_of.setdefault(key, places)

    for line in text.splitlines():
        m = re.match(r"^goroutine profile: total (\d+)$", line)
        if m:
            total = int(m.group(1))
            continue
        if GROUP1.match(line):
            close()
            count, frames, places = int(line.split()[0]), [], []
            continue
        m = STACKLESS1.match(line)
        if m:
            check(m.group(2) != "syscall", f"goroutines in a syscall without a stack: {line}")
            close()
            count = None
            key = (f"[{m.group(2)}]",)
            groups[key] = groups.get(key, 0) + int(m.group(1))
            lines_of.setdefault(key, [])
            continue
        m = FRAME1.match(line)
        if m and count is not None:
            pc, name, off = int(m.group(1), 16), m.group(2), int(m.group(3), 16)
            frames.append((name, pc - off))
            places.append((name, m.group(4)))
    close()
    check(total is not None, "no 'goroutine profile: total N' line")
    return groups, total, lines_of


HEADER2 = re.compile(r"^goroutine (\d+) \[([^\]]*)\]:$")


def parse_debug2(text):
    """{goid: (reason, physical stack, entry lines)}: the reason without its
    ', N minutes' and ', locked to thread'; the stack's physical frames are
    those printed with +0x; the entry's lines without the arguments."""
    out, cur = {}, None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = HEADER2.match(line)
        if m:
            reason = m.group(2).split(",")[0].replace(" (scan)", "")
            cur = (reason, [], [])
            out[int(m.group(1))] = cur
        elif cur is not None and line.startswith("created by "):
            cur[2].append(line)
            if i + 1 < len(lines) and lines[i + 1].startswith("\t"):
                cur[2].append(lines[i + 1])
                i += 1
        elif cur is not None and line and not line.startswith("\t") and \
                i + 1 < len(lines) and lines[i + 1].startswith("\t"):
            name = re.sub(r"\([^()]*\)$", "", line)  # the arguments
            if " +0x" in lines[i + 1]:
                cur[1].append(name)
            cur[2].extend([name, lines[i + 1]])
            i += 1
        i += 1
    for g, (r, s, _) in out.items():
        check(r != "syscall" or s, f"goroutine {g} in a syscall without a stack")
    return {g: (r, tuple(s), tuple(e)) for g, (r, s, e) in out.items()}


def shown_in_traceback(name):
    """Go's default traceback: names with a dot, runtime.* only when exported."""
    if "." not in name:
        return False
    if not name.startswith("runtime."):
        return True
    return name[8:9].isupper()
