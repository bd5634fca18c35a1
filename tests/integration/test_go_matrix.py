# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Goroutine mode on every Go release and build flavour, goroutine by
goroutine against the runtime's own dumps.

The Makefile builds tests/targets/go/shapes with every release of its
GO_RELEASES (1.19 from golang-go, the others fetched from Debian by
tools/go_toolchains.sh) in every flavour of GO_FLAVOURS: with DWARF,
-ldflags=-w, -ldflags='-s -w', -buildmode=pie and with cgo.  One test per
release (go_matrix_1.21, ...) runs each of its flavours once, a cell:

  * the target starts and the runtime's debug=2 is polled until every
    goroutine it created is parked (none runnable, one running: the one
    serving the request);
  * runtime debug=2, `parkwatch -p PID --dump`, runtime debug=2 again, then
    the same with debug=1 and `--dump --debug 1`: the goroutines whose
    entries the two runtime dumps agree on are the ones compared, each
    line for line (status with `[N minutes]` and `locked to thread`,
    frames with inlined ones, file:line +0x, elisions, created by ... in
    goroutine N); the debug=1 groups with their counts, "N @" PCs and "#"
    lines, and their order;
  * `--dump --threads`: every thread frame named.

The goroutines of the HTTP server that serve the runtime's dumps (created
by net/http) are the oracle's own and are left out on both sides; any other
goroutine that moves between the two runtime dumps fails the cell (the
target is built to be quiescent).  A cell passes with >= 99 % of the
goroutines identical, every goroutine id present, every [syscall]
goroutine with its stack, no goroutine the runtime doesn't show, debug=1
equal and every thread frame named.

Each cell prints a line; the matrix goes to build/go_matrix.txt (one block
per release, from build/go_matrix/RELEASE.txt, stamped with its run), with
both sides of every failing cell in build/go_matrix/.
"""

import functools
import http.client
import os
import re
import time

from pwtest import BUILD, PARKWATCH, Fail, check, gotargets, poll
from pwtest.oracles.goruntime import (goroutine_difference, group_difference, parse_goroutines,
                                      parse_groups)
from pwtest.parkwatch import need_parkwatch, quiet, run_pw
from pwtest.procs import Target
from pwtest.runner import test

TARGET = "shapes"
READY_TIMEOUT = 60.0
QUIET_TIMEOUT = 30.0       # seconds for the shapes' goroutines to park
HTTP_TIMEOUT = 60.0
PW_TIMEOUT = 120.0
IDENTICAL_MIN = 0.99
QUIESCENT_RETRIES = 2       # cells taken again when the runtime's own dumps moved
MATRIX_DIR = os.path.join(BUILD, "go_matrix")
MATRIX_FILE = os.path.join(BUILD, "go_matrix.txt")
# debug=1 frames of the goroutines that serve the oracle's own requests
SERVING = ("net/http.(*conn).serve", "net/http.(*connReader).backgroundRead",
           "net/http.(*connReader).startBackgroundRead")


RELEASES = gotargets.RELEASES
FLAVOURS = gotargets.makefile_list("GO_FLAVOURS")


def binary(release, flavour):
    return gotargets.binary(release, TARGET + ("" if flavour == "dwarf" else f"-{flavour}"))


def build_release(release):
    """make the release's binaries (fetching its toolchain if need be)."""
    gotargets.make([binary(release, f) for f in FLAVOURS])


def release_version(release):
    """go1.X.Y the release's binaries were built with."""
    return gotargets.version(release)


# ----------------------------------------------------------------- the target

class Shapes(Target):
    """The shapes target, its pprof read over one keep-alive connection: the
    goroutine serving it stays the same from one dump to the next."""

    def __init__(self, path):
        super().__init__(os.path.basename(path), "-port", "0", path=path)
        self.conn = None
        self.created = None

    def __enter__(self):
        try:
            ready = self.wait_ready(READY_TIMEOUT)
            self.created = ready["goroutines"]
            self.conn = http.client.HTTPConnection("127.0.0.1", ready["port"],
                                                   timeout=HTTP_TIMEOUT)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.conn:
            self.conn.close()
        return super().__exit__(*exc)

    def text(self, path):
        try:
            self.conn.request("GET", path)
            resp = self.conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise Fail(f"GET {path}: {type(e).__name__}: {e}") from None
        check(resp.status == 200, f"GET {path}: status {resp.status}")
        return body.decode("utf-8", "replace")

    def wait_parked(self):
        """Until the runtime shows every goroutine the target created parked,
        and nothing runnable."""
        seen = {}

        def parked():
            gs = parse_goroutines(self.text("/debug/pprof/goroutine?debug=2"))
            ours = [g for g in gs.values() if not oracle_goroutine(g)]
            created = [g for g in ours if g.created_in("main.")]
            moving = [g for g in ours if g.reason in ("running", "runnable")]
            seen["last"] = f"{len(created)} of {self.created} created, moving {moving[:3]}"
            return len(created) == self.created and not moving

        poll(parked, QUIET_TIMEOUT, lambda: f"{self.name}: all goroutines parked ({seen['last']})")


