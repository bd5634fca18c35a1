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
OBJECTS1 = re.compile(r"^# (blocked on |objects: \d+ distinct$)")
STACKLESS1 = re.compile(r"^# (\d+) \[([^\]]+)\]: stack unavailable$")


def parse_debug1(text):
    """({physical stack: count}, total, {physical stack: [(function, file:line)]}).
    parkwatch's stackless goroutines count as the stack ('[running]',); a
    goroutine in a syscall must have its stack, as in the runtime's.  Read
    off parse_groups."""
    groups, lines_of = {}, {}
    parsed, total = parse_groups(text)
    for g in parsed:
        if g.status is not None:
            check(g.status != "syscall", f"goroutines in a syscall without a stack: {g.count}")
            key, places = (f"[{g.status}]",), []
        else:
            key = physical([(name, pc - off) for pc, name, off, _ in g.frames])
            places = [(name, place) for _, name, _, place in g.frames]
        groups[key] = groups.get(key, 0) + g.count
        lines_of.setdefault(key, places)
    return groups, total, lines_of


HEADER2 = re.compile(r"^goroutine (\d+) \[([^\]]*)\]:$")


def parse_debug2(text):
    """{goid: (reason, physical stack, entry lines)}: the reason without its
    ', N minutes' and ', locked to thread'; the stack's physical frames are
    those printed with +0x; the entry's lines without the arguments
    (parse_goroutines' Goroutine.lines)."""
    out = {}
    for goid, g in parse_goroutines(text).items():
        reason = g.reason.replace(" (scan)", "")
        stack = tuple(name for name, place in g.frames if " +0x" in place)
        check(reason != "syscall" or stack, f"goroutine {goid} in a syscall without a stack")
        out[goid] = (reason, stack, tuple(g.lines))
    return out


def shown_in_traceback(name):
    """Go's default traceback: names with a dot, runtime.* only when exported."""
    if "." not in name:
        return False
    if not name.startswith("runtime."):
        return True
    return name[8:9].isupper()


# ------------------------------------------------------------------ exact
#
# The release matrix (test_go_matrix.py) compares the dumps as printed:
# every frame, inlined ones too, with its file:line and +0x; the elision
# lines of deep stacks; created-by with "in goroutine N"; and in debug=1
# every "N @ pc..." and "#" line.  Only the runtime's argument words are
# left out (parkwatch doesn't print them).

class Goroutine:
    """One goroutine of a debug=2 dump.

    status     the text between the header's brackets ("chan receive,
               locked to thread", "select, 3 minutes")
    frames     [(function, place)], leaf first: function without its
               arguments, place "/file.go:LINE +0xOFF" (no +0x for an
               inlined frame) as printed after the tab
    lines      every line after the header as printed, arguments dropped:
               frames, "...N frames elided...", "created by ..." and its
               place, "\tgoroutine running on other thread; ..." and the like
    created_by ("created by F in goroutine N", place) or None
    waiting    parkwatch's "\twaiting on channel ..." line under the header
               (what the goroutine waits on; the runtime prints none), or
               None: not one of the lines
    """

    def __init__(self, goid, status):
        self.goid, self.status = goid, status
        self.frames, self.lines, self.created_by, self.waiting = [], [], None, None

    @property
    def reason(self):
        return self.status.split(",")[0]

    @property
    def minutes(self):
        m = re.search(r", (\d+) minutes", self.status)
        return int(m.group(1)) if m else None

    def key(self):
        """What two dumps must agree on: the status and every line."""
        return (self.status,) + tuple(self.lines)

    def created_in(self, prefix):
        """Whether its created-by names a function starting with PREFIX."""
        return bool(self.created_by) and self.created_by[0].startswith("created by " + prefix)


def without_arguments(line):
    return re.sub(r"\([^()]*\)$", "", line)


def parse_goroutines(text):
    """{goid: Goroutine}, in the order of the dump."""
    out, cur = {}, None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = HEADER2.match(line)
        if m:
            cur = Goroutine(int(m.group(1)), m.group(2))
            out[cur.goid] = cur
        elif not line.strip():
            cur = None
        elif cur is not None:
            place = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("\t") else None
            if line.startswith("\twaiting ") and not cur.lines:
                cur.waiting = line[1:]
            elif line.startswith("created by ") and place is not None:
                cur.created_by = (line, place[1:])
                cur.lines += [line, place]
                i += 1
            elif line.startswith("\t") or line.startswith("...") or place is None:
                cur.lines.append(line)
            else:
                name = without_arguments(line)
                cur.frames.append((name, place[1:]))
                cur.lines += [name, place]
                i += 1
        i += 1
    return out


