#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Goroutine mode against the Go runtime's own view of itself.

Builds tests/targets/go/leaky (Debian's golang-go; the Makefile's rule for the
default toolchain), starts it, and compares what `parkwatch -p PID --dump`
prints for it with what the program's net/http/pprof serves at the same
moment:

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
    bias); -ldflags='-s -w' (stripped): one stderr line and the thread view;
    --threads and a non-Go process: the thread view.

Stacks are compared as sequences of *physical* frames where pcs matter (an
inlined call folds into the function it was inlined into): the runtime gives
each inlined frame the pc of its inline mark, parkwatch the pc of the call.

Run as root from the repository top:  python3 tests/integration/go_oracle.py
[NAME...] runs the tests whose name contains one of the NAMEs.  PARKWATCH_BIN
picks the binary (default ./parkwatch); PARKWATCH_GO=/usr/lib/go-1.23/bin/go
builds the target with another toolchain (binaries suffixed -go1.23.5).
Python 3 standard library only; run.py may call run_all().
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(REPO, "build")
GO_TARGETS = os.path.join(BUILD, "targets", "go")
PARKWATCH = os.environ.get("PARKWATCH_BIN") or os.path.join(REPO, "parkwatch")
GO = os.environ.get("PARKWATCH_GO") or "go"
VARIANTS = {"leaky": [], "leaky-nodwarf": ["-ldflags=-w"], "leaky-pie": ["-buildmode=pie"],
            "leaky-stripped": ["-ldflags=-s -w"]}

READY_TIMEOUT = 60.0
HTTP_TIMEOUT = 60.0
PW_TIMEOUT = 120.0
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


class Fail(Exception):
    """A check failed; the message says why."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# ------------------------------------------------------------------ building

def go_env():
    """The Makefile's GO_ENV: GOPATH mode, caches under build/, no $HOME."""
    env = dict(os.environ)
    env.update(GO111MODULE="off", GOFLAGS="-buildvcs=false", GOCACHE=os.path.join(BUILD, "gocache"),
               GOPATH=os.path.join(BUILD, "gopath"), GOENV="off", GOTOOLCHAIN="local",
               GOPROXY="off", CGO_ENABLED="0", HOME=BUILD)
    return env


def go_version():
    proc = subprocess.run([GO, "version"], env=go_env(), capture_output=True, text=True)
    return proc.stdout.strip()


def target_path(name):
    """build/targets/go/NAME, suffixed with the version for a PARKWATCH_GO."""
    if GO == "go":
        return os.path.join(GO_TARGETS, name)
    version = re.search(r"go\d+\.\d+(\.\d+)?", go_version())
    return os.path.join(GO_TARGETS, f"{name}-{version.group(0) if version else 'other'}")


def build_targets():
    if GO == "go":
        names = [os.path.relpath(target_path(n), REPO) for n in VARIANTS]
        proc = subprocess.run(["make", "-s"] + names, cwd=REPO, capture_output=True, text=True)
        check(proc.returncode == 0, f"make {' '.join(names)}: {proc.stderr.strip()[-400:]}")
        return
    os.makedirs(GO_TARGETS, exist_ok=True)
    for name, flags in VARIANTS.items():
        cmd = [GO, "build"] + flags + ["-o", target_path(name), "./tests/targets/go/leaky"]
        proc = subprocess.run(cmd, cwd=REPO, env=go_env(), capture_output=True, text=True)
        check(proc.returncode == 0, f"{' '.join(cmd)}: {proc.stderr.strip()}")


_built = {}


def ensure_built():
    """Builds once per run; a failure fails every test with its reason."""
    if "error" in _built:
        raise Fail(_built["error"])
    if _built:
        return
    try:
        check(shutil.which(GO), f"no go toolchain {GO} (apt-get install golang-go)")
        check(os.access(PARKWATCH, os.X_OK), f"{PARKWATCH} is missing (run make)")
        build_targets()
        _built["ok"] = True
    except Fail as e:
        _built["error"] = str(e)
        raise


# ----------------------------------------------------------------- processes