def oracle_goroutine(g):
    """A goroutine of the HTTP server that serves the runtime's dumps."""
    return g.created_in("net/http.")


def oracle_group(g):
    """A debug=1 group of those, or a goroutine not started yet (only
    goexit: the runtime shows a new one so, with no frame to compare)."""
    return not g.frames or any(f.startswith(SERVING) for f in g.functions())


def shape_of(g):
    """The function that created G, main.startSends -> startSends; main for
    the main goroutine."""
    if not g.created_by:
        return "main" if g.goid == 1 else "?"
    name = g.created_by[0][len("created by "):].split(" in goroutine ")[0]
    return name[5:] if name.startswith("main.") else name


def dump(pid, *args):
    res = run_pw(["-p", pid, "--dump"] + list(args), timeout=PW_TIMEOUT)
    return res.rc, res.out, res.err


# ------------------------------------------------------------------- a cell

class Cell:
    """The comparison of one release x flavour; `problems` empty means it
    passes.  `kinds` counts the differences by kind, `examples` keeps one
    of each."""

    def __init__(self, release, flavour):
        self.release, self.flavour = release, flavour
        self.total = self.identical = self.present = 0
        self.syscalls = self.syscall_stacks = 0
        self.extra = self.moved = 0
        self.groups = self.groups_equal = 0
        self.debug1_equal = False
        self.threads = "-"
        self.kinds, self.examples, self.problems = {}, {}, []
        self.seconds = 0.0

    def differ(self, kind, detail, shape=None):
        """One difference of KIND; SHAPE, the function that created the
        goroutine, says which shapes it hits."""
        self.kinds.setdefault(kind, {})
        self.kinds[kind][shape] = self.kinds[kind].get(shape, 0) + 1
        self.examples.setdefault(kind, detail)

    def line(self):
        ident = f"{self.identical}/{self.total}"
        row = (f"{self.release:<5} {self.flavour:<9} identical {ident:>7}  "
               f"ids {self.present}/{self.total}  syscall {self.syscall_stacks}/{self.syscalls}  "
               f"debug1 {'equal' if self.debug1_equal else 'differs'} "
               f"({self.groups_equal}/{self.groups} groups)  threads {self.threads}  "
               f"{self.seconds:.1f}s  {'ok' if not self.problems else 'FAIL'}")
        details = []
        for kind, shapes in sorted(self.kinds.items()):
            n = sum(shapes.values())
            which = ", ".join(f"{s} {c}" for s, c in sorted(shapes.items()) if s)
            details.append(f"      {kind} x{n}{f' ({which})' if which else ''}: "
                           f"{self.examples[kind]}")
        details += [f"      {p}" for p in self.problems if p not in SUMMARISED]
        return "\n".join([row] + details)


# problems the kinds above them already detail
SUMMARISED = ("differences", "debug1 differs")


def keep(cell, tag, text):
    name = f"{cell.release}-{cell.flavour}.{tag}.txt"
    with open(os.path.join(MATRIX_DIR, name), "w") as f:
        f.write(text)


def compare_debug2(cell, before, ours, after):
    """Goroutine by goroutine: the runtime's entries that didn't change
    between BEFORE and AFTER against parkwatch's."""
    stable = {}
    for goid, g in before.items():
        if oracle_goroutine(g):
            continue
        if g.reason != "running" and goid in after and after[goid].key() == g.key():
            stable[goid] = g
        else:
            cell.moved += 1
    cell.moved += sum(1 for goid, g in after.items()
                      if goid not in before and not oracle_goroutine(g))
    cell.total = len(stable)
    for goid, theirs in stable.items():
        mine = ours.get(goid)
        cell.present += mine is not None
        if theirs.reason == "syscall":
            cell.syscalls += 1
            cell.syscall_stacks += bool(mine and mine.frames)
        diff = goroutine_difference(mine, theirs)
        if diff:
            cell.differ(diff[0], f"goroutine {goid}: {diff[1]}", shape_of(theirs))
        else:
            cell.identical += 1
    for goid in ours:
        if goid not in before and goid not in after:
            cell.extra += 1
            cell.differ("not in the runtime's dump", f"goroutine {goid} [{ours[goid].status}]")


