#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""parkwatch integration tests.

Run as root from the repository top after `make` built ./parkwatch and
build/targets/*:

    sudo python3 tests/integration/run.py [--only SUBSTRING ...]

Prints `ok NAME` or `FAIL NAME: reason` per test, then
`integration: N passed, M failed`; exits 1 if anything failed.  Nothing is
skipped: a parkwatch that cannot load its BPF programs fails the tests that
need it, with that reason.  Python 3 standard library only.
"""

import gzip
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# PARKWATCH_BIN / PARKWATCH_TARGETS override the paths (for trying the runner out)
PARKWATCH = os.environ.get("PARKWATCH_BIN") or os.path.join(REPO, "parkwatch")
TARGETS = os.environ.get("PARKWATCH_TARGETS") or os.path.join(REPO, "build", "targets")
TARGET_SRC = os.path.join(REPO, "tests", "targets")

READY_TIMEOUT = 20.0      # seconds for a target to print READY
PW_TIMEOUT = 60.0         # seconds for one parkwatch --dump
NS = 1_000_000_000

# x86_64 syscall numbers the targets sleep in, as /proc/TID/syscall shows them.
SYSCALL_NAMES = {
    0: "read", 7: "poll", 34: "pause", 35: "nanosleep", 61: "wait4",
    128: "rt_sigtimedwait", 202: "futex", 230: "clock_nanosleep",
    232: "epoll_wait", 281: "epoll_pwait",
}

TOP_KEYS = ("version", "time_unix_ns", "threads_total", "parked_total", "states",
            "processes", "exited", "threads", "groups")


class Fail(Exception):
    """A test assertion failed; the message is the reason printed."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def now():
    return time.monotonic()


# ---------------------------------------------------------------- processes

_children = []   # every Popen we started, killed at the latest on exit


def _spawn(argv, **kw):
    proc = subprocess.Popen(argv, **kw)
    _children.append(proc)
    return proc


def _stop(proc):
    if proc is None:
        return
    try:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        pass
    for f in (proc.stdout, proc.stderr, proc.stdin):
        if f:
            try:
                f.close()
            except OSError:
                pass


def _stop_all():
    for proc in _children:
        _stop(proc)


class LineReader:
    """Lines of a pipe, read with select() and a deadline."""

    def __init__(self, pipe, label):
        self.fd = pipe.fileno()
        self.label = label
        self.buf = b""
        self.eof = False

    def readline(self, deadline):
        """The next line (str, without newline); None at EOF; Fail at the deadline."""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                return line.decode("utf-8", "replace")
            if self.eof:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line.decode("utf-8", "replace")
                return None
            left = deadline - now()
            if left <= 0:
                raise Fail(f"{self.label}: no output line before the deadline")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                data = os.read(self.fd, 1 << 20)
                if data:
                    self.buf += data
                else:
                    self.eof = True


class Target:
    """A test program from build/targets, killed when the `with` block ends."""

    def __init__(self, name, *args, cpus=None):
        self.name = name
        path = os.path.join(TARGETS, name)
        check(os.access(path, os.X_OK), f"target {path} is not built (run make)")
        self.errf = tempfile.TemporaryFile()
        self.t_start = now()
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.proc = _spawn([path] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=self.errf, preexec_fn=pin)
        self.pid = self.proc.pid
        self.out = LineReader(self.proc.stdout, name)
        self.t_ready = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        self.errf.close()
        return False

    def kill(self):
        _stop(self.proc)

    def stderr_text(self):
        self.errf.seek(0)
        return self.errf.read().decode("utf-8", "replace").strip()

    def wait_for(self, prefix, timeout):
        """Parse the JSON of the next `PREFIX {...}` line; returns (object, monotonic time)."""
        deadline = now() + timeout
        while True:
            try:
                line = self.out.readline(deadline)
            except Fail:
                raise Fail(f"{self.name}: no {prefix} line within {timeout:.0f} s"
                           f"{self._why()}") from None
            if line is None:
                self.proc.wait(timeout=5)
                raise Fail(f"{self.name} exited ({self.proc.returncode}) before {prefix}"
                           f"{self._why()}")
            if line.startswith(prefix + " "):
                try:
                    return json.loads(line[len(prefix) + 1:]), now()
                except ValueError as e:
                    raise Fail(f"{self.name}: bad {prefix} line {line[:120]!r}: {e}") from None

    def _why(self):
        err = self.stderr_text()
        return f": {err.splitlines()[-1]}" if err else ""

    def wait_ready(self):
        roles, self.t_ready = self.wait_for("READY", READY_TIMEOUT)
        return roles


# ---------------------------------------------------------------- parkwatch

def need_parkwatch():
    check(os.access(PARKWATCH, os.X_OK), f"{PARKWATCH} is missing (run make)")


def bpf_failure(rc, stderr):
    """The reason to report when parkwatch could not load BPF, else None."""
    if rc == 5 or "bpf" in stderr.lower():
        first = stderr.strip().splitlines()[0] if stderr.strip() else "(no stderr)"
        return f"parkwatch cannot load BPF (exit {rc}): {first}"
    return None


def pw_error(rc, stderr):
    reason = bpf_failure(rc, stderr)
    if reason:
        return reason
    return f"parkwatch exit {rc}: {stderr.strip()[:300] or '(no stderr)'}"


class PwResult:
    def __init__(self, rc, out, err, t0, t1):
        self.rc, self.out, self.err, self.t0, self.t1 = rc, out, err, t0, t1


def run_pw(args, timeout=PW_TIMEOUT, preexec=None):
    """Run parkwatch to completion; returns a PwResult (no exit-code check)."""
    need_parkwatch()
    t0 = now()
    try:
        cp = subprocess.run([PARKWATCH] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=timeout, preexec_fn=preexec)
    except subprocess.TimeoutExpired:
        raise Fail(f"parkwatch {' '.join(map(str, args))} did not finish within {timeout:.0f} s")
    return PwResult(cp.returncode, cp.stdout.decode("utf-8", "replace"),
                    cp.stderr.decode("utf-8", "replace"), t0, now())


def parse_doc(text, what="parkwatch output"):
    """One JSON document: the whole text, else its last non-empty line."""
    text = text.strip()
    check(text, f"{what}: empty stdout")
    try:
        doc = json.loads(text)
    except ValueError:
        lines = [l for l in text.splitlines() if l.strip()]
        try:
            doc = json.loads(lines[-1])
        except ValueError as e:
            raise Fail(f"{what}: not JSON ({e}): {text[:200]!r}") from None
    check(isinstance(doc, dict), f"{what}: JSON is not an object")
    missing = [k for k in TOP_KEYS if k not in doc]
    check(not missing, f"{what}: JSON lacks {missing}")
    return doc


def dump_json(pids, extra=(), preexec=None):
    args = []
    for pid in pids:
        args += ["-p", pid]
    res = run_pw(args + ["--dump", "--format", "json", "--min-park", "0"] + list(extra),
                 preexec=preexec)
    check(res.rc == 0, pw_error(res.rc, res.err))
    return parse_doc(res.out, "parkwatch --dump --format json"), res


def dump_text(pid, extra=()):
    res = run_pw(["-p", pid, "--dump", "--format", "text", "--min-park", "0"] + list(extra))
    check(res.rc == 0, pw_error(res.rc, res.err))
    return res.out


def by_tid(doc):
    return {t.get("tid"): t for t in doc.get("threads") or []}


def fnames(frames):
    return [f.get("function") or "" for f in frames or []]


def func_lines(src, func):
    """(first, last) source lines of FUNC's definition in SRC (for line checks)."""
    with open(src) as f:
        lines = f.read().splitlines()
    start = None
    for i, line in enumerate(lines, 1):
        if start is None and re.match(r"^[A-Za-z_].*\b%s\(" % re.escape(func), line) \
                and not line.rstrip().endswith(";"):
            start = i
        elif start is not None and line == "}":
            return start, i
    raise Fail(f"cannot find {func}() in {src}")


def check_level_frames(frames, src, where):
    """Leaf first: a *cond_wait* frame, then level_three, level_two, level_one."""
    names = fnames(frames)
    cw = next((i for i, n in enumerate(names) if "cond_wait" in n), None)
    check(cw is not None, f"{where}: no pthread_cond_wait frame in {names}")
    pos = []
    for fn in ("level_three", "level_two", "level_one"):
        start = pos[-1] + 1 if pos else cw + 1
        idx = next((i for i in range(start, len(names)) if names[i] == fn), None)
        check(idx is not None, f"{where}: {fn} missing or out of order after the cond "
                               f"wait frame (leaf first): {names}")
        pos.append(idx)
    f3 = frames[pos[0]]
    base = os.path.basename(src)
    check(str(f3.get("file", "")).endswith("/" + base) and os.path.isabs(f3.get("file", "")),
          f"{where}: level_three file is {f3.get('file')!r}, not the absolute path of {base}")
    first, last = func_lines(src, "level_three")
    line = f3.get("line")
    check(isinstance(line, int) and first <= line <= last,
          f"{where}: level_three line {line!r} outside level_three() ({base}:{first}-{last})")
    mod = f3.get("module", "")
    check(os.path.basename(str(mod)) == os.path.splitext(base)[0],
          f"{where}: level_three module is {mod!r}")


def proc_syscall(pid, tid):
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


def proc_snapshot(pid):
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


class Live:
    """parkwatch in live JSON Lines mode, reading its stdout line by line."""

    def __init__(self, args):
        need_parkwatch()
        self.errf = tempfile.TemporaryFile()
        self.proc = _spawn([PARKWATCH] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=self.errf)
        self.out = LineReader(self.proc.stdout, "parkwatch")
        self.lines = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _stop(self.proc)
        self.errf.close()
        return False

    def stderr_text(self):
        self.errf.seek(0)
        return self.errf.read().decode("utf-8", "replace")

    def next_doc(self, deadline):
        """(doc, receive time) of the next line, or (None, t) at EOF."""
        try:
            line = self.out.readline(deadline)
        except Fail:
            raise Fail("parkwatch printed no JSON line before the deadline") from None
        t = now()
        if line is None:
            return None, t
        if not line.strip():
            return self.next_doc(deadline)
        self.lines.append(line)
        try:
            doc = json.loads(line)
        except ValueError as e:
            raise Fail(f"live line {len(self.lines)} is not JSON ({e}): {line[:160]!r}") from None
        check(isinstance(doc, dict) and all(k in doc for k in TOP_KEYS),
              f"live line {len(self.lines)} lacks top-level keys: {line[:160]!r}")
        return doc, t

    def first_doc(self, timeout=20.0):
        doc, t = self.next_doc(now() + timeout)
        if doc is None:
            rc = self.proc.wait(timeout=10)
            raise Fail(pw_error(rc, self.stderr_text()))
        return doc, t

    def finish(self, timeout):
        """Read the remaining lines; returns (docs, exit code)."""
        deadline = now() + timeout
        docs = []
        while True:
            doc, _ = self.next_doc(deadline)
            if doc is None:
                break
            docs.append(doc)
        try:
            rc = self.proc.wait(timeout=max(1.0, deadline - now()))
        except subprocess.TimeoutExpired:
            raise Fail("parkwatch did not exit after closing stdout") from None
        return docs, rc


def one_stderr_line(err, what):
    lines = [l for l in err.splitlines() if l.strip()]
    check(len(lines) == 1, f"{what}: expected one stderr line, got {len(lines)}: {err.strip()[:300]!r}")
    check(lines[0].startswith("parkwatch: "),
          f"{what}: stderr line does not start with 'parkwatch: ': {lines[0]!r}")
    return lines[0]


# ---------------------------------------------------------------- 1. condwait

def test_condwait_json():
    with Target("condwait", 100) as t:
        tids = t.wait_ready()["cond"]
        check(len(tids) == 100, f"READY lists {len(tids)} tids")
        # Not synchronisation: let the parks age past the 0.5 s slack, so that
        # the lower bound below catches park starts estimated too late.
        time.sleep(max(0.0, t.t_ready + 1.5 - now()))
        doc, res = dump_json([t.pid])
        lo = (res.t0 - t.t_ready - 0.5) * NS
        hi = (res.t1 - t.t_start + 1.0) * NS
        threads = by_tid(doc)
        missing = [tid for tid in tids if tid not in threads]
        check(not missing, f"{len(missing)} cond tids absent from the dump, e.g. {missing[:5]}")
        src = os.path.join(TARGET_SRC, "condwait.c")
        for tid in tids:
            th = threads[tid]
            w = f"tid {tid}"
            check(th.get("pid") == t.pid, f"{w}: pid {th.get('pid')} != {t.pid}")
            check(th.get("state") == "sleeping", f"{w}: state {th.get('state')!r}")
            check(th.get("parked") is True, f"{w}: parked {th.get('parked')!r}")
            check(th.get("reason") == "cond wait", f"{w}: reason {th.get('reason')!r}")
            check(th.get("timeout") == "none", f"{w}: timeout {th.get('timeout')!r}")
            check(th.get("syscall") == "futex", f"{w}: syscall {th.get('syscall')!r}")
            check(th.get("park_start_estimated") is True,
                  f"{w}: park_start_estimated {th.get('park_start_estimated')!r}")
            check(isinstance(th.get("park_ns"), int), f"{w}: park_ns {th.get('park_ns')!r}")
            check_level_frames(th.get("frames"), src, w)
        parks = sorted(threads[tid]["park_ns"] for tid in tids)
        out = [pn for pn in parks if not lo <= pn <= hi]
        check(not out, f"{len(out)} of 100 park_ns outside [{lo / NS:.3f} s, {hi / NS:.3f} s] "
                       f"(READY {res.t0 - t.t_ready:.3f} s, target start {res.t1 - t.t_start:.3f} s"
                       f" before the dump); park_ns range {parks[0] / NS:.3f}-{parks[-1] / NS:.3f} s")
        procs = [p for p in doc["processes"] if p.get("pid") == t.pid]
        check(len(procs) == 1, f"processes has {len(procs)} entries for pid {t.pid}")
        check(procs[0].get("threads") == 101, f"process threads {procs[0].get('threads')} != 101")
        check(isinstance(procs[0].get("parked"), int) and 100 <= procs[0]["parked"] <= 101,
              f"process parked {procs[0].get('parked')} not in [100, 101]")
        check(doc["threads_total"] >= 101 and doc["parked_total"] >= 100,
              f"threads_total {doc['threads_total']} parked_total {doc['parked_total']}")
        check(doc["states"].get("sleeping", 0) >= 100,
              f"states.sleeping {doc['states'].get('sleeping')} < 100")


def test_park_estimate_cross_cpu():
    """Park starts estimated for threads that last ran on another CPU than parkwatch:
    one target pinned to the first CPU, one to the last, parkwatch run on each."""
    cpus = sorted(os.sched_getaffinity(0))
    with Target("condwait", 4, cpus={cpus[0]}) as a, Target("condwait", 4, cpus={cpus[-1]}) as b:
        tids = {a.pid: a.wait_ready()["cond"], b.pid: b.wait_ready()["cond"]}
        t_ready = max(a.t_ready, b.t_ready)
        time.sleep(max(0.0, t_ready + 1.5 - now()))  # let the parks age (not synchronisation)
        errors = []
        for pw_cpu in (cpus[0], cpus[-1]):
            doc, res = dump_json([a.pid, b.pid],
                                 preexec=lambda c=pw_cpu: os.sched_setaffinity(0, {c}))
            threads = by_tid(doc)
            for t, t_cpu in ((a, cpus[0]), (b, cpus[-1])):
                lo = (res.t0 - t.t_ready - 0.5) * NS
                hi = (res.t1 - t.t_start + 1.0) * NS
                parks = [threads.get(tid, {}).get("park_ns") for tid in tids[t.pid]]
                if not all(isinstance(pn, int) and lo <= pn <= hi for pn in parks):
                    errors.append(f"target on CPU {t_cpu}, parkwatch on CPU {pw_cpu}: park_ns "
                                  f"{[round(pn / NS, 3) if isinstance(pn, int) else pn for pn in parks]}"
                                  f" s outside [{lo / NS:.3f} s, {hi / NS:.3f} s]")
                if not all(threads.get(tid, {}).get("park_start_estimated") is True
                           for tid in tids[t.pid]):
                    errors.append(f"target on CPU {t_cpu}: park_start_estimated not true")
        check(not errors, "; ".join(errors))


def test_condwait_groups():
    with Target("condwait", 100) as t:
        tids = set(t.wait_ready()["cond"])
        doc, _ = dump_json([t.pid])
        groups = [g for g in doc["groups"] if tids & set(g.get("tids") or [])]
        check(len(groups) == 1, f"cond tids spread over {len(groups)} groups "
                                f"(counts {[g.get('count') for g in groups]})")
        g = groups[0]
        check(g.get("count") == 100, f"group count {g.get('count')} != 100")
        check(g.get("pid") == t.pid, f"group pid {g.get('pid')} != {t.pid}")
        check(g.get("reason") == "cond wait", f"group reason {g.get('reason')!r}")
        check(g.get("timeout") == "none", f"group timeout {g.get('timeout')!r}")
        gt = set(g.get("tids") or [])
        check(gt <= tids, f"group holds foreign tids {sorted(gt - tids)[:5]}")
        check(gt == tids, f"group tids: {len(gt)} of the 100 cond tids")
        parked = [th.get("park_ns", 0) for th in doc["threads"] if th.get("tid") in tids]
        check(g.get("oldest_park_ns") == max(parked),
              f"oldest_park_ns {g.get('oldest_park_ns')} != max park_ns {max(parked)}")
        check_level_frames(g.get("frames"), os.path.join(TARGET_SRC, "condwait.c"), "group")


def test_condwait_text():
    with Target("condwait", 100) as t:
        tids = set(t.wait_ready()["cond"])
        text = dump_text(t.pid)  # --debug 2 is the default
        blocks = {}
        cur = None
        for line in text.splitlines():
            m = re.match(r"^thread (\d+) \[(.*)\]:\s*$", line)
            if m:
                cur = int(m.group(1))
                blocks[cur] = [m.group(2)]
            elif cur is not None:
                blocks[cur].append(line)
        cond = [tid for tid in tids if tid in blocks and blocks[tid][0].startswith("cond wait")]
        check(len(cond) == 100, f"{len(cond)} of 100 cond tids have a `thread TID [cond wait, "
                                f"...]:` header; got e.g. {text[:200]!r}")
        total = len(re.findall(r"^thread \d+ \[cond wait", text, re.M))
        check(total == 100, f"{total} `[cond wait` headers, expected 100")
        for tid in cond:
            lines = blocks[tid]
            idx = next((i for i, l in enumerate(lines) if l.startswith("level_three(")), None)
            check(idx is not None, f"thread {tid}: no `level_three(...)` line")
            check(idx + 1 < len(lines) and
                  re.match(r"^\t/\S*condwait\.c:\d+ \+0x[0-9a-f]+$", lines[idx + 1]),
                  f"thread {tid}: level_three location line is "
                  f"{lines[idx + 1] if idx + 1 < len(lines) else None!r}")


def test_condwait_debug1():
    with Target("condwait", 100) as t:
        t.wait_ready()
        text = dump_text(t.pid, ["--debug", "1"])
        lines = text.splitlines()
        heads = [i for i, l in enumerate(lines) if re.match(r"^100 @( 0x[0-9a-f]+)+\s*$", l)]
        check(len(heads) == 1, f"{len(heads)} `100 @ 0x...` lines in --debug 1 output: "
                               f"{text[:300]!r}")
        body = []
        for l in lines[heads[0] + 1:]:
            if not l.startswith("#"):
                break
            body.append(l)
        check(any(re.match(r"^#\t0x[0-9a-f]+\tlevel_three\+0x[0-9a-f]+\t/\S*condwait\.c:\d+$", l)
                  for l in body),
              f"no `#\\t0xPC\\tlevel_three+0xOFF\\tFILE:LINE` line under `100 @`: {body[:8]}")
        pcs = lines[heads[0]].split()[2:]
        check(len(body) >= len(pcs), f"{len(pcs)} PCs but {len(body)} # lines")


# ---------------------------------------------------------------- 2. mixed

MIXED_EXPECT = {  # role: (reason, timeout, a function of the role on its stack)
    "pipe": ("IO wait (pipe)", "none", "pipe_reader"),
    "epoll": ("epoll wait", "none", "epoll_loop"),
    "mutex": ("mutex lock", "none", "mutex_waiter"),
    "holder": ("cond wait", "none", "lock_holder"),
    "timedwait": ("cond wait", "finite", "timed_waiter"),
    "join": ("thread join", "none", "joiner"),
    "joined": ("signal wait", "none", "joined_pauser"),
    "main": ("signal wait", "none", "main"),
}


def test_mixed_reasons():
    with Target("mixed") as t:
        roles = t.wait_ready()
        role_of = {tid: role for role, tids in roles.items() for tid in tids}
        for role in list(MIXED_EXPECT) + ["ticker", "spin"]:
            check(roles.get(role), f"READY lacks role {role}")
        errors = []
        ticker_sleep = 0
        crosschecked = 0
        for n in range(5):
            before = {tid: proc_syscall(t.pid, tid) for tid in role_of}
            doc, _ = dump_json([t.pid])
            after = {tid: proc_syscall(t.pid, tid) for tid in role_of}
            threads = by_tid(doc)
            for tid, role in role_of.items():
                th = threads.get(tid)
                w = f"dump {n + 1} {role} tid {tid}"
                if role == "ticker":
                    if th and th.get("parked"):
                        if (th.get("reason"), th.get("timeout")) == ("sleep", "finite"):
                            ticker_sleep += 1
                        else:
                            errors.append(f"{w}: parked as {th.get('reason')!r}/"
                                          f"{th.get('timeout')!r}, expected sleep/finite")
                elif th is None:
                    errors.append(f"{w}: absent from the dump")
                    continue
                elif role == "spin":
                    if th.get("parked") is not False or th.get("reason") is not None:
                        errors.append(f"{w}: parked {th.get('parked')!r} reason "
                                      f"{th.get('reason')!r}, expected false/null")
                    if th.get("state") not in ("running", "runnable"):
                        errors.append(f"{w}: state {th.get('state')!r}")
                    if th.get("frames"):
                        errors.append(f"{w}: running thread has frames")
                    continue
                else:
                    reason, timeout, func = MIXED_EXPECT[role]
                    got = (th.get("parked"), th.get("reason"), th.get("timeout"))
                    if got != (True, reason, timeout):
                        errors.append(f"{w}: parked/reason/timeout {got}, expected "
                                      f"{(True, reason, timeout)}")
                    if th.get("state") != "sleeping":
                        errors.append(f"{w}: state {th.get('state')!r}")
                    if func not in fnames(th.get("frames")):
                        errors.append(f"{w}: {func} not among frames {fnames(th.get('frames'))}")
                # /proc cross-check, when the thread slept in one syscall all along
                if th and th.get("parked"):
                    (s0, nr0), (s1, nr1) = before[tid], after[tid]
                    if s0 in ("S", "D") and s1 == s0 and nr0 == nr1 and nr0 is not None:
                        crosschecked += 1
                        want = SYSCALL_NAMES.get(nr0, f"#{nr0}")
                        if th.get("syscall") != want:
                            errors.append(f"{w}: syscall {th.get('syscall')!r}, /proc says "
                                          f"{nr0} ({want})")
            if len(errors) > 6:
                break
        if ticker_sleep == 0 and len(errors) <= 6:
            errors.append("ticker never seen parked as sleep/finite in 5 dumps")
        check(not errors, "; ".join(errors[:6]) + (f" (+{len(errors) - 6} more)"
                                                   if len(errors) > 6 else ""))
        check(crosschecked >= 5 * 10, f"only {crosschecked} syscall cross-checks were possible")


# ---------------------------------------------------------------- 3. live

def test_live_late_thread():
    with Target("mixed") as t:
        t.wait_ready()
        src = os.path.join(TARGET_SRC, "mixed.c")
        with Live(["-p", t.pid, "--format", "json", "--interval", "300ms",
                   "--duration", "4s", "--min-park", "0"]) as live:
            live.first_doc()
            t_sig = now()
            os.kill(t.pid, signal.SIGUSR1)
            late = t.wait_for("PARKED", 10)[0]["late"][0]
            seen = 0
            deadline = now() + 15
            while True:
                doc, t_line = live.next_doc(deadline)
                if doc is None:
                    break
                th = by_tid(doc).get(late)
                if not th or not th.get("parked"):
                    continue
                seen += 1
                w = f"late tid {late} (line {len(live.lines)})"
                check(th.get("reason") == "cond wait", f"{w}: reason {th.get('reason')!r}")
                check(th.get("park_start_estimated") is False,
                      f"{w}: park_start_estimated {th.get('park_start_estimated')!r}")
                pn = th.get("park_ns")
                limit = (t_line - t_sig + 0.3) * NS
                check(isinstance(pn, int) and 0 < pn < limit,
                      f"{w}: park_ns {pn} not in (0, {limit / NS:.3f} s since SIGUSR1 + 0.3 s)")
                check_level_frames(th.get("frames"), src, w)
            rc = live.proc.wait(timeout=10)
            check(rc == 0, pw_error(rc, live.stderr_text()))
            check(seen > 0, f"late tid {late} never parked in {len(live.lines)} JSON lines")


# ---------------------------------------------------------------- 4. errors

def expect_usage_error(args, want_rc, what):
    res = run_pw(args, timeout=30)
    if res.rc != want_rc and bpf_failure(res.rc, res.err):
        raise Fail(bpf_failure(res.rc, res.err))
    check(res.rc == want_rc, f"{what}: exit {res.rc}, expected {want_rc} "
                             f"(stderr {res.err.strip()[:200]!r})")
    one_stderr_line(res.err, what)
    check(res.out == "", f"{what}: stdout not empty: {res.out[:200]!r}")


def test_errors_unknown_pid():
    expect_usage_error(["-p", 999999999, "--dump"], 3, "-p 999999999")
    gone = subprocess.Popen(["true"])
    gone.wait()
    expect_usage_error(["-p", gone.pid, "--dump", "--format", "json"], 3,
                       f"-p {gone.pid} (exited)")


def test_errors_bad_interval():
    expect_usage_error(["-p", os.getpid(), "--interval", "banana"], 2, "--interval banana")


def test_errors_bad_debug():
    expect_usage_error(["-p", os.getpid(), "--dump", "--debug", "7"], 2, "--debug 7")


def test_errors_not_root():
    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    with Target("condwait", 2) as t:
        t.wait_ready()
        res = run_pw(["-p", t.pid, "--dump"], timeout=30, preexec=drop)
        check(res.rc == 4, f"as uid 65534: exit {res.rc}, expected 4 "
                           f"(stderr {res.err.strip()[:200]!r})")
        one_stderr_line(res.err, "as uid 65534")


# ---------------------------------------------------------------- 5. exits

def test_exit_single_target():
    with Target("condwait", 4) as t:
        t.wait_ready()
        pid = t.pid
        with Live(["-p", pid, "--format", "json", "--interval", "300ms",
                   "--duration", "3s", "--min-park", "0"]) as live:
            live.first_doc()
            t.kill()
            docs, rc = live.finish(15)
            err = live.stderr_text()
            if rc != 6 and bpf_failure(rc, err):
                raise Fail(bpf_failure(rc, err))
            check(rc == 6, f"exit {rc}, expected 6 (stderr {err.strip()[:200]!r})")
            line = one_stderr_line(err, "exit report")
            check(str(pid) in line, f"stderr line does not name pid {pid}: {line!r}")
            check(len(live.lines) >= 1, "no JSON line on stdout")
            last = json.loads(live.lines[-1])
            check(pid in (last.get("exited") or []),
                  f"last line's exited {last.get('exited')} lacks {pid}")


def test_exit_one_of_two():
    with Target("condwait", 4) as a, Target("condwait", 4) as b:
        a.wait_ready()
        b_tids = b.wait_ready()["cond"]
        with Live(["-p", a.pid, "-p", b.pid, "--format", "json", "--interval", "300ms",
                   "--duration", "3s", "--min-park", "0"]) as live:
            first, _ = live.first_doc()
            pids = {p.get("pid") for p in first["processes"]}
            check({a.pid, b.pid} <= pids, f"first line's processes {sorted(pids)}")
            a.kill()
            docs, rc = live.finish(15)
            err = live.stderr_text()
            if rc != 0 and bpf_failure(rc, err):
                raise Fail(bpf_failure(rc, err))
            check(rc == 0, f"exit {rc}, expected 0 (stderr {err.strip()[:200]!r})")
            last = json.loads(live.lines[-1])
            check(a.pid in (last.get("exited") or []),
                  f"last line's exited {last.get('exited')} lacks {a.pid}")
            check(b.pid in {p.get("pid") for p in last["processes"]},
                  f"last line lost the surviving pid {b.pid}")
            threads = by_tid(last)
            check(all(threads.get(tid, {}).get("reason") == "cond wait" for tid in b_tids),
                  "surviving target's threads not all in cond wait in the last line")


# ---------------------------------------------------------------- 6. gdb

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


def parse_gdb(text):
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


def gdb_agreement(label, pid, threshold, own_src=None, must_compare=()):
    snap1 = proc_snapshot(pid)
    doc, _ = dump_json([pid])
    cmd = ["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off",
           "-ex", "set print frame-arguments none", "-ex", "set print entry-values no",
           "-ex", f"shell {sys.executable} {os.path.abspath(__file__)} --proc-snapshot {pid}",
           "-ex", f"attach {pid}", "-ex", "thread apply all bt", "-ex", "detach"]
    env = dict(os.environ, DEBUGINFOD_URLS="")
    try:
        cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=90,
                            env=env)
    except FileNotFoundError:
        raise Fail("gdb is not installed") from None
    except subprocess.TimeoutExpired:
        raise Fail("gdb did not finish within 90 s") from None
    out = cp.stdout.decode("utf-8", "replace")
    snap2 = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "PWSNAP":
            snap2[int(parts[1])] = (parts[2], int(parts[3]), int(parts[4]))
    stacks = parse_gdb(out)
    check(stacks, f"gdb printed no stacks (exit {cp.returncode}): "
                  f"{cp.stderr.decode('utf-8', 'replace').strip()[-300:]!r}")
    compared, matched, problems = [], 0, []
    for th in doc["threads"]:
        tid = th.get("tid")
        if th.get("pid") != pid or not th.get("parked") or tid not in stacks:
            continue
        s1, s2 = snap1.get(tid), snap2.get(tid)
        if not s1 or s1 != s2 or s1[0] not in ("S", "D"):
            continue  # ran at some point between the two views
        compared.append(tid)
        ok, why = compare_stacks(th.get("frames"), stacks[tid], own_src)
        if ok:
            matched += 1
        else:
            problems.append(f"tid {tid} ({th.get('comm')}): {why}")
    print(f"gdb agreement {label}: {matched}/{len(compared)} threads", flush=True)
    check(compared, "no thread was parked in both views")
    lost = [tid for tid in must_compare if tid not in compared]
    check(not lost, f"threads {lost} were not compared (not parked in both views)")
    check(matched >= threshold * len(compared),
          f"{matched}/{len(compared)} below {threshold:.0%}: " + "; ".join(problems[:3]))


def test_gdb_condwait():
    with Target("condwait", 8) as t:
        tids = t.wait_ready()["cond"]
        gdb_agreement("condwait", t.pid, 1.0, "condwait.c", tids)


def test_gdb_mixed():
    with Target("mixed") as t:
        roles = t.wait_ready()
        must = [tid for role, tids in roles.items() if role not in ("ticker", "spin")
                for tid in tids]
        # main prints READY just before it blocks in sigwaitinfo: let it get there
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            snap = proc_snapshot(t.pid)
            if all(snap.get(tid, ("?",))[0] in ("S", "D") for tid in must):
                break
            time.sleep(0.01)
        gdb_agreement("mixed", t.pid, 1.0, "mixed.c", must)


def redis_cmd(sock_path, payload, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(payload)
        data = b""
        while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data
    finally:
        s.close()


def test_gdb_redis():
    sock_path = f"/tmp/pw-redis-{os.getpid()}.sock"
    redis = bench = None
    try:
        try:
            redis = _spawn(["redis-server", "--port", "0", "--unixsocket", sock_path,
                            "--save", "", "--appendonly", "no"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            raise Fail("redis-server is not installed") from None
        deadline = now() + 15
        while True:
            try:
                if redis_cmd(sock_path, b"PING\r\n").startswith(b"+PONG"):
                    break
            except OSError:
                pass
            check(redis.poll() is None, f"redis-server exited ({redis.returncode})")
            check(now() < deadline, "redis-server did not answer PING within 15 s")
            time.sleep(0.02)  # poll interval of a deadline loop
        bench = _spawn(["redis-benchmark", "-s", sock_path, "-n", "200000", "-q",
                        "-t", "set,get,incr,lpush"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        deadline = now() + 15
        while True:  # the load is on once redis counts commands
            info = redis_cmd(sock_path, b"INFO stats\r\n")
            m = re.search(rb"total_commands_processed:(\d+)", info)
            if m and int(m.group(1)) > 2000:
                break
            check(bench.poll() is None, f"redis-benchmark exited ({bench.returncode})")
            check(now() < deadline, "redis-benchmark load did not start within 15 s")
            time.sleep(0.02)  # poll interval of a deadline loop
        check(bench.poll() is None, "redis-benchmark already finished")
        gdb_agreement("redis-server", redis.pid, 0.9)
    finally:
        _stop(bench)
        _stop(redis)
        try:
            os.unlink(sock_path)
        except OSError:
            pass


# ---------------------------------------------------------------- extra

def test_leaky_groups():
    """50 leaked request threads form one group; the pool is its own group."""
    with Target("leaky", 20, 50) as t:
        roles = t.wait_ready()
        pool, main_tid = set(roles["pool"]), roles["main"][0]
        deadline = now() + 15
        while True:  # all 50 leaks started and asleep
            tasks = proc_snapshot(t.pid)
            leaks = set(tasks) - pool - {main_tid}
            if len(leaks) == 50 and all(tasks[x][0] == "S" and
                                        proc_syscall(t.pid, x)[1] == 202 for x in leaks):
                break
            check(now() < deadline, f"only {len(leaks)} leaked threads after 15 s")
            time.sleep(0.02)  # poll interval of a deadline loop
        doc, _ = dump_json([t.pid])
        groups = [g for g in doc["groups"] if leaks & set(g.get("tids") or [])]
        check(len(groups) == 1, f"leaked threads spread over {len(groups)} groups")
        g = groups[0]
        check(g.get("count") == 50 and set(g.get("tids") or []) == leaks,
              f"leak group count {g.get('count')}, {len(set(g.get('tids') or []) & leaks)} "
              f"of 50 leaked tids")
        check(g.get("reason") == "cond wait", f"leak group reason {g.get('reason')!r}")
        names = fnames(g.get("frames"))
        check("wait_for_reply" in names and "handle_request" in names and
              names.index("wait_for_reply") < names.index("handle_request"),
              f"leak group frames {names}")
        parks = [th.get("park_ns", 0) for th in doc["threads"] if th.get("tid") in leaks]
        check(g.get("oldest_park_ns") == max(parks),
              f"oldest_park_ns {g.get('oldest_park_ns')} != max {max(parks)}")
        check(not pool & set(g.get("tids") or []), "pool threads grouped with the leak")


def test_condwait_10k():
    with Target("condwait", 10000) as t:
        tids = set(t.wait_ready()["cond"])
        check(len(tids) == 10000, f"READY lists {len(tids)} tids")
        doc, res = dump_json([t.pid])
        threads = by_tid(doc)
        bad = [tid for tid in tids if threads.get(tid, {}).get("reason") != "cond wait"]
        check(not bad, f"{len(bad)} of 10000 threads absent or not in cond wait, e.g. "
                       f"{[(x, threads.get(x, {}).get('reason')) for x in bad[:3]]}")
        groups = [g for g in doc["groups"] if tids & set(g.get("tids") or [])]
        check(len(groups) == 1 and groups[0].get("count") == 10000,
              f"group counts {[g.get('count') for g in groups]}, expected one of 10000")
        check(res.t1 - res.t0 < 30, f"dump of 10000 threads took {res.t1 - res.t0:.1f} s")


# ---------------------------------------------------------------- 7. pprof and folded

# pprof reason labels -> the kernel-side reason the tier-1 comments are keyed by
FUTEX_REASONS = ("cond wait", "mutex lock", "rwlock", "semacquire", "thread join", "futex")
KERNEL_REASONS = ("futex", "epoll wait", "poll", "sleep", "IO wait", "child wait",
                  "signal wait", "uninterruptible", "stopped", "other")
TIER1_RE = re.compile(r"^parkwatch tier1 pid=(\d+) reason=(.+) closed_parks=(\d+) "
                      r"closed_ns=(\d+) open_parks=(\d+) open_ns=(\d+)$")


def kernel_reason(reason):
    if reason in FUTEX_REASONS:
        return "futex"
    if reason == "IO wait" or reason.startswith("IO wait ("):
        return "IO wait"
    if reason in KERNEL_REASONS:
        return reason
    return "other"  # a syscall name, or "sleeping"


def _pb_varint(buf, i):
    value = shift = 0
    while True:
        check(i < len(buf), "profile: truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _pb_fields(buf):
    """[(field number, wire type, value)] of one message: the wire format, no schema."""
    out, i = [], 0
    while i < len(buf):
        key, i = _pb_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _pb_varint(buf, i)
        elif wire == 1:
            value, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wire == 2:
            n, i = _pb_varint(buf, i)
            value, i = bytes(buf[i:i + n]), i + n
        elif wire == 5:
            value, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise Fail(f"profile: field {field} has wire type {wire}")
        out.append((field, wire, value))
    check(i == len(buf), "profile: message overruns its buffer")
    return out


def _pb_ints(fields, num, signed=False):
    """Every value of a repeated integer field, packed or not."""
    vals = []
    for field, wire, value in fields:
        if field != num:
            continue
        if wire == 2:
            j = 0
            while j < len(value):
                x, j = _pb_varint(value, j)
                vals.append(x)
        else:
            vals.append(value)
    if signed:
        vals = [v - (1 << 64) if v >= 1 << 63 else v for v in vals]
    return vals


def _pb_int(fields, num):
    vals = _pb_ints(fields, num, signed=True)
    return vals[-1] if vals else 0


def decode_profile(path):
    """A pprof profile (gzip'd profile.proto) as plain Python values; every
    string index and id reference is checked on the way."""
    with open(path, "rb") as f:
        raw = f.read()
    check(raw[:2] == b"\x1f\x8b", f"{path}: not gzip (starts {raw[:2]!r})")
    try:
        top = _pb_fields(gzip.decompress(raw))
    except (OSError, EOFError) as e:
        raise Fail(f"{path}: bad gzip: {e}") from None
    strings = [v.decode("utf-8") for f, w, v in top if f == 6]
    check(strings and strings[0] == "", f"string_table[0] is not empty: {strings[:1]}")

    def s(idx):
        check(0 <= idx < len(strings), f"string index {idx} outside the table ({len(strings)})")
        return strings[idx]

    def sub(num):
        return [_pb_fields(v) for f, w, v in top if f == num]

    def value_type(fs):
        return (s(_pb_int(fs, 1)), s(_pb_int(fs, 2)))

    prof = {"strings": strings, "sample_types": [value_type(fs) for fs in sub(1)]}
    period_types = sub(11)
    prof["period_type"] = value_type(period_types[-1]) if period_types else None
    for name, num in (("time_nanos", 9), ("duration_nanos", 10), ("period", 12)):
        prof[name] = _pb_int(top, num)
    prof["default_sample_type"] = s(_pb_int(top, 14))
    prof["comments"] = [s(i) for i in _pb_ints(top, 13, signed=True)]
    prof["functions"] = {}
    for fs in sub(5):
        prof["functions"][_pb_int(fs, 1)] = (s(_pb_int(fs, 2)), s(_pb_int(fs, 4)))
    prof["mappings"] = []   # in file order: the first is the main binary
    for fs in sub(3):
        prof["mappings"].append({
            "id": _pb_int(fs, 1), "start": _pb_int(fs, 2), "limit": _pb_int(fs, 3),
            "file": s(_pb_int(fs, 5)), "build_id": s(_pb_int(fs, 6)),
            "flags": tuple(bool(_pb_int(fs, n)) for n in (7, 8, 9, 10))})
    mapping_ids = {m["id"] for m in prof["mappings"]}
    prof["locations"] = {}
    for fs in sub(4):
        lines = [(_pb_int(lf, 1), _pb_int(lf, 2))
                 for lf in (_pb_fields(v) for f, w, v in fs if f == 4)]
        loc = {"mapping": _pb_int(fs, 2), "address": _pb_int(fs, 3), "lines": lines}
        lid = _pb_int(fs, 1)
        check(lid and lid not in prof["locations"], f"location id {lid} zero or repeated")
        check(loc["mapping"] == 0 or loc["mapping"] in mapping_ids,
              f"location {lid}: mapping {loc['mapping']} does not exist")
        check(all(fid in prof["functions"] for fid, _ in lines),
              f"location {lid}: a function id of {lines} does not exist")
        prof["locations"][lid] = loc
    prof["samples"] = []
    for fs in sub(2):
        labels = {}
        for lf in (_pb_fields(v) for f, w, v in fs if f == 3):
            key, sidx = s(_pb_int(lf, 1)), _pb_int(lf, 2)
            labels[key] = s(sidx) if sidx else _pb_int(lf, 3)
        locs = _pb_ints(fs, 1)
        check(all(lid in prof["locations"] for lid in locs),
              f"a sample's location ids {locs} do not all exist")
        prof["samples"].append({"locations": locs, "values": _pb_ints(fs, 2, signed=True),
                                "labels": labels})
    return prof


def profile_names(prof, sample):
    """Function names of a sample, leaf first, inlined frames expanded innermost first."""
    names = []
    for lid in sample["locations"]:
        for fid, _ in prof["locations"][lid]["lines"]:
            names.append(prof["functions"][fid][0])
    return names


def check_sample_shape(prof, kind, pids):
    """The fields every parkwatch profile has, and the labels of every sample."""
    first = "threads" if kind == "snapshot" else "samples"
    check(prof["sample_types"] == [(first, "count"), ("parked", "nanoseconds")],
          f"sample types {prof['sample_types']}")
    check(prof["default_sample_type"] == first,
          f"default_sample_type {prof['default_sample_type']!r}, expected {first!r}")
    want_period = (first, "count") if kind == "snapshot" else ("parked", "nanoseconds")
    check(prof["period_type"] == want_period, f"period_type {prof['period_type']}")
    check(prof["samples"], "the profile has no samples")
    for i, sample in enumerate(prof["samples"]):
        w = f"sample {i + 1}"
        check(len(sample["values"]) == 2, f"{w}: {len(sample['values'])} values")
        check(sample["values"][0] > 0 and sample["values"][1] >= 0,
              f"{w}: values {sample['values']}")
        labels = sample["labels"]
        for key in ("reason", "state", "timeout", "comm"):
            check(isinstance(labels.get(key), str) and labels[key],
                  f"{w}: label {key} is {labels.get(key)!r}, expected a non-empty string")
        check(labels["timeout"] in ("none", "finite"), f"{w}: timeout {labels['timeout']!r}")
        check(labels.get("pid") in pids, f"{w}: pid label {labels.get('pid')!r} not in {pids}")


def go_pprof(args, path):
    """stdout of `go tool pprof ARGS PATH`: the independent reader.  No
    symbolization: it must read what is in the file."""
    env = dict(os.environ, HOME=os.environ.get("HOME") or tempfile.gettempdir(),
               GOCACHE=os.path.join(tempfile.gettempdir(), "parkwatch-gocache"),
               PPROF_TMPDIR=tempfile.gettempdir())
    cmd = ["go", "tool", "pprof", "-symbolize=none"] + list(args) + [path]
    try:
        cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                            env=env)
    except FileNotFoundError:
        raise Fail("go is not installed (go tool pprof reads the profiles)") from None
    except subprocess.TimeoutExpired:
        raise Fail(f"go tool pprof {' '.join(args)} did not finish within 60 s") from None
    err = cp.stderr.decode("utf-8", "replace").strip()
    check(cp.returncode == 0,
          f"go tool pprof {' '.join(args)}: exit {cp.returncode}: {err[:300]!r}")
    return cp.stdout.decode("utf-8", "replace")


def raw_samples(text):
    """[(values, labels)] of the Samples section of `go tool pprof -raw`."""
    lines = text.splitlines()
    check("Samples:" in lines, f"go tool pprof -raw printed no Samples section: {text[:200]!r}")
    samples = []
    for line in lines[lines.index("Samples:") + 2:]:
        if not line.startswith(" "):
            break
        m = re.match(r"^\s+(-?\d+(?:\s+-?\d+)*): ", line)
        if m:
            samples.append(([int(v) for v in m.group(1).split()], {}))
        elif samples:
            for key, val in re.findall(r"(\w+):\[([^\]]*)\]", line):
                samples[-1][1][key] = val
    return samples


def wait_in_syscall(pid, tid, nr, timeout=5.0):
    """Until /proc shows the task asleep in syscall NR."""
    deadline = now() + timeout
    while True:
        state, got = proc_syscall(pid, tid)
        if state == "S" and got == nr:
            return
        check(now() < deadline, f"tid {tid} not asleep in syscall {nr} within {timeout:.0f} s "
                                f"(state {state}, syscall {got})")
        time.sleep(0.01)  # poll interval of a deadline loop


def no_temp_files(directory, name):
    left = [f for f in os.listdir(directory) if f.startswith(name + ".tmp.")]
    check(not left, f"temporary files left behind in {directory}: {left}")


def test_pprof_snapshot_condwait():
    src = os.path.join(TARGET_SRC, "condwait.c")
    with Target("condwait", 100) as t, tempfile.TemporaryDirectory(prefix="pw-pprof-") as d:
        tids = t.wait_ready()["cond"]
        wait_in_syscall(t.pid, t.pid, 34)  # main, in pause(): 101 parked threads
        path = os.path.join(d, "snapshot.pb.gz")
        res = run_pw(["-p", t.pid, "--dump", "--format", "pprof", "--min-park", "0", "-o", path])
        check(res.rc == 0, pw_error(res.rc, res.err))
        check(res.out == "", f"stdout not empty with -o: {res.out[:100]!r}")
        check(os.path.isfile(path), f"{path} was not written")
        no_temp_files(d, "snapshot.pb.gz")
        doc, res2 = dump_json([t.pid])
        procs = [p for p in doc["processes"] if p.get("pid") == t.pid]
        check(len(procs) == 1 and procs[0].get("parked") == 101,
              f"JSON dump: parked {[p.get('parked') for p in procs]}, expected 101")
        check(doc["parked_total"] == 101, f"JSON parked_total {doc['parked_total']} != 101")

        # our own reading of the file
        prof = decode_profile(path)
        check_sample_shape(prof, "snapshot", [t.pid])
        total = sum(s["values"][0] for s in prof["samples"])
        check(total == 101 == procs[0]["parked"],
              f"{total} threads in the profile, JSON parked {procs[0]['parked']}, expected 101")
        cond = [s for s in prof["samples"] if s["labels"]["reason"] == "cond wait"]
        check(len(cond) == 1 and cond[0]["values"][0] == 100,
              f"cond wait samples {[s['values'] for s in cond]}, expected one of 100 threads")
        groups = [g for g in doc["groups"] if set(tids) & set(g.get("tids") or [])]
        check(len(groups) == 1, f"JSON: cond tids in {len(groups)} groups")
        names = profile_names(prof, cond[0])
        check(names == fnames(groups[0].get("frames")),
              f"profile stack {names} != JSON group stack {fnames(groups[0].get('frames'))}")
        # the profile was taken first: its park ages are below the JSON dump's
        json_ns = sum(th["park_ns"] for th in doc["threads"] if th.get("tid") in set(tids))
        prof_ns = cond[0]["values"][1]
        check(0 < prof_ns <= json_ns <= prof_ns + 100 * (res2.t1 - res.t0) * NS,
              f"cond wait parked ns {prof_ns} vs JSON {json_ns} taken "
              f"{res2.t1 - res.t0:.2f} s later")
        exe = os.path.realpath(os.path.join(TARGETS, "condwait"))
        check(prof["mappings"] and prof["mappings"][0]["file"] == exe,
              f"first mapping {prof['mappings'][0]['file'] if prof['mappings'] else None!r}, "
              f"expected the main binary {exe}")
        check(prof["mappings"][0]["flags"][:3] == (True, True, True),
              f"main binary mapping has_functions/filenames/line_numbers "
              f"{prof['mappings'][0]['flags'][:3]}")

        # the independent reader
        raw = raw_samples(go_pprof(["-raw"], path))
        check(sum(v[0] for v, _ in raw) == 101,
              f"go tool pprof -raw: {sum(v[0] for v, _ in raw)} threads, expected 101")
        check(all(lab.get("pid") == str(t.pid) for _, lab in raw),
              f"go tool pprof -raw: pid labels {[lab.get('pid') for _, lab in raw]}")
        check(sorted(v for v, _ in raw) == sorted(s["values"] for s in prof["samples"]),
              "go tool pprof -raw and the decoded profile disagree on the values")
        top = go_pprof(["-top"], path)
        check(re.search(r"^Type: threads$", top, re.M), f"-top: no `Type: threads`: {top[:200]!r}")
        check(re.search(r"accounting for 101, 100% of 101 total", top),
              f"-top: not 101 threads in total: {top[:400]!r}")
        rows = {}
        for m in re.finditer(r"^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(\S+)", top, re.M):
            rows[m.group(3)] = int(m.group(2))
        for fn in ("level_three", "level_two", "level_one", "thread_main", "pthread_cond_wait"):
            check(rows.get(fn) == 100, f"-top: {fn} cum {rows.get(fn)}, expected 100 threads")
        check(rows.get("main") == 1, f"-top: main cum {rows.get('main')}, expected 1")
        traces = go_pprof(["-traces", "-lines"], path)
        block = next((b for b in traces.split("-----------+") if re.search(r"^\s+100\s", b, re.M)),
                     None)
        check(block, f"-traces: no trace of 100 threads: {traces[:400]!r}")
        m = re.search(r"^\s+level_three (\S*condwait\.c):(\d+)$", block, re.M)
        check(m, f"-traces -lines: no `level_three .../condwait.c:LINE` in {block!r}")
        first, last = func_lines(src, "level_three")
        check(os.path.isabs(m.group(1)) and first <= int(m.group(2)) <= last,
              f"-traces: level_three at {m.group(1)}:{m.group(2)}, outside "
              f"condwait.c:{first}-{last}")
        check(re.search(r"^\s+reason:\s+cond wait$", block, re.M) and
              re.search(r"^\s+pid:\s+%d$" % t.pid, block, re.M),
              f"-traces: cond wait/pid labels missing: {block[:300]!r}")


def test_folded_condwait():
    with Target("condwait", 4) as t:
        t.wait_ready()
        wait_in_syscall(t.pid, t.pid, 34)
        res = run_pw(["-p", t.pid, "--dump", "--format", "folded", "--min-park", "0"])
        check(res.rc == 0, pw_error(res.rc, res.err))
        doc, _ = dump_json([t.pid])
        lines = res.out.splitlines()
        check(len(lines) == 2, f"{len(lines)} folded lines, expected 2: {res.out[:400]!r}")
        check(lines == sorted(lines), f"folded lines not sorted: {lines}")
        got = []
        for line in lines:
            m = re.match(r"^(\S.*) (\d+)$", line)
            check(m, f"folded line is not `STACK WEIGHT`: {line!r}")
            got.append((m.group(1).split(";"), int(m.group(2))))
        # the same stacks as the JSON groups, root first, the reason as the leaf
        want = []
        for g in doc["groups"]:
            names = []
            for f in reversed(g.get("frames") or []):
                if f.get("function"):
                    names.append(f["function"].replace(";", ":"))
                else:
                    module = os.path.basename(f.get("module") or "[unknown]")
                    names.append(f"{module}+{f.get('offset')}")
            want.append((names + [f"[{g['reason']}]"], g["count"]))
        check(sorted(got) == sorted(want), f"folded {got} != JSON groups {want}")
        by_leaf = {names[-1]: (names, w) for names, w in got}
        check(set(by_leaf) == {"[cond wait]", "[signal wait]"}, f"leaves {sorted(by_leaf)}")
        names, w = by_leaf["[cond wait]"]
        run = ["thread_main", "level_one", "level_two", "level_three", "pthread_cond_wait"]
        check(w == 4, f"cond wait weight {w}, expected 4")
        check("clone" in names[0], f"cond wait stack root {names[0]!r}, expected clone")
        check(any(names[i:i + len(run)] == run for i in range(len(names))),
              f"cond wait stack {names} lacks {run} in order")
        names, w = by_leaf["[signal wait]"]
        check(w == 1, f"signal wait weight {w}, expected 1")
        check(names[0] == "_start" and names[-3:] == ["main", "pause", "[signal wait]"],
              f"signal wait stack {names}, expected _start ... main;pause")


def test_pprof_window_mixed():
    """30 s window over a growing leak (leaky 50) and every kind of wait (mixed):
    per process and kernel-side reason, the sampled parked time agrees with the
    tier-1 totals of the comments within 10 %.  Expected gaps, all well inside:
    a thread that parks during an interval weighs the whole interval (leaky's
    futex, about +2 %); leaky's main thread wakes every 50 ms and, with mixed's
    spinner holding a CPU, waits runnable for a few % of the time, which the
    snapshots see at 500 ms = 10 x 50 ms always at the same phase."""
    interval_ns, duration_ns = NS // 2, 30 * NS
    floor_ns = 2 * interval_ns  # below this, sampling every interval cannot resolve it
    with Target("leaky", 50) as leaky, Target("mixed") as mixed, \
            tempfile.TemporaryDirectory(prefix="pw-pprof-") as d:
        leaky.wait_ready()
        mixed.wait_ready()
        pids = [leaky.pid, mixed.pid]
        path = os.path.join(d, "window.pb.gz")
        res = run_pw(["-p", leaky.pid, "-p", mixed.pid, "--duration", "30s", "--interval",
                      "500ms", "--format", "pprof", "-o", path], timeout=90)
        check(res.rc == 0, pw_error(res.rc, res.err))
        check(os.path.isfile(path), f"{path} was not written")
        no_temp_files(d, "window.pb.gz")
        prof = decode_profile(path)
        check_sample_shape(prof, "window", pids)
        check(prof["period"] == interval_ns, f"period {prof['period']}, expected {interval_ns}")
        dur = prof["duration_nanos"]
        check(abs(dur - duration_ns) <= 0.05 * duration_ns,
              f"duration_nanos {dur} not within 5 % of 30 s")
        wall = (res.t1 - res.t0) * NS
        check(dur <= wall, f"duration_nanos {dur} longer than the run ({wall / NS:.2f} s)")
        raw_text = go_pprof(["-raw"], path)
        raw = raw_samples(raw_text)
        check(sorted(v for v, _ in raw) == sorted(s["values"] for s in prof["samples"]),
              "go tool pprof -raw and the decoded profile disagree on the values")
        raw_comments = [line[len("Comment: "):] for line in raw_text.splitlines()
                        if line.startswith("Comment: ")]
        check(raw_comments == prof["comments"],
              f"go tool pprof -raw comments {raw_comments[:2]} != decoded {prof['comments'][:2]}")
        sampled = {}
        for s in prof["samples"]:
            key = (s["labels"]["pid"], kernel_reason(s["labels"]["reason"]))
            sampled[key] = sampled.get(key, 0) + s["values"][1]
        tier1, bad = {}, []
        for c in prof["comments"]:
            m = TIER1_RE.match(c)
            if not m:
                bad.append(c)
                continue
            key = (int(m.group(1)), m.group(2))
            check(key not in tier1, f"two tier1 comments for {key}")
            check(key[1] in KERNEL_REASONS, f"comment names unknown reason {key[1]!r}: {c!r}")
            tier1[key] = tuple(int(m.group(i)) for i in range(3, 7))
        check(not bad, f"comments not in the tier1 format: {bad[:3]}")
        errors = []
        for key in sorted(set(sampled) | set(tier1), key=lambda k: (k[0], k[1])):
            pid, reason = key
            s_ns = sampled.get(key, 0)
            closed, closed_ns, opened, open_ns = tier1.get(key, (0, 0, 0, 0))
            t_ns = closed_ns + open_ns
            ratio = s_ns / t_ns if t_ns else float("inf")
            who = "leaky" if pid == leaky.pid else "mixed"
            print(f"window agreement {who} {reason}: sampled {s_ns / NS:.3f} s, tier1 "
                  f"{t_ns / NS:.3f} s ({closed} closed {closed_ns / NS:.3f} s, {opened} open "
                  f"{open_ns / NS:.3f} s), ratio {ratio:.3f}", flush=True)
            if max(s_ns, t_ns) < floor_ns:
                continue
            if key not in tier1:
                errors.append(f"{who} {reason}: {s_ns / NS:.3f} s sampled but no tier1 comment")
            elif abs(s_ns - t_ns) > 0.10 * t_ns:
                errors.append(f"{who} {reason}: sampled {s_ns / NS:.3f} s vs tier1 "
                              f"{t_ns / NS:.3f} s, off by {abs(s_ns - t_ns) / t_ns:.1%}")
        for pid in pids:
            check(any(k[0] == pid for k in sampled), f"no samples of pid {pid}")
        check(not errors, "; ".join(errors))


def test_pprof_sigint():
    need_parkwatch()
    with Target("condwait", 4) as t, tempfile.TemporaryDirectory(prefix="pw-pprof-") as d:
        t.wait_ready()
        path = os.path.join(d, "partial.pb.gz")
        errf = tempfile.TemporaryFile()
        t0 = now()
        proc = _spawn([PARKWATCH, "-p", str(t.pid), "--duration", "60s", "--format", "pprof",
                       "-o", path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf)
        try:
            time.sleep(3)  # the run collects for ~3 s (not synchronisation)
            check(proc.poll() is None, f"parkwatch exited early ({proc.returncode})")
            os.kill(proc.pid, signal.SIGINT)
            try:
                out, _ = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                raise Fail("parkwatch did not exit within 20 s of SIGINT") from None
            errf.seek(0)
            err = errf.read().decode("utf-8", "replace")
        finally:
            _stop(proc)
            errf.close()
        if proc.returncode != 0 and bpf_failure(proc.returncode, err):
            raise Fail(bpf_failure(proc.returncode, err))
        check(proc.returncode == 0, f"exit {proc.returncode} after SIGINT, expected 0 "
                                    f"(stderr {err.strip()[:200]!r})")
        check(out == b"", f"stdout not empty with -o: {out[:100]!r}")
        check(os.path.isfile(path), f"{path} was not written after SIGINT")
        check(os.listdir(d) == ["partial.pb.gz"], f"files left in the directory: {os.listdir(d)}")
        go_pprof(["-raw"], path)
        prof = decode_profile(path)
        check_sample_shape(prof, "window", [t.pid])
        dur = prof["duration_nanos"]
        check(2 * NS <= dur <= 10 * NS and dur <= (now() - t0) * NS,
              f"duration_nanos {dur / NS:.3f} s, expected 2-10 s")
        cond = sum(s["values"][0] for s in prof["samples"] if s["labels"]["reason"] == "cond wait")
        check(cond >= 4, f"{cond} cond wait samples, expected at least one per thread")


def test_pprof_errors():
    with tempfile.TemporaryDirectory(prefix="pw-pprof-") as d:
        # a directory that does not exist: nothing to write into
        res = run_pw(["-p", os.getpid(), "--dump", "--format", "pprof", "-o",
                      "/nonexistent/dir/x.pb.gz"], timeout=30)
        if res.rc != 1 and bpf_failure(res.rc, res.err):
            raise Fail(bpf_failure(res.rc, res.err))
        check(res.rc == 1, f"-o /nonexistent/dir/x.pb.gz: exit {res.rc}, expected 1 "
                           f"(stderr {res.err.strip()[:200]!r})")
        one_stderr_line(res.err, "-o /nonexistent/dir/x.pb.gz")
        check(res.out == "", f"stdout not empty: {res.out[:100]!r}")
        check(not os.path.exists("/nonexistent"), "/nonexistent was created")
        # the final name is a directory: the profile is written, the rename
        # fails, and the temporary file must go
        taken = os.path.join(d, "taken")
        os.mkdir(taken)
        res = run_pw(["-p", os.getpid(), "--dump", "--format", "pprof", "-o", taken], timeout=30)
        check(res.rc == 1, f"-o DIRECTORY: exit {res.rc}, expected 1 "
                           f"(stderr {res.err.strip()[:200]!r})")
        one_stderr_line(res.err, "-o DIRECTORY")
        check(os.listdir(d) == ["taken"] and os.listdir(taken) == [],
              f"-o DIRECTORY left files behind: {os.listdir(d)} {os.listdir(taken)}")
    # a binary profile to a terminal without -o
    need_parkwatch()
    master, slave = pty.openpty()
    try:
        cp = subprocess.run([PARKWATCH, "-p", str(os.getpid()), "--dump", "--format", "pprof"],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                            timeout=30)
        os.close(slave)
        slave = None
        written = b""
        while select.select([master], [], [], 0)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            written += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    err = cp.stderr.decode("utf-8", "replace")
    check(cp.returncode == 2, f"pprof to a terminal: exit {cp.returncode}, expected 2 "
                              f"(stderr {err.strip()[:200]!r})")
    one_stderr_line(err, "pprof to a terminal")
    check(written == b"", f"wrote {len(written)} bytes to the terminal: {written[:60]!r}")


# ---------------------------------------------------------------- main

TESTS = [
    ("condwait_json", test_condwait_json),
    ("park_estimate_cross_cpu", test_park_estimate_cross_cpu),
    ("condwait_groups", test_condwait_groups),
    ("condwait_text", test_condwait_text),
    ("condwait_debug1", test_condwait_debug1),
    ("mixed_reasons", test_mixed_reasons),
    ("live_late_thread", test_live_late_thread),
    ("errors_unknown_pid", test_errors_unknown_pid),
    ("errors_bad_interval", test_errors_bad_interval),
    ("errors_bad_debug", test_errors_bad_debug),
    ("errors_not_root", test_errors_not_root),
    ("exit_single_target", test_exit_single_target),
    ("exit_one_of_two", test_exit_one_of_two),
    ("gdb_condwait", test_gdb_condwait),
    ("gdb_mixed", test_gdb_mixed),
    ("gdb_redis", test_gdb_redis),
    ("leaky_groups", test_leaky_groups),
    ("condwait_10k", test_condwait_10k),
    ("pprof_snapshot_condwait", test_pprof_snapshot_condwait),
    ("folded_condwait", test_folded_condwait),
    ("pprof_window_mixed", test_pprof_window_mixed),
    ("pprof_sigint", test_pprof_sigint),
    ("pprof_errors", test_pprof_errors),
]

# parkwatch --http: tests/integration/http_tests.py, with this module's helpers
sys.path.insert(0, HERE)
import http_tests  # noqa: E402
TESTS += http_tests.tests(sys.modules[__name__])
import leak_tests  # noqa: E402
TESTS += leak_tests.tests(sys.modules[__name__])
# goroutine mode against the Go runtime's own dumps: tests/integration/go_oracle.py
import go_oracle  # noqa: E402
TESTS += go_oracle.TESTS


def main(argv):
    if len(argv) == 3 and argv[1] == "--proc-snapshot":
        for tid, (state, vol, nonvol) in sorted(proc_snapshot(int(argv[2])).items()):
            print(f"PWSNAP {tid} {state} {vol} {nonvol}")
        return 0
    only = []
    args = argv[1:]
    while args:
        if args[0] == "--only" and len(args) > 1:
            only.append(args[1])
            args = args[2:]
        else:
            print(f"usage: {argv[0]} [--only SUBSTRING]...", file=sys.stderr)
            return 2
    os.chdir(REPO)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    passed = failed = 0
    try:
        for name, fn in TESTS:
            if only and not any(o in name for o in only):
                continue
            t0 = now()
            try:
                fn()
            except Fail as e:
                failed += 1
                print(f"FAIL {name}: {e}", flush=True)
            except Exception as e:  # a test bug or an unexpected document shape
                failed += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            else:
                passed += 1
                print(f"ok {name}", flush=True)
            if os.environ.get("PW_TEST_TIMES"):
                print(f"  ({now() - t0:.1f} s)", file=sys.stderr)
    finally:
        _stop_all()
    print(f"integration: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