class GoTarget:
    """A leaky process, killed when the `with` block ends."""

    def __init__(self, *args, binary=None):
        binary = binary or target_path("leaky")
        self.errf = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([binary, "-port", "0"] + [str(a) for a in args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.errf)
        self.pid = self.proc.pid
        self.port = None

    def __enter__(self):
        deadline = time.monotonic() + READY_TIMEOUT
        line = b""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.match(rb'READY \{"port":(\d+)\}', line)
            if m:
                self.port = int(m.group(1))
                return self
        self.__exit__()
        self.errf.seek(0)
        raise Fail(f"target never said READY ({line!r}; stderr "
                   f"{self.errf.read()[-300:]!r})")

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.errf.close()

    def get(self, path):
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as resp:
            return resp.read()

    def text(self, path):
        return self.get(path).decode("utf-8", "replace")


class PwRun:
    def __init__(self, rc, out, err, seconds):
        self.rc, self.out, self.err, self.seconds = rc, out, err, seconds


def parkwatch(pid, *args, binary=False):
    """parkwatch -p PID --dump ARGS, to completion; stdout as text unless binary."""
    start = time.monotonic()
    try:
        cp = subprocess.run([PARKWATCH, "-p", str(pid), "--dump"] + [str(a) for a in args],
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=PW_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Fail(f"parkwatch {' '.join(map(str, args))} took over {PW_TIMEOUT:.0f} s") from None
    out = cp.stdout if binary else cp.stdout.decode("utf-8", "replace")
    return PwRun(cp.returncode, out, cp.stderr.decode("utf-8", "replace"),
                 time.monotonic() - start)


def dump_ok(pid, *args):
    """stdout of a parkwatch dump that must succeed quietly."""
    res = parkwatch(pid, *args)
    check(res.rc == 0, f"parkwatch {' '.join(map(str, args))}: exit {res.rc}: "
                       f"{res.err.strip()[:300]}")
    check(not res.err.strip(), f"parkwatch {' '.join(map(str, args))}: stderr "
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


def go_tool_pprof(args, path):
    """stdout of `go tool pprof ARGS PATH`, reading only what the file holds."""
    env = dict(go_env(), PPROF_TMPDIR=tempfile.gettempdir())
    cp = subprocess.run([GO, "tool", "pprof", "-symbolize=none"] + list(args) + [path],
                        stdin=subprocess.DEVNULL, capture_output=True, timeout=120, env=env)
    check(cp.returncode == 0, f"go tool pprof {' '.join(args)}: exit {cp.returncode}: "
                              f"{cp.stderr.decode('utf-8', 'replace').strip()[:300]!r}")
    return cp.stdout.decode("utf-8", "replace")


# ------------------------------------------------------------------- parsing

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
    parkwatch's stackless goroutines count as the stack ('[running]',)."""
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
    return {g: (r, tuple(s), tuple(e)) for g, (r, s, e) in out.items()}


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


def shown_in_traceback(name):
    """Go's default traceback: names with a dot, runtime.* only when exported."""
    if "." not in name:
        return False
    if not name.startswith("runtime."):
        return True
    return name[8:9].isupper()


def pprof_traces(text):
    """[(count, [function, ...] leaf first, {label: value})] from
    `go tool pprof -traces`."""
    out = []
    for block in re.split(r"^-+\+-+$", text, flags=re.M):
        names, labels, count = [], {}, None
        for line in block.splitlines():
            m = re.match(r"^\s*([a-z_]+):\s+(.*)$", line)
            if m and count is None:
                labels[m.group(1)] = m.group(2).strip()
                continue
            m = re.match(r"^\s+(\d+)\s+(\S.*)$", line)
            if m and count is None:
                count = int(m.group(1))
                names.append(m.group(2).strip())
                continue
            if count is not None and line.strip():
                names.append(line.strip())
        if count is not None:
            out.append((count, names, labels))
    return out


# --------------------------------------------------------------------- tests

REPORT = {}                # figures for the summary printed by main()


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


def compare_debug2(target):
    """Per (reason, stack) and per reason; leaked goroutines entry by entry."""
    runtime_text, ours_text = at_once(target, "/debug/pprof/goroutine?debug=2")
    keep_texts("debug2", runtime_text, ours_text)
    theirs, ours = parse_debug2(runtime_text), parse_debug2(ours_text)
    check(ours, "parkwatch --dump printed no goroutine")
    per_stack_t = by_key(theirs.values(), lambda e: (e[0],) + e[1])
    per_stack_o = by_key(ours.values(), lambda e: (e[0],) + e[1])
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


def test_debug1_stacks():
    ensure_built()
    with GoTarget() as t:
        for _ in range(7):
            t.get("/leak")
        time.sleep(0.2)
        ours, theirs, churn = compare_debug1(t, {"main.awaitNotification": 7})
    return (f"total {ours} vs runtime {theirs}, leaked stacks exact with file:line, "
            f"other groups within {churn}")


def test_debug2_wait_reasons():
    ensure_built()
    with GoTarget() as t:
        for _ in range(4):
            t.get("/leak")
        time.sleep(0.2)
        theirs, ours, reasons_o, reasons_t = compare_debug2(t)
    REPORT["wait reasons (ours vs runtime)"] = {
        r: (reasons_o.get(r, 0), reasons_t.get(r, 0)) for r in sorted(set(reasons_o) | set(reasons_t))}
    leaked = sum(1 for e in ours.values() if leaf_leak(e[1]))
    return (f"{leaked} leaked goroutines line for line; " +
            ", ".join(f"{r or '(none)'} {o}/{t}" for r, (o, t) in
                      REPORT["wait reasons (ours vs runtime)"].items()))


def test_json():
    ensure_built()
    with GoTarget() as t:
        for _ in range(3):
            t.get("/leak")
        time.sleep(0.2)
        runtime_text, ours_text = at_once(t, "/debug/pprof/goroutine?debug=2", "--format", "json")
    lines = [l for l in ours_text.splitlines() if l.strip()]
    check(len(lines) == 1, f"--format json: {len(lines)} lines, expected one document")
    doc = json.loads(lines[0])
    theirs = parse_debug2(runtime_text)
    for key in ("pid", "go_version", "goroutines_total", "goroutines", "groups"):
        check(key in doc, f"JSON lacks {key}: {sorted(doc)}")
    check(doc["pid"] == t.pid, f"pid {doc['pid']}, expected {t.pid}")
    check(re.match(r"^go1\.\d+", doc["go_version"]), f"go_version {doc['go_version']!r}")
    users = [g for g in doc["goroutines"] if not g["system"]]
    check(doc["goroutines_total"] == len(users),
          f"goroutines_total {doc['goroutines_total']} but {len(users)} user goroutines listed")
    check(abs(len(users) - len(theirs)) <= CHURN, f"{len(users)} goroutines vs runtime {len(theirs)}")
    check(sum(g["count"] for g in doc["groups"]) == len(users),
          f"groups hold {sum(g['count'] for g in doc['groups'])} of {len(users)} goroutines")
    by_goid = {g["goid"]: g for g in users}
    leaked = [goid for goid, e in theirs.items() if leaf_leak(e[1])]
    check(len(leaked) == sum(STARTUP_LEAKS.values()) + 3, f"{len(leaked)} leaked in the runtime's dump")
    for goid in leaked:
        g = by_goid.get(goid)
        check(g, f"leaked goroutine {goid} missing from the JSON")
        reason, stack, entry = theirs[goid]
        check(g["status"] == "waiting" and g["wait_reason"] == reason,
              f"goroutine {goid}: {g['status']}/{g['wait_reason']}, runtime says {reason}")
        for f in g["frames"]:
            for key in ("address", "function", "file", "line", "inlined"):
                check(key in f, f"goroutine {goid}: frame {f} lacks {key}")
        shown = [f["function"] for f in g["frames"]
                 if shown_in_traceback(f["function"]) and not f["inlined"]]
        check(tuple(shown) == stack, f"goroutine {goid}: frames {shown} vs runtime {list(stack)}")
        created = [l for l in entry if l.startswith("created by ")]
        want = created[0].split()[2] if created else None
        check(g["created_by"] == want, f"goroutine {goid}: created_by {g['created_by']!r}, "
                                       f"runtime {want!r}")
    groups = {}
    for grp in doc["groups"]:
        for key in ("count", "reason", "frames", "created_by"):
            check(key in grp, f"group lacks {key}: {sorted(grp)}")
        leak = leaf_leak(tuple(f.get("function") for f in grp["frames"]))
        if leak:
            groups[leak] = groups.get(leak, 0) + grp["count"]
    want = dict(STARTUP_LEAKS, **{"main.awaitNotification": 3})
    check(groups == want, f"JSON groups {groups}, expected {want}")
    return f"{len(users)} goroutines ({doc['go_version']}), {len(leaked)} leaked ones field by field"


def test_pprof():
    ensure_built()
    with GoTarget() as t, tempfile.TemporaryDirectory(prefix="pw-go-") as d:
        for _ in range(2):
            t.get("/leak")
        time.sleep(0.2)
        ours = os.path.join(d, "ours.pb.gz")
        theirs = os.path.join(d, "runtime.pb.gz")
        dump_ok(t.pid, "--format", "pprof", "-o", ours)
        with open(theirs, "wb") as f:
            f.write(t.get("/debug/pprof/goroutine?debug=0"))
        raw_o, raw_t = go_tool_pprof(["-raw"], ours), go_tool_pprof(["-raw"], theirs)
        for field in ("PeriodType", "Period"):
            mo = re.search(rf"^{field}: (.*)$", raw_o, re.M)
            mt = re.search(rf"^{field}: (.*)$", raw_t, re.M)
            check(mo and mt and mo.group(1) == mt.group(1),
                  f"{field}: ours {mo and mo.group(1)!r}, runtime {mt and mt.group(1)!r}")
        types_o = raw_o.split("Samples:\n", 1)[1].splitlines()[0].strip()
        types_t = raw_t.split("Samples:\n", 1)[1].splitlines()[0].strip()
        check(types_o == types_t == "goroutine/count",
              f"sample types: ours {types_o!r}, runtime {types_t!r}")
        traces_o = pprof_traces(go_tool_pprof(["-traces"], ours))
        traces_t = pprof_traces(go_tool_pprof(["-traces"], theirs))
        top = go_tool_pprof(["-top"], ours)
    leaks_o, leaks_t = {}, {}
    for traces, leaks in ((traces_o, leaks_o), (traces_t, leaks_t)):
        for count, names, _ in traces:
            leak = leaf_leak(names)
            if leak:
                leaks[leak] = leaks.get(leak, 0) + count
    want = dict(STARTUP_LEAKS, **{"main.awaitNotification": 2})
    check(leaks_o == leaks_t == want, f"leaks in the profiles: ours {leaks_o}, runtime {leaks_t}")
    total_o, total_t = sum(c for c, _, _ in traces_o), sum(c for c, _, _ in traces_t)
    check(abs(total_o - total_t) <= CHURN, f"{total_o} goroutines vs runtime profile {total_t}")
    check(all(lab.get("reason") and lab.get("pid") == str(t.pid) for _, _, lab in traces_o),
          f"samples without reason/pid labels: {[lab for _, _, lab in traces_o][:3]}")
    check(re.search(r"^Type: goroutine$", top, re.M), f"-top: no `Type: goroutine`: {top[:200]!r}")
    return f"{total_o} goroutines vs runtime profile {total_t}; same sample and period types"


def test_folded():
    ensure_built()
    with GoTarget() as t:
        t.get("/leak")
        time.sleep(0.2)
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


def test_leaks_grow():
    ensure_built()
    with GoTarget() as t:
        before, _, _ = parse_debug1(dump_ok(t.pid, "--debug", "1"))
        for _ in range(25):
            t.get("/leak")
        time.sleep(0.2)
        after, _, _ = parse_debug1(dump_ok(t.pid, "--debug", "1"))
    grown = leak_counts(after).get("main.awaitNotification", 0) - \
        leak_counts(before).get("main.awaitNotification", 0)
    check(grown == 25, f"awaitNotification grew by {grown}, expected 25")
    return "25 requests to /leak: +25 awaitNotification"


def test_moving_target():
    ensure_built()
    dropped = []
    with GoTarget("-churn") as t:
        for _ in range(10):
            doc = json.loads(dump_ok(t.pid, "--format", "json"))
            leaks = {}
            for grp in doc["groups"]:
                leak = leaf_leak(tuple(f.get("function") for f in grp["frames"]))
                if leak:
                    leaks[leak] = leaks.get(leak, 0) + grp["count"]
            check(leaks == STARTUP_LEAKS, f"leaks while churning: {leaks}")
            dropped.append(doc["dropped"])
        their_total = parse_debug1(t.text("/debug/pprof/goroutine?debug=1"))[1]
    return f"10 dumps while ~{their_total} goroutines churn: leaks exact, dropped per dump {dropped}"


def test_many(n):
    ensure_built()
    with GoTarget("-n", n) as t:
        ours, theirs, churn = compare_debug1(t, {"main.parkedForever": n})
        _, _, reasons_o, reasons_t = compare_debug2(t)
        # end to end, BPF load included, against the runtime's own full dump
        runs = []
        for _ in range(3):
            start = time.monotonic()
            with open(os.devnull, "wb") as devnull:
                cp = subprocess.run([PARKWATCH, "-p", str(t.pid), "--dump"],
                                    stdin=subprocess.DEVNULL, stdout=devnull,
                                    stderr=subprocess.PIPE, timeout=PW_TIMEOUT)
            runs.append(time.monotonic() - start)
            check(cp.returncode == 0, f"parkwatch --dump: exit {cp.returncode}: "
                                      f"{cp.stderr.decode('utf-8', 'replace').strip()[:300]}")
        start = time.monotonic()
        size = len(t.get("/debug/pprof/goroutine?debug=2"))
        runtime_s = time.monotonic() - start
    best = min(runs)
    REPORT[f"{n} goroutines"] = (
        f"./parkwatch -p PID --dump > /dev/null {best * 1000:.0f} ms (best of 3: "
        f"{', '.join(f'{r * 1000:.0f}' for r in runs)}); runtime debug=2 over HTTP "
        f"{runtime_s * 1000:.0f} ms ({size // 1024} KiB); per wait reason "
        + ", ".join(f"{r} {reasons_o.get(r, 0)}/{reasons_t.get(r, 0)}"
                    for r in sorted(set(reasons_o) | set(reasons_t))))
    check(best <= DUMP_BUDGET_S, f"parkwatch --dump of {n} goroutines took {best:.1f} s")
    return REPORT[f"{n} goroutines"]


def test_no_dwarf():
    ensure_built()
    with GoTarget(binary=target_path("leaky-nodwarf")) as t:
        # no DWARF, no file:line: names and counts from .symtab and the layout table
        ours, theirs, churn = compare_debug1(t, {}, lines_checked=False)
    return f"-ldflags=-w: total {ours} vs runtime {theirs}, leaks exact"


def test_pie():
    ensure_built()
    with GoTarget(binary=target_path("leaky-pie")) as t:
        ours, theirs, churn = compare_debug1(t, {})
    return f"-buildmode=pie: total {ours} vs runtime {theirs}, leaked stacks exact with file:line"


def thread_view(res, pid, what):
    check(res.rc == 0, f"{what}: exit {res.rc}: {res.err.strip()[:300]}")
    check(re.match(r"^parkwatch \S+: \d+ threads? in 1 process", res.out),
          f"{what}: not the thread view: {res.out[:200]!r}")
    check(re.search(rf"^process {pid} \(", res.out, re.M), f"{what}: no process {pid} header")
    check(re.search(r"^thread \d+ \[", res.out, re.M), f"{what}: no thread entries")
    check("goroutine " not in res.out, f"{what}: goroutines in the thread view")


def test_stripped():
    ensure_built()
    with GoTarget(binary=target_path("leaky-stripped")) as t:
        res = parkwatch(t.pid)
    thread_view(res, t.pid, "stripped Go binary")
    lines = [l for l in res.err.splitlines() if l.strip()]
    check(len(lines) == 1 and lines[0].startswith(f"parkwatch: process {t.pid}: "),
          f"stripped Go binary: stderr {res.err.strip()!r}, expected one parkwatch: line")
    return lines[0]


def test_threads_flag():
    ensure_built()
    with GoTarget() as t:
        res = parkwatch(t.pid, "--threads")
        goroutines = dump_ok(t.pid)
    thread_view(res, t.pid, "--threads")
    check(not res.err.strip(), f"--threads: stderr {res.err.strip()!r}")
    check(goroutines.startswith("goroutine "), f"without --threads: {goroutines[:100]!r}")
    return "--threads: the thread view of a Go program; without it, its goroutines"


def test_not_go():
    ensure_built()
    proc = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.1)
        res = parkwatch(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    thread_view(res, proc.pid, "sleep")
    check(not res.err.strip(), f"sleep: stderr {res.err.strip()!r}")
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
        while not self.stop.wait(1.0 / LEAK_RATE_HZ):
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


def frame_functions(frames):
    return [f.get("function") or "" for f in frames]


def run_watch(pid, *args, timeout=LEAK_DRIVE_S + 60):
    """parkwatch -p PID ARGS (no --dump), to completion."""
    try:
        cp = subprocess.run([PARKWATCH, "-p", str(pid)] + [str(a) for a in args],
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail(f"parkwatch {' '.join(map(str, args))} took over {timeout:.0f} s") from None
    return PwRun(cp.returncode, cp.stdout.decode("utf-8", "replace"),
                 cp.stderr.decode("utf-8", "replace"), 0)


def test_live_trend():
    ensure_built()
    with GoTarget() as t, LeakDriver(t) as driver:
        res = run_watch(t.pid, "--format", "json", "--interval", "1s",
                        "--duration", f"{LEAK_DRIVE_S:.0f}s")
    check(res.rc == 0, f"live json: exit {res.rc}: {res.err.strip()[:300]}")
    check(not driver.errors, f"GET /leak: {driver.errors[:3]}")
    pictures = [json.loads(l) for l in res.out.splitlines() if l.startswith('{"version"')]
    pictures = [p for p in pictures if "threads_total" in p]  # the last line is the --dump shape
    check(len(pictures) >= LEAK_DRIVE_S / 2, f"only {len(pictures)} JSON lines")
    first_suspect, pool_suspect, leak_counts_seen = None, 0, []
    for i, pic in enumerate(pictures):
        check(pic["processes"] and pic["processes"][0]["pid"] == t.pid,
              f"picture {i}: processes {pic['processes']}")
        for grp in pic["groups"]:
            funcs = frame_functions(grp.get("frames", []))
            suspect = (grp.get("trend") or {}).get("suspect")
            if "main.awaitNotification" in funcs:
                leak_counts_seen.append(grp["count"])
                if suspect and first_suspect is None:
                    first_suspect = i
            if "main.poolWorker" in funcs and suspect:
                pool_suspect += 1
    check(any(p["threads_total"] > 25 for p in pictures), "no goroutines in the pictures")
    check(leak_counts_seen and leak_counts_seen[-1] >= 10 * LEAK_DRIVE_S / 2,
          f"awaitNotification counts {leak_counts_seen[-5:]} after {driver.sent} requests")
    check(first_suspect is not None, "the awaitNotification group never became a suspect "
          f"(counts {leak_counts_seen[::5]})")
    check(pool_suspect == 0, f"the poolWorker group was a suspect in {pool_suspect} pictures")
    return (f"{len(pictures)} JSON lines, {driver.sent} leaks; awaitNotification suspect from "
            f"picture {first_suspect}, poolWorker never")


def test_leaks_report():
    ensure_built()
    with GoTarget() as t, LeakDriver(t) as driver:
        res = run_watch(t.pid, "--leaks", "--format", "json", "--interval", "1s",
                        "--duration", f"{LEAK_DRIVE_S:.0f}s")
    check(res.rc == 7, f"--leaks: exit {res.rc}, expected 7: {res.err.strip()[:300]}")
    doc = json.loads(res.out)
    named = [s for s in doc["suspects"]
             if "main.awaitNotification" in frame_functions(s["frames"])]
    check(named, "no suspect names main.awaitNotification: " +
          str([frame_functions(s["frames"])[:4] for s in doc["suspects"]]))
    s = named[0]
    check(s["pid"] == t.pid and s["reason"] == "chan receive",
          f"suspect pid {s['pid']} reason {s['reason']!r}")
    check(s.get("created_by") == "main.leakHandler",
          f"suspect created_by {s.get('created_by')!r}, expected main.leakHandler")
    others = [frame_functions(x["frames"])[2:4] for x in doc["suspects"] if x is not s]
    check(not any("main.poolWorker" in frame_functions(x["frames"]) for x in doc["suspects"]),
          "poolWorker named a suspect")
    return (f"exit 7 after {driver.sent} leaks: chan receive in main.awaitNotification, "
            f"created by main.leakHandler, {s['trend']['count_now']} now; other suspects {others}")


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_metrics():
    ensure_built()
    with GoTarget() as t:
        for _ in range(5):
            t.get("/leak")
        addr = f"127.0.0.1:{free_port()}"
        errf = tempfile.TemporaryFile()
        pw = subprocess.Popen([PARKWATCH, "-p", str(t.pid), "--interval", "1s", "--http", addr],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
        try:
            deadline, series, text = time.monotonic() + 30, {}, ""
            while time.monotonic() < deadline and pw.poll() is None:
                time.sleep(1)
                try:
                    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=10) as resp:
                        text = resp.read().decode("utf-8", "replace")
                except OSError:
                    continue
                series = {}
                for m in re.finditer(r'^parkwatch_parked_threads\{([^}]*)\} (\S+)$', text, re.M):
                    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                    if labels.get("pid") == str(t.pid):
                        key = (labels.get("reason"), labels.get("timeout"))
                        series[key] = series.get(key, 0) + float(m.group(2))
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
    check(series, f"no parkwatch_parked_threads series for pid {t.pid}: {text[:300]!r} "
                  f"stderr {err.strip()[:300]!r}")
    for want in ("chan receive", "chan send", "select", "sync.Cond.Wait", "semacquire"):
        check(want in reasons, f"no {want!r} series: {sorted(reasons)}")
    check(series[("chan receive", "none")] >= 5 + 2,
          f"chan receive {series[('chan receive', 'none')]}: 5 leaks and 2 pollForever expected")
    return "parkwatch_parked_threads per Go wait reason: " + ", ".join(
        f"{r}/{to} {int(v)}" for (r, to), v in sorted(series.items()))


TESTS = [
    ("go_debug1_stacks", test_debug1_stacks),
    ("go_debug2_wait_reasons", test_debug2_wait_reasons),
    ("go_json", test_json),
    ("go_pprof", test_pprof),
    ("go_folded", test_folded),
    ("go_leaks_grow", test_leaks_grow),
    ("go_moving_target", test_moving_target),
    ("go_10k_goroutines", lambda: test_many(10_000)),
    ("go_100k_goroutines", lambda: test_many(100_000)),
    ("go_no_dwarf_table", test_no_dwarf),
    ("go_pie", test_pie),
    ("go_stripped_threads", test_stripped),
    ("go_threads_flag", test_threads_flag),
    ("go_not_go", test_not_go),
    ("go_live_trend", test_live_trend),
    ("go_leaks_report", test_leaks_report),
    ("go_metrics", test_metrics),
]


def run_all():
    """[(name, ok, message)] for every goroutine-mode test."""
    results = []
    for name, fn in TESTS:
        try:
            results.append((name, True, fn() or ""))
        except Fail as e:
            results.append((name, False, str(e)))
        except Exception as e:  # a crash in the harness is a failure, never a skip
            results.append((name, False, f"{type(e).__name__}: {e}"))
    return results


def main():
    only = sys.argv[1:]
    global TESTS
    if only:
        TESTS = [t for t in TESTS if any(o in t[0] for o in only)]
    print(f"# {go_version()}, {PARKWATCH}", flush=True)
    results = run_all()
    for name, ok, msg in results:
        print(f"{'ok' if ok else 'FAIL'} {name}{': ' if msg else ''}{msg}")
    failed = sum(1 for _, ok, _ in results if not ok)
    print(f"go_oracle: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