def compare_debug1(cell, before, ours, after):
    """Group by group, "N @" PCs and "#" lines, and the groups' order."""
    (groups_b, total_b), (groups_o, total_o), (groups_a, _) = before, ours, after
    after_keys = {g.key() for g in groups_a}
    stable, moved = [], 0
    for g in groups_b:
        if oracle_group(g):
            continue
        if g.key() in after_keys:
            stable.append(g)
        else:
            moved += 1
    cell.moved += moved
    cell.groups = len(stable)
    mine = [g for g in groups_o if not oracle_group(g)]
    by_pcs = {g.pcs: g for g in mine}
    by_functions = {(g.count, tuple(g.functions())): g for g in mine}
    matched = set()
    for theirs in stable:
        ours_g = by_pcs.get(theirs.pcs) or by_functions.get((theirs.count, tuple(theirs.functions())))
        if ours_g is not None:
            matched.add(id(ours_g))
        diff = group_difference(ours_g, theirs)
        if diff:
            cell.differ(f"debug1 {diff[0]}", diff[1])
        else:
            cell.groups_equal += 1
    unmatched = [g for g in mine if id(g) not in matched]
    for g in unmatched:
        shown = f"[{g.status}]" if g.status else " <- ".join(g.functions()[:3])
        cell.differ("debug1 group not in the runtime's", f"{g.count} {shown}")
    # the totals, less the oracle's goroutines on either side
    oracle_b = sum(g.count for g in groups_b if oracle_group(g))
    oracle_o = sum(g.count for g in groups_o if oracle_group(g))
    if total_o - oracle_o != total_b - oracle_b:
        cell.differ("debug1 total", f"{total_o - oracle_o} vs runtime {total_b - oracle_b} "
                                    f"(less the HTTP server's)")
    order_o = [g.pcs for g in mine if g.pcs in {s.pcs for s in stable}]
    order_t = [g.pcs for g in stable if g.pcs in {m.pcs for m in mine}]
    if order_o != order_t:
        cell.differ("debug1 order", "the groups come in another order than the runtime's")
    cell.debug1_equal = (cell.groups_equal == cell.groups and not unmatched and
                         total_o - oracle_o == total_b - oracle_b and order_o == order_t)


# a named frame is "F(...)", an unnamed one "??()"; then the place
THREAD_FRAME = re.compile(r"^(\S+)\((?:\.\.\.)?\)\n\t(\S+?)(?::(\d+))?(?: \+0x[0-9a-f]+)?$", re.M)


def go_place(place, line):
    """Whether PLACE:LINE can be a Go function's: a .go or .s file, or the
    runtime's <autogenerated> for wrappers, and a line."""
    return bool(line) and place.endswith((".go", ".s", "<autogenerated>"))


def check_threads(cell, out):
    """--threads: every frame named, and every Go frame (a name with a dot:
    C's have none) with a Go file:line.  A stray return address past the
    last frame names no module ("??()\\n\\t? +0x...") and doesn't count."""
    frames = [(f, place, line) for f, place, line in THREAD_FRAME.findall(out)
              if not (f == "??" and place == "?")]
    unnamed = [place for f, place, _ in frames if f == "??"]
    go = [(f, place, line) for f, place, line in frames if "." in f and f != "??"]
    placed = [1 for _, place, line in go if go_place(place, line)]
    cell.threads = f"{len(frames) - len(unnamed)}/{len(frames)} named, " \
                   f"{len(placed)}/{len(go)} Go with file:line"
    if not frames:
        cell.problems.append("threads: no frame in --threads")
    if unnamed:
        cell.problems.append(f"threads: {len(unnamed)} frames without a name "
                             f"(in {', '.join(sorted(set(unnamed))[:3])})")
    if len(placed) < len(go):
        example = next(f"{f} {place}" for f, place, line in go
                       if not go_place(place, line))
        cell.problems.append(f"threads: {len(go) - len(placed)} Go frames without file:line "
                             f"(e.g. {example})")