def goroutine_difference(ours, theirs):
    """None when OURS (parkwatch's Goroutine) prints as THEIRS (the
    runtime's), else (kind, detail): the first thing that differs."""
    if ours is None:
        return "missing", f"goroutine {theirs.goid} [{theirs.status}] not in the dump"
    if ours.status != theirs.status:
        return "status", f"[{ours.status}] vs runtime [{theirs.status}]"
    if theirs.frames and not ours.frames:
        return "no stack", " / ".join(l.strip() for l in ours.lines if not l.startswith("created by"))[:120]
    our_names = [f for f, _ in ours.frames]
    their_names = [f for f, _ in theirs.frames]
    if our_names != their_names:
        elisions = [l for l in theirs.lines if l.startswith("...")]
        if elisions != [l for l in ours.lines if l.startswith("...")]:
            kind = "deep stack elided otherwise"
        elif [generic_base(f) for f in our_names] == [generic_base(f) for f in their_names]:
            kind = "generic function names"
        elif any("+0x" not in p and f not in our_names for f, p in theirs.frames):
            kind = "inlined frames missing"
        else:
            kind = "frames"
        return kind, first_line_difference(ours.lines, theirs.lines)
    if ours.frames != theirs.frames:
        return "file:line", first_line_difference(ours.lines, theirs.lines)
    if ours.created_by != theirs.created_by:
        return "created by", f"{ours.created_by} vs runtime {theirs.created_by}"
    if ours.lines != theirs.lines:
        return "other lines", first_line_difference(ours.lines, theirs.lines)
    return None


def generic_base(name):
    """A function name without its type arguments: main.f[...] and
    main.f[go.shape.int] are both main.f."""
    return re.sub(r"\[.*\]", "", name)


def first_line_difference(ours, theirs):
    for n, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            return f"line {n + 1}: {a.strip()!r} vs runtime {b.strip()!r}"
    return f"{len(ours)} lines vs runtime {len(theirs)}"


class Group:
    """One group of a debug=1 dump: COUNT goroutines with the stack PCS (the
    "N @ ..." line, as integers); LINES, its "#" lines as printed (labels
    included), runs of tabs as one; FRAMES, (pc, function, offset, place) per "#" frame line.
    parkwatch's "# N [status]: stack unavailable" is a group with no pcs and
    that STATUS.  OBJECTS: parkwatch's "# blocked on ..." and "# objects: N
    distinct" lines (what the goroutines wait on), not among LINES: the
    runtime prints none."""

    def __init__(self, count, pcs, status=None):
        self.count, self.pcs, self.status = count, tuple(pcs), status
        self.lines, self.frames, self.objects = [], [], []

    def key(self):
        return (self.count, self.pcs, self.status) + tuple(self.lines)

    def functions(self):
        return [f for _, f, _, _ in self.frames]


def parse_groups(text):
    """([Group], total) of a debug=1 dump, groups in the order printed."""
    groups, total, cur = [], None, None
    for line in text.splitlines():
        m = re.match(r"^goroutine profile: total (\d+)$", line)
        if m:
            total = int(m.group(1))
            continue
        if GROUP1.match(line):
            count, pcs = line.split(" @ ", 1)
            cur = Group(int(count), (int(pc, 16) for pc in pcs.split()))
            groups.append(cur)
            continue
        m = STACKLESS1.match(line)
        if m:
            groups.append(Group(int(m.group(1)), (), m.group(2)))
            cur = None
            continue
        if cur is not None and OBJECTS1.match(line):
            cur.objects.append(line)
        elif cur is not None and line.startswith("#"):
            # the runtime aligns the columns with tabs: one tab is one tab
            cur.lines.append(re.sub(r"\t+", "\t", line))
            m = FRAME1.match(line)
            if m:
                cur.frames.append((int(m.group(1), 16), m.group(2), int(m.group(3), 16), m.group(4)))
        elif not line.strip():
            cur = None
    check(total is not None, "no 'goroutine profile: total N' line")
    return groups, total


def group_difference(ours, theirs):
    """None when the group OURS prints as THEIRS, else (kind, detail)."""
    if ours is None:
        return "missing", f"{theirs.count} @ {len(theirs.pcs)} pcs ({' <- '.join(theirs.functions()[:3])})"
    if ours.count != theirs.count:
        return "count", f"{ours.count} vs runtime {theirs.count}"
    if ours.lines != theirs.lines:
        return "# lines", first_line_difference(ours.lines, theirs.lines)
    if ours.pcs != theirs.pcs:
        return "pcs", f"{' '.join(hex(p) for p in ours.pcs)[:80]} vs runtime " \
                      f"{' '.join(hex(p) for p in theirs.pcs)[:80]}"
    return None
