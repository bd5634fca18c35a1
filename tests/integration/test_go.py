# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Goroutine mode against the Go runtime's own view of itself.

Runs tests/targets/go/leaky as Go 1.19 (Debian's golang-go) builds it
(build/targets/go/1.19/leaky and its -nodwarf, -pie and -stripped builds:
make targets) and compares what `parkwatch -p PID --dump` prints for it
with what the program's net/http/pprof serves at the same moment:

  * --debug 1: goroutine counts per stack, the leaked stacks exactly, frame by
    frame (function and file:line); the rest within the churn of one request
    (the goroutines serving it);
  * --debug 2: goroutine counts per (wait reason, stack) and per wait reason;
    every leaked goroutine's entry line by line (frames, file:line +0x, created
    by), its goid included;
  * --format json, pprof (read by `go tool pprof`, next to the runtime's own
    profile) and folded: the same goroutines;
  * 10,000 goroutines per wait reason; 100,000: `parkwatch --dump` timed
    against the runtime's own debug=2 over HTTP;
  * a target that keeps creating goroutines (-churn): leaks exact, every time;
  * -ldflags=-w (no DWARF: the per-version layout table), -buildmode=pie (load
    bias); -ldflags='-s -w' (stripped) with --threads: its threads' frames
    named from .gopclntab (its goroutines: test_go_stripped.py);
    --threads and a non-Go process: the thread view;
  * live JSON with trends, --leaks and /metrics of a Go program.