def run_cell(release, flavour):
    cell = Cell(release, flavour)
    start = time.monotonic()
    with Shapes(binary(release, flavour)) as t:
        t.wait_parked()
        before = t.text("/debug/pprof/goroutine?debug=2")
        rc2, ours2, err2 = dump(t.pid)
        after = t.text("/debug/pprof/goroutine?debug=2")
        before1 = t.text("/debug/pprof/goroutine?debug=1")
        rc1, ours1, err1 = dump(t.pid, "--debug", "1")
        after1 = t.text("/debug/pprof/goroutine?debug=1")
        rct, threads, errt = dump(t.pid, "--threads", "--min-park", "0")
    cell.seconds = time.monotonic() - start
    for what, rc, err in (("--dump", rc2, err2), ("--dump --debug 1", rc1, err1),
                          ("--dump --threads", rct, errt)):
        if rc != 0 or not quiet(err):
            cell.problems.append(f"parkwatch {what}: exit {rc}: {err.strip()[:200]}")
    compare_debug2(cell, parse_goroutines(before), parse_goroutines(ours2),
                   parse_goroutines(after))
    try:
        compare_debug1(cell, parse_groups(before1), parse_groups(ours1), parse_groups(after1))
    except Fail as e:
        cell.problems.append(f"debug1: {e}")
    if rct == 0:
        check_threads(cell, threads)
    if cell.total == 0:
        cell.problems.append("no goroutine to compare")
    if cell.identical < IDENTICAL_MIN * cell.total:
        cell.problems.append("differences")
    if cell.present < cell.total:
        cell.problems.append(f"{cell.total - cell.present} goroutine ids missing")
    if cell.syscall_stacks < cell.syscalls:
        cell.problems.append(f"{cell.syscalls - cell.syscall_stacks} [syscall] goroutines "
                             f"without their stack")
    if cell.extra:
        cell.problems.append(f"{cell.extra} goroutines the runtime doesn't show")
    if not cell.debug1_equal:
        cell.problems.append("debug1 differs")
    if cell.moved:
        cell.problems.append(f"not quiescent: {cell.moved} goroutines or groups moved between "
                             f"the runtime's two dumps")
    if cell.problems:
        for tag, text in (("runtime.debug2", before), ("parkwatch.debug2", ours2),
                          ("runtime.debug1", before1), ("parkwatch.debug1", ours1),
                          ("parkwatch.threads", threads)):
            keep(cell, tag, text)
    return cell


# ----------------------------------------------------------------- the matrix

def write_matrix(release, version, rows):
    """build/go_matrix/RELEASE.txt, then build/go_matrix.txt from all of them."""
    os.makedirs(MATRIX_DIR, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with open(os.path.join(MATRIX_DIR, f"{release}.txt"), "w") as f:
        f.write(f"# {version}, {stamp}, {PARKWATCH}\n" + "".join(r + "\n" for r in rows))
    blocks = []
    for rel in RELEASES:
        path = os.path.join(MATRIX_DIR, f"{rel}.txt")
        if os.path.exists(path):
            with open(path) as f:
                blocks.append(f.read())
        else:
            blocks.append(f"# go{rel}: not run\n")
    with open(MATRIX_FILE, "w") as f:
        f.write("Go release matrix: tests/targets/go/shapes, parkwatch --dump against the "
                "runtime's debug=2 and debug=1\n(identical: goroutines line for line; ids: "
                "present in parkwatch's dump; syscall: [syscall] goroutines with their stack;\n"
                "debug1: groups with their counts, PCs and # lines; threads: --threads frames "
                "named)\n\n" + "\n".join(blocks))


def run_release(release):
    need_parkwatch()
    build_release(release)
    version = release_version(release)
    os.makedirs(MATRIX_DIR, exist_ok=True)
    rows, failing = [], []
    for flavour in FLAVOURS:
        try:
            cell = run_cell(release, flavour)
            # the runtime's own two dumps differed (a goroutine of its HTTP
            # server came or went): the oracle moved, not parkwatch; retaken
            for _ in range(QUIESCENT_RETRIES):
                if not cell.moved:
                    break
                cell = run_cell(release, flavour)
            rows.append(cell.line())
            if cell.problems:
                failing.append(flavour)
        except Fail as e:
            rows.append(f"{release:<5} {flavour:<9} error: {e}")
            failing.append(flavour)
    write_matrix(release, version, rows)
    report = f"{version}:\n" + "\n".join("  " + r for r in rows)
    check(not failing, f"{len(failing)} of {len(FLAVOURS)} cells fail "
                       f"({', '.join(failing)}); {report}")
    return report


for _release in RELEASES:
    test(f"go_matrix_{_release}")(functools.partial(run_release, _release))