PARKWATCH_GO_RELEASE=1.23 runs the same tests on another release of the
Makefile's GO_RELEASES: build/targets/go/1.23/leaky and its builds, made
(its toolchain fetched) when missing, and that release's `go tool pprof`.
`run.py --only go_` runs just these.
"""

import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.request

from pwtest import BUILD, NS, PARKWATCH, Fail, check, now, poll
from pwtest import docs, gotargets
from pwtest.oracles import gopprof, proc
from pwtest.oracles.goruntime import parse_debug1, parse_debug2, shown_in_traceback
from pwtest.oracles.promtool import parse_metrics
from pwtest.parkwatch import (Live, free_port, need_parkwatch, parse_json, parse_output, quiet,
                              run_pw, stderr_lines)
from pwtest.procs import Target, spawn, stop
from pwtest.runner import test

RELEASE = os.environ.get("PARKWATCH_GO_RELEASE") or "1.19"
VARIANTS = ("leaky", "leaky-nodwarf", "leaky-pie", "leaky-stripped")

READY_TIMEOUT = 60.0
HTTP_TIMEOUT = 60.0
PW_TIMEOUT = 120.0
LEAK_TIMEOUT = 10.0        # seconds for leaked goroutines to block, per the runtime
DUMP_BUDGET_S = 5.0        # parkwatch --dump of 100,000 goroutines, BPF load included

# What tests/targets/go/leaky/main.go leaks at start-up: leaf function -> count.
STARTUP_LEAKS = {
    "main.computeReply": 5,
    "main.collectReplies": 3,
    "main.queryStuckDependency": 3,
    "main.waitForWorkers": 2,
    "main.waitForLock": 3,
    "main.pollForever": 2,
}
LEAK_FUNCS = set(STARTUP_LEAKS) | {"main.awaitNotification", "main.parkedForever"}
# goroutines serving the oracle's own request (accept loop, conn.serve, its
# background read, the pprof writer) may be caught elsewhere by either side
CHURN = 4


# ------------------------------------------------------------------ building

def go_env():
    """The environment of the release's go command: the Makefile's go_env,
    GOPATH mode, caches under build/, no $HOME."""
    env = dict(os.environ)
    env.update(GO111MODULE="off", GOFLAGS="-buildvcs=false",
               GOCACHE=os.path.join(BUILD, f"gocache-{RELEASE}"),
               GOPATH=os.path.join(BUILD, "gopath"), GOENV="off", GOTOOLCHAIN="local",
               GOPROXY="off", CGO_ENABLED="0", HOME=BUILD)
    return env


def variant(name):
    """build/targets/go/RELEASE/NAME: leaky or one of its VARIANTS."""
    return gotargets.binary(RELEASE, name)


_built = {}


def ensure_built():
    """make the release's VARIANTS once per run; a failure fails every test
    with its reason."""
    if "error" in _built:
        raise Fail(_built["error"])
    if _built:
        return
    try:
        check(RELEASE in gotargets.RELEASES,
              f"PARKWATCH_GO_RELEASE={RELEASE}: not one of the Makefile's GO_RELEASES "
              f"{' '.join(gotargets.RELEASES)}")
        need_parkwatch()
        gotargets.make([variant(n) for n in VARIANTS])
        _built["ok"] = gotargets.version(RELEASE)
    except Fail as e:
        _built["error"] = str(e)
        raise


# ----------------------------------------------------------------- processes

class GoTarget(Target):
    """A leaky process, killed when the `with` block ends; its READY line
    gives the port its net/http/pprof listens on."""

    def __init__(self, *args, binary=None):
        binary = binary or variant("leaky")
        super().__init__(os.path.basename(binary), "-port", "0", *args, path=binary)
        self.port = None

    def __enter__(self):
        try:
            self.port = self.wait_ready(READY_TIMEOUT)["port"]
        except BaseException:
            self.__exit__()
            raise
        return self

    def get(self, path):
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as resp:
            return resp.read()

    def text(self, path):
        return self.get(path).decode("utf-8", "replace")

    def leak(self, n):
        """N requests to /leak, then until the runtime shows every goroutine
        they leaked blocked in its receive (not just created)."""
        before = self.blocked_leaks()
        for _ in range(n):
            self.get("/leak")
        counts = []

        def blocked():
            counts[:] = [self.blocked_leaks()]
            return counts[0] >= before + n

        poll(blocked, LEAK_TIMEOUT, lambda: f"{n} requests to /leak: {counts[0] - before} "
                                            f"leaked goroutines blocked in chan receive")

    def blocked_leaks(self):
        """awaitNotification goroutines the runtime shows blocked (debug=2)."""
        return sum(1 for reason, stack, _ in parse_debug2(self.text(
            "/debug/pprof/goroutine?debug=2")).values()
                   if reason == "chan receive" and leaf_leak(stack) == "main.awaitNotification")


def parkwatch(pid, *args):
    """parkwatch -p PID --dump ARGS, to completion."""
    return run_pw(["-p", pid, "--dump"] + list(args), timeout=PW_TIMEOUT)


def dump_ok(pid, *args):
    """stdout of a parkwatch dump that must succeed quietly."""
    res = parkwatch(pid, *args)
    check(res.rc == 0, f"parkwatch {' '.join(map(str, args))}: exit {res.rc}: "
                       f"{res.err.strip()[:300]}")
    check(quiet(res.err), f"parkwatch {' '.join(map(str, args))}: stderr "
                               f"{res.err.strip()[:300]!r}")
    return res.out


def at_once(target, path, *pw_args):
    """The runtime's page and parkwatch's dump, taken at the same moment."""
    result = {}

    def fetch():
        try:
            result["runtime"] = target.text(path)
        except OSError as e:
            result["error"] = f"GET {path}: {e}"

    thread = threading.Thread(target=fetch)
    thread.start()
    try:
        ours = dump_ok(target.pid, *pw_args)
    finally:
        thread.join()
    check("error" not in result, result.get("error", ""))
    return result["runtime"], ours


def go_pprof(args, path):
    """`go tool pprof ARGS PATH` of the toolchain under test, reading only
    what the file holds."""
    return gopprof.run(args, path, go=gotargets.toolchain(RELEASE),
                       env=dict(go_env(), PPROF_TMPDIR=tempfile.gettempdir()))


# ------------------------------------------------------------------- leaks

def by_key(entries, key):
    counts = {}
    for e in entries:
        k = key(e)
        counts[k] = counts.get(k, 0) + 1
    return counts


def leaf_leak(stack):
    for name in stack:
        if name in LEAK_FUNCS:
            return name
    return None


def leak_counts(groups):
    """{leak function: count} from {stack: count}."""
    out = {}
    for stack, n in groups.items():
        leak = leaf_leak(stack)
        if leak:
            out[leak] = out.get(leak, 0) + n
    return out


def group_leaks(groups):
    """{leak function: count} of the groups of a JSON document."""
    leaks = {}
    for grp in groups:
        leak = leaf_leak(tuple(f.get("function") for f in grp["frames"]))
        if leak:
            leaks[leak] = leaks.get(leak, 0) + grp["count"]
    return leaks


def diff_text(ours, theirs, limit=8):
    rows = []
    for key in sorted(set(ours) | set(theirs), key=str):
        if ours.get(key, 0) != theirs.get(key, 0):
            rows.append(f"{'/'.join(key) if isinstance(key, tuple) else key}: "
                        f"ours {ours.get(key, 0)} runtime {theirs.get(key, 0)}")
    return "; ".join(rows[:limit]) + (" ..." if len(rows) > limit else "")


def churn_of(ours, theirs):
    """Goroutines outside the leaks seen in another group (or not at all) on
    the other side: one that moved leaves a group and joins another, so the
    differences count it twice."""
    diff = sum(abs(ours.get(k, 0) - theirs.get(k, 0)) for k in set(ours) | set(theirs)
               if not leaf_leak(k if isinstance(k, tuple) else ()))
    return (diff + 1) // 2


def keep_texts(tag, runtime_text, ours_text):
    """Both sides of the last comparison, for whoever reads a failure."""
    for side, text in (("runtime", runtime_text), ("parkwatch", ours_text)):
        with open(os.path.join(BUILD, f"go_oracle.{tag}.{side}.txt"), "w") as f:
            f.write(text)


def compare_debug1(target, extra_leaks, lines_checked=True):
    runtime_text, ours_text = at_once(target, "/debug/pprof/goroutine?debug=1", "--debug", "1")
    keep_texts("debug1", runtime_text, ours_text)
    theirs, their_total, their_lines = parse_debug1(runtime_text)
    ours, our_total, our_lines = parse_debug1(ours_text)
    expect = dict(STARTUP_LEAKS)
    expect.update(extra_leaks)
    ours_leaks, their_leaks = leak_counts(ours), leak_counts(theirs)
    check(ours_leaks == their_leaks, f"leaked groups differ: {diff_text(ours_leaks, their_leaks)}")
    check(ours_leaks == expect, f"leaked groups: ours {ours_leaks}, target created {expect}")
    for stack in ours:
        if lines_checked and leaf_leak(stack):
            # frame by frame: functions (inlined ones too) and file:line
            check(our_lines[stack] == their_lines.get(stack),
                  f"{leaf_leak(stack)}: # lines {our_lines[stack]} vs runtime "
                  f"{their_lines.get(stack)}")
    if lines_checked:
        unplaced = [(f, at) for stack in ours for f, at in our_lines[stack]
                    if not re.match(r"^/\S+:[1-9]\d*$", at)]
        check(not unplaced, f"# lines without file:line: {unplaced[:5]}")
    churn = churn_of(ours, theirs)
    check(churn <= CHURN, f"other groups differ by {churn} goroutines: {diff_text(ours, theirs)}")
    check(abs(our_total - their_total) <= CHURN, f"total {our_total} vs runtime {their_total}")
    return our_total, their_total, churn


# pollForever's ticker wakes it every 500 ms: the two dumps, taken at once
# but each over a while (100,000 goroutines: most of a second), may catch it
# waiting on one side and runnable on the other
TICKING = {"main.pollForever"}


def leak_key(entry):
    """A debug=2 entry's (reason, stack...), the reason left out ("*") for a
    goroutine that wakes by itself."""
    reason, stack = entry[0], entry[1]
    return ("*" if leaf_leak(stack) in TICKING else reason,) + stack


def compare_debug2(target):
    """Per (reason, stack) and per reason; leaked goroutines entry by entry."""
    runtime_text, ours_text = at_once(target, "/debug/pprof/goroutine?debug=2")
    keep_texts("debug2", runtime_text, ours_text)
    theirs, ours = parse_debug2(runtime_text), parse_debug2(ours_text)
    check(ours, "parkwatch --dump printed no goroutine")
    per_stack_t = by_key(theirs.values(), leak_key)
    per_stack_o = by_key(ours.values(), leak_key)
    leaks_t = {k: v for k, v in per_stack_t.items() if leaf_leak(k[1:])}
    leaks_o = {k: v for k, v in per_stack_o.items() if leaf_leak(k[1:])}
    check(leaks_o == leaks_t, f"leaked (reason, stack) groups differ: {diff_text(leaks_o, leaks_t)}")
    reasons_t = by_key(theirs.values(), lambda e: e[0])
    reasons_o = by_key(ours.values(), lambda e: e[0])
    churn = (sum(abs(reasons_o.get(r, 0) - reasons_t.get(r, 0))
                 for r in set(reasons_o) | set(reasons_t)) + 1) // 2
    check(churn <= CHURN, f"wait reasons differ by {churn}: {diff_text(reasons_o, reasons_t)}")
    # the same goroutines, printed the same way
    goids_t = {g for g, e in theirs.items() if leaf_leak(e[1])}
    goids_o = {g for g, e in ours.items() if leaf_leak(e[1])}
    check(goids_o == goids_t, f"leaked goids differ: {sorted(goids_o ^ goids_t)[:10]}")
    for goid in sorted(goids_o):
        check(ours[goid][2] == theirs[goid][2],
              f"goroutine {goid}: {list(ours[goid][2])} vs runtime {list(theirs[goid][2])}")
    return theirs, ours, reasons_o, reasons_t


# --------------------------------------------------------------------- --dump

@test
def test_go_debug1_stacks():
    ensure_built()
    with GoTarget() as t:
        t.leak(7)
        ours, theirs, churn = compare_debug1(t, {"main.awaitNotification": 7})
    return (f"{_built['ok']}: total {ours} vs runtime {theirs}, leaked stacks exact with "
            f"file:line, other groups within {churn}")


@test
def test_go_debug2_wait_reasons():
    ensure_built()
    with GoTarget() as t:
        t.leak(4)
        theirs, ours, reasons_o, reasons_t = compare_debug2(t)
    leaked = sum(1 for e in ours.values() if leaf_leak(e[1]))
    return (f"{leaked} leaked goroutines line for line; " +
            ", ".join(f"{r or '(none)'} {reasons_o.get(r, 0)}/{reasons_t.get(r, 0)}"
                      for r in sorted(set(reasons_o) | set(reasons_t))))


@test
def test_go_json():
    ensure_built()
    with GoTarget() as t:
        t.leak(3)
        runtime_text, ours_text = at_once(t, "/debug/pprof/goroutine?debug=2", "--format", "json")
    lines = [l for l in ours_text.splitlines() if l.strip()]
    check(len(lines) == 1, f"--format json: {len(lines)} lines, expected one document")
    doc, _ = parse_json(lines[0], "--format json", docs.PICTURE)
    theirs = parse_debug2(runtime_text)
    check(docs.go_pid(doc) == t.pid, f"pid {docs.go_pid(doc)}, expected {t.pid}")
    check(re.match(r"^go1\.\d+", docs.go_version(doc)), f"go_version {docs.go_version(doc)!r}")
    users = [g for g in docs.goroutines(doc) if not g["goroutine"]["system"]]
    check(docs.goroutines_total(doc) == len(users),
          f"goroutines_total {docs.goroutines_total(doc)} but {len(users)} user goroutines listed")
    check(abs(len(users) - len(theirs)) <= CHURN, f"{len(users)} goroutines vs runtime {len(theirs)}")
    check(sum(g["count"] for g in docs.groups(doc)) == len(users),
          f"groups hold {sum(g['count'] for g in docs.groups(doc))} of {len(users)} goroutines")
    by_goid = {g["id"]: g for g in users}
    leaked = [goid for goid, e in theirs.items() if leaf_leak(e[1])]
    check(len(leaked) == sum(STARTUP_LEAKS.values()) + 3, f"{len(leaked)} leaked in the runtime's dump")
    for goid in leaked:
        g = by_goid.get(goid)
        check(g, f"leaked goroutine {goid} missing from the JSON")
        reason, stack, entry = theirs[goid]
        extras = g["goroutine"]
        check(extras["status"] == "waiting" and extras["wait_reason"] == reason
              and g["reason"] == reason,
              f"goroutine {goid}: {extras['status']}/{extras['wait_reason']}, runtime says {reason}")
        for f in g["frames"]:
            for key in ("address", "function", "file", "line", "inlined"):
                check(key in f, f"goroutine {goid}: frame {f} lacks {key}")
        shown = [f["function"] for f in g["frames"]
                 if shown_in_traceback(f["function"]) and not f["inlined"]]
        check(tuple(shown) == stack, f"goroutine {goid}: frames {shown} vs runtime {list(stack)}")
        created = [l for l in entry if l.startswith("created by ")]
        want = created[0].split()[2] if created else None
        check(extras["created_by"] == want,
              f"goroutine {goid}: created_by {extras['created_by']!r}, runtime {want!r}")
    groups = group_leaks(docs.groups(doc))
    want = dict(STARTUP_LEAKS, **{"main.awaitNotification": 3})
    check(groups == want, f"JSON groups {groups}, expected {want}")
    return (f"{len(users)} goroutines ({docs.go_version(doc)}), {len(leaked)} leaked ones field "
            f"by field")


@test
def test_go_pprof():
    ensure_built()
    with GoTarget() as t, tempfile.TemporaryDirectory(prefix="pw-go-") as d:
        t.leak(2)
        ours = os.path.join(d, "ours.pb.gz")
        theirs = os.path.join(d, "runtime.pb.gz")
        dump_ok(t.pid, "--format", "pprof", "-o", ours)
        with open(theirs, "wb") as f:
            f.write(t.get("/debug/pprof/goroutine?debug=0"))
        raw_o = gopprof.parse_raw(go_pprof(["-raw"], ours))
        raw_t = gopprof.parse_raw(go_pprof(["-raw"], theirs))
        for field in ("PeriodType", "Period"):
            mo, mt = raw_o.header.get(field), raw_t.header.get(field)
            check(mo is not None and mo == mt, f"{field}: ours {mo!r}, runtime {mt!r}")
        check(raw_o.sample_types == raw_t.sample_types == "goroutine/count",
              f"sample types: ours {raw_o.sample_types!r}, runtime {raw_t.sample_types!r}")
        traces_o = gopprof.parse_traces(go_pprof(["-traces"], ours))
        traces_t = gopprof.parse_traces(go_pprof(["-traces"], theirs))
        top = gopprof.parse_top(go_pprof(["-top"], ours))
    leaks_o, leaks_t = {}, {}
    for traces, leaks in ((traces_o, leaks_o), (traces_t, leaks_t)):
        for tr in traces:
            leak = leaf_leak(tr.names)
            if leak:
                leaks[leak] = leaks.get(leak, 0) + tr.count
    want = dict(STARTUP_LEAKS, **{"main.awaitNotification": 2})
    check(leaks_o == leaks_t == want, f"leaks in the profiles: ours {leaks_o}, runtime {leaks_t}")
    total_o, total_t = sum(tr.count for tr in traces_o), sum(tr.count for tr in traces_t)
    check(abs(total_o - total_t) <= CHURN, f"{total_o} goroutines vs runtime profile {total_t}")
    check(all(tr.labels.get("reason") and tr.labels.get("pid") == str(t.pid) for tr in traces_o),
          f"samples without reason/pid labels: {[tr.labels for tr in traces_o][:3]}")
    check(top.type == "goroutine", f"-top: no `Type: goroutine`: {top.type!r}")
    return f"{total_o} goroutines vs runtime profile {total_t}; same sample and period types"


@test
def test_go_folded():
    ensure_built()
    with GoTarget() as t:
        t.leak(1)
        runtime_text, ours_text = at_once(t, "/debug/pprof/goroutine?debug=1",
                                          "--format", "folded")
    _, their_total, _ = parse_debug1(runtime_text)
    leaks, total = {}, 0
    for line in ours_text.splitlines():
        m = re.match(r"^(\S.*;)?\[([^\]]+)\] (\d+)$", line)
        check(m, f"folded line is not `ROOT;...;LEAF;[reason] N`: {line!r}")
        names = (m.group(1) or "").rstrip(";").split(";")
        total += int(m.group(3))
        leak = leaf_leak(tuple(reversed(names)))
        if leak:
            leaks[leak] = leaks.get(leak, 0) + int(m.group(3))
    check(ours_text.splitlines() == sorted(ours_text.splitlines()), "folded lines not sorted")
    want = dict(STARTUP_LEAKS, **{"main.awaitNotification": 1})
    check(leaks == want, f"folded leaks {leaks}, expected {want}")
    check(abs(total - their_total) <= CHURN, f"folded total {total} vs runtime {their_total}")
    return f"{len(ours_text.splitlines())} lines, {total} goroutines vs runtime {their_total}"


@test
def test_go_leaks_grow():
    ensure_built()
    with GoTarget() as t:
        before, _, _ = parse_debug1(dump_ok(t.pid, "--debug", "1"))
        t.leak(25)
        after, _, _ = parse_debug1(dump_ok(t.pid, "--debug", "1"))
    grown = leak_counts(after).get("main.awaitNotification", 0) - \
        leak_counts(before).get("main.awaitNotification", 0)
    check(grown == 25, f"awaitNotification grew by {grown}, expected 25")
    return "25 requests to /leak: +25 awaitNotification"


@test
def test_go_moving_target():
    ensure_built()
    dropped = []
    with GoTarget("-churn") as t:
        for i in range(10):
            res = parkwatch(t.pid, "--format", "json")
            check(res.rc == 0, f"--format json, dump {i + 1}: exit {res.rc}: {res.err.strip()[:300]}")
            doc = parse_output(res.out, f"--format json, dump {i + 1}", docs.PICTURE)
            leaks = group_leaks(docs.groups(doc))
            check(leaks == STARTUP_LEAKS, f"leaks while churning: {leaks}")
            dropped.append(docs.dropped(doc))
            # the only thing said on stderr is the give-up line, and it
            # counts exactly the goroutines the picture says it dropped
            said = re.fullmatch(r"parkwatch: gave up: (\d+) goroutines? left out "
                                r"\(changed under every read\)",
                                "\n".join(stderr_lines(res.err)))
            check(said is not None if dropped[-1] else quiet(res.err),
                  f"dump {i + 1}: {dropped[-1]} dropped, stderr {res.err.strip()[:300]!r}")
            if said:
                check(int(said.group(1)) == dropped[-1],
                      f"dump {i + 1}: gave up on {said.group(1)}, JSON says {dropped[-1]} dropped")
        their_total = parse_debug1(t.text("/debug/pprof/goroutine?debug=1"))[1]
    return f"10 dumps while ~{their_total} goroutines churn: leaks exact, dropped per dump {dropped}"


def many(n):
    ensure_built()
    with GoTarget("-n", n) as t:
        ours, theirs, churn = compare_debug1(t, {"main.parkedForever": n})
        _, _, reasons_o, reasons_t = compare_debug2(t)
        # end to end, BPF load included, against the runtime's own full dump
        runs = []
        for _ in range(3):
            start = now()
            with open(os.devnull, "wb") as devnull:
                cp = subprocess.run([PARKWATCH, "-p", str(t.pid), "--dump"],
                                    stdin=subprocess.DEVNULL, stdout=devnull,
                                    stderr=subprocess.PIPE, timeout=PW_TIMEOUT)
            runs.append(now() - start)
            check(cp.returncode == 0, f"parkwatch --dump: exit {cp.returncode}: "
                                      f"{cp.stderr.decode('utf-8', 'replace').strip()[:300]}")
        start = now()
        size = len(t.get("/debug/pprof/goroutine?debug=2"))
        runtime_s = now() - start
    best = min(runs)
    report = (f"./parkwatch -p PID --dump > /dev/null {best * 1000:.0f} ms (best of 3: "
              f"{', '.join(f'{r * 1000:.0f}' for r in runs)}); runtime debug=2 over HTTP "
              f"{runtime_s * 1000:.0f} ms ({size // 1024} KiB); per wait reason "
              + ", ".join(f"{r} {reasons_o.get(r, 0)}/{reasons_t.get(r, 0)}"
                          for r in sorted(set(reasons_o) | set(reasons_t))))
    check(best <= DUMP_BUDGET_S, f"parkwatch --dump of {n} goroutines took {best:.1f} s")
    return report


@test
def test_go_10k_goroutines():
    return many(10_000)


@test
def test_go_100k_goroutines():
    return many(100_000)


@test("go_no_dwarf_table")
def test_go_no_dwarf():
    ensure_built()
    with GoTarget(binary=variant("leaky-nodwarf")) as t:
        # no DWARF, no file:line: names and counts from .symtab and the layout table
        ours, theirs, churn = compare_debug1(t, {}, lines_checked=False)
    return f"-ldflags=-w: total {ours} vs runtime {theirs}, leaks exact"


@test
def test_go_pie():
    ensure_built()
    with GoTarget(binary=variant("leaky-pie")) as t:
        ours, theirs, churn = compare_debug1(t, {})
    return f"-buildmode=pie: total {ours} vs runtime {theirs}, leaked stacks exact with file:line"


def thread_view(res, pid, what):
    check(res.rc == 0, f"{what}: exit {res.rc}: {res.err.strip()[:300]}")
    check(re.match(r"^parkwatch \S+: \d+ threads? in 1 process", res.out),
          f"{what}: not the thread view: {res.out[:200]!r}")
    check(re.search(rf"^process {pid} \(", res.out, re.M), f"{what}: no process {pid} header")
    check(re.search(r"^thread \d+ \"[^\"\n]*\" \[", res.out, re.M), f"{what}: no thread entries")
    check("goroutine " not in res.out, f"{what}: goroutines in the thread view")


@test("go_stripped_threads")
def test_go_stripped():
    ensure_built()
    with GoTarget(binary=variant("leaky-stripped")) as t:
        # --min-park 0: every parked thread's stack, however briefly parked;
        # its goroutines are test_go_stripped.py's
        res = parkwatch(t.pid, "--threads", "--min-park", "0")
    thread_view(res, t.pid, "stripped Go binary")
    check(quiet(res.err), f"stripped Go binary: stderr {res.err.strip()!r}")
    # no .symtab, no DWARF: the frames are named from .gopclntab, with the
    # runtime's file:line, as a traceback of the process would show them
    functions = re.findall(r"^(\S+)\(\.\.\.\)\n\t(\S+):(\d+) \+0x[0-9a-f]+$", res.out, re.M)
    # (a stray return address past the last frame names no module: "??()\n\t?")
    unnamed = [m for m in re.findall(r"^\?\?\(\)\n\t(\S+) ", res.out, re.M) if m != "?"]
    check(not unnamed, f"stripped Go binary: unnamed frames in {unnamed[:3]}: {res.out[:2000]!r}")
    check(any(name == "runtime.futex" and file.endswith("/runtime/sys_linux_amd64.s")
              for name, file, _ in functions),
          f"stripped Go binary: no runtime.futex frame with its file in {res.out[:2000]!r}")
    check(any(name.startswith("runtime.") and file.endswith(".go") and int(line) > 0
              for name, file, line in functions),
          f"stripped Go binary: no runtime frame with a .go file:line in {res.out[:2000]!r}")
    return f"--threads: {len(functions)} frames named from .gopclntab"


@test
def test_go_threads_flag():
    ensure_built()
    with GoTarget() as t:
        res = parkwatch(t.pid, "--threads")
        goroutines = dump_ok(t.pid)
    thread_view(res, t.pid, "--threads")
    check(quiet(res.err), f"--threads: stderr {res.err.strip()!r}")
    check(goroutines.startswith("goroutine "), f"without --threads: {goroutines[:100]!r}")
    return "--threads: the thread view of a Go program; without it, its goroutines"


@test
def test_go_not_go():
    ensure_built()
    sleeper = spawn(["sleep", "30"])
    try:
        # until the child is sleep(1) itself, asleep, no longer the forked Python
        poll(lambda: proc.comm(sleeper.pid) == "sleep" and
             proc.syscall(sleeper.pid, sleeper.pid)[0] == "S", 5,
             "sleep 30 not asleep")
        res = parkwatch(sleeper.pid)
    finally:
        stop(sleeper)
    thread_view(res, sleeper.pid, "sleep")
    check(quiet(res.err), f"sleep: stderr {res.err.strip()!r}")
    return "sleep: the thread view, nothing on stderr"


# ------------------------------------------------- goroutine mode beyond --dump

LEAK_DRIVE_S = 40.0
LEAK_RATE_HZ = 10.0


class LeakDriver:
    """GET /leak about LEAK_RATE_HZ times a second until stopped."""

    def __init__(self, target):
        self.target, self.stop, self.sent, self.errors = target, threading.Event(), 0, []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.wait(1.0 / LEAK_RATE_HZ):  # the request rate, not a wait
            try:
                self.target.get("/leak")
                self.sent += 1
            except OSError as e:
                self.errors.append(str(e))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run_watch(pid, *args, timeout=LEAK_DRIVE_S + 60):
    """parkwatch -p PID ARGS (no --dump), to completion."""
    return run_pw(["-p", pid] + list(args), timeout=timeout)


@test
def test_go_live_trend():
    ensure_built()
    with GoTarget() as t, LeakDriver(t) as driver:
        res = run_watch(t.pid, "--format", "json", "--interval", "1s",
                        "--duration", f"{LEAK_DRIVE_S:.0f}s")
    check(res.rc == 0, f"live json: exit {res.rc}: {res.err.strip()[:300]}")
    check(not driver.errors, f"GET /leak: {driver.errors[:3]}")
    pictures = []
    for i, line in enumerate(l for l in res.out.splitlines() if l.strip()):
        doc, kind = parse_json(line, f"live line {i + 1}")
        if kind == docs.PICTURE:
            pictures.append(doc)
    check(len(pictures) >= LEAK_DRIVE_S / 2, f"only {len(pictures)} JSON lines")
    first_suspect, pool_suspect, leak_counts_seen = None, 0, []
    for i, pic in enumerate(pictures):
        check(docs.processes(pic) and docs.processes(pic)[0]["pid"] == t.pid,
              f"picture {i}: processes {docs.processes(pic)}")
        for grp in docs.groups(pic):
            funcs = docs.fnames(grp.get("frames", []))
            suspect = (grp.get("trend") or {}).get("suspect")
            if "main.awaitNotification" in funcs:
                leak_counts_seen.append(grp["count"])
                if suspect and first_suspect is None:
                    first_suspect = i
            if "main.poolWorker" in funcs and suspect:
                pool_suspect += 1
    check(any(docs.units_total(p) > 25 for p in pictures), "no goroutines in the pictures")
    check(leak_counts_seen and leak_counts_seen[-1] >= 10 * LEAK_DRIVE_S / 2,
          f"awaitNotification counts {leak_counts_seen[-5:]} after {driver.sent} requests")
    check(first_suspect is not None, "the awaitNotification group never became a suspect "
          f"(counts {leak_counts_seen[::5]})")
    check(pool_suspect == 0, f"the poolWorker group was a suspect in {pool_suspect} pictures")
    return (f"{len(pictures)} JSON lines, {driver.sent} leaks; awaitNotification suspect from "
            f"picture {first_suspect}, poolWorker never")


@test
def test_go_leaks_report():
    ensure_built()
    with GoTarget() as t, LeakDriver(t) as driver:
        res = run_watch(t.pid, "--leaks", "--format", "json", "--interval", "1s",
                        "--duration", f"{LEAK_DRIVE_S:.0f}s")
    check(res.rc == 7, f"--leaks: exit {res.rc}, expected 7: {res.err.strip()[:300]}")
    doc, _ = parse_json(res.out, "--leaks --format json", docs.LEAK_REPORT)
    suspects = docs.suspects(doc)
    named = [s for s in suspects if "main.awaitNotification" in docs.fnames(s["frames"])]
    check(named, "no suspect names main.awaitNotification: " +
          str([docs.fnames(s["frames"])[:4] for s in suspects]))
    s = named[0]
    check(s["pid"] == t.pid and s["reason"] == "chan receive",
          f"suspect pid {s['pid']} reason {s['reason']!r}")
    check(s.get("created_by") == "main.leakHandler",
          f"suspect created_by {s.get('created_by')!r}, expected main.leakHandler")
    # goroutines are called goroutines, in the words too
    explanation = s["trend"]["explanation"]
    check(s.get("unit_kind") == "goroutine" and "goroutines/min" in explanation and
          "thread" not in explanation,
          f"suspect unit_kind {s.get('unit_kind')!r}, explanation {explanation!r}")
    others = [docs.fnames(x["frames"])[2:4] for x in suspects if x is not s]
    check(not any("main.poolWorker" in docs.fnames(x["frames"]) for x in suspects),
          "poolWorker named a suspect")
    return (f"exit 7 after {driver.sent} leaks: chan receive in main.awaitNotification, "
            f"created by main.leakHandler, {s['trend']['count_now']} now; other suspects {others}")


TICK_NS = NS // 2        # pollForever's time.NewTicker(500 * time.Millisecond)
TICKER_WATCH_S = 4.0


@test
def test_go_ticker_wakes():
    """pollForever wakes at every tick of its ticker (its source says 500 ms)
    and parks again at the same place: each park is a new wait, so its age
    stays under a tick and an interval, while the leaked goroutines, which
    never wake, age with the clock.  Before, the same place was taken for
    the same wait: the ticker goroutines aged like the leak, and a growing
    group of them read "none of the N seen has woken"."""
    ensure_built()
    interval_ns = NS // 2
    with GoTarget() as t:
        t.leak(3)
        with Live(["-p", t.pid, "--format", "json", "--interval", "500ms", "--min-park", "0"],
                  kind=docs.PICTURE) as live:
            live.first_doc(timeout=60)
            start, pictures, ticker_ages, leak_ages = now(), 0, [], []
            while now() - start < TICKER_WATCH_S:
                doc, _ = live.next_doc(now() + 20)
                check(doc is not None, f"parkwatch ended: {live.stderr_text().strip()[:300]}")
                pictures += 1
                units = [u for u in docs.goroutines(doc) if u["parked"]]
                ticker_ages += [u["park_ns"] for u in units
                                if "main.pollForever" in docs.fnames(u["frames"])]
                leak_ages = [u["park_ns"] for u in units
                             if "main.awaitNotification" in docs.fnames(u["frames"])]
    slack_ns = NS  # a busy machine's late tick and late picture
    check(ticker_ages and max(ticker_ages) < TICK_NS + interval_ns + slack_ns,
          f"pollForever parked ages up to {max(ticker_ages or [0]) / NS:.1f} s over "
          f"{pictures} pictures: its ticker wakes it every {TICK_NS / NS:g} s")
    check(len(leak_ages) == 3 and min(leak_ages) >= (TICKER_WATCH_S - 1) * NS,
          f"the 3 leaked goroutines' ages {[a / NS for a in leak_ages]} s after "
          f"{TICKER_WATCH_S:g} s of pictures: they never wake")
    return (f"{pictures} pictures: pollForever at most {max(ticker_ages) / NS:.2f} s parked, "
            f"the leak at least {min(leak_ages) / NS:.1f} s")


@test
def test_go_metrics():
    ensure_built()
    with GoTarget() as t:
        t.leak(5)
        exe = proc.exe(t.pid)
        addr = f"127.0.0.1:{free_port()}"
        errf = tempfile.TemporaryFile()
        pw = spawn([PARKWATCH, "-p", str(t.pid), "--interval", "1s", "--http", addr,
                    "--http-no-auth"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
        try:
            deadline, series, text = now() + 30, {}, ""
            while now() < deadline and pw.poll() is None:
                time.sleep(1)  # poll interval of a deadline loop
                try:
                    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=10) as resp:
                        text = resp.read().decode("utf-8", "replace")
                except OSError:
                    continue
                series = {}
                for name, labels, value in parse_metrics(text):
                    if (name == "parkwatch_parked" and labels.get("exe") == exe
                            and labels.get("kind") == "goroutine"):
                        key = (labels.get("reason"), labels.get("timeout"))
                        series[key] = series.get(key, 0) + value
                if any(r == "chan receive" for r, _ in series):
                    break
        finally:
            if pw.poll() is None:
                pw.terminate()
            pw.wait(timeout=20)
            errf.seek(0)
            err = errf.read().decode("utf-8", "replace")
            errf.close()
    reasons = {r for r, _ in series}
    check(series, f"no parkwatch_parked goroutine series for {exe}: {text[:300]!r} "
                  f"stderr {err.strip()[:300]!r}")
    for want in ("chan receive", "chan send", "select", "sync.Cond.Wait", "semacquire"):
        check(want in reasons, f"no {want!r} series: {sorted(reasons)}")
    check(series[("chan receive", "none")] >= 5 + 2,
          f"chan receive {series[('chan receive', 'none')]}: 5 leaks and 2 pollForever expected")
    return "parkwatch_parked goroutines per Go wait reason: " + ", ".join(
        f"{r}/{to} {int(v)}" for (r, to), v in sorted(series.items()))
