# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Leak trends: `--leaks` and the live "trend" objects against
build/targets/leakmix, one process that mixes a leaking group of threads with
healthy ones (a fixed pool fed every 20 ms, an event loop and a ticker, mutex
contention, bursts of short-lived threads).

To stay within about a minute and a half of wall time, the watches run in two
phases of parallel jobs (at most three parkwatch instances at once, on two
targets): the first test of a phase runs the whole phase and each test of the
phase reports its own job's verdict.

  phase "30s"  leakmix --healthy --cond 10: a live JSON watch (1 s interval)
                   and a text `--leaks --duration 30s`
               leakmix --healthy --pipe 10: a live JSON watch
  phase "60s"  leakmix --healthy: a live JSON watch and `--leaks --format json`
               leakmix --healthy --cond 10: `--leaks --duration 60s --format json`

The true leak rate comes from the target's own count (its LEAKED line, asked
for with SIGUSR1 just before parkwatch starts and just after it ends).
"""

import os
import re
import signal
import threading

from pwtest import NS, TARGET_SRC, Fail, check, func_lines, now
from pwtest import docs
from pwtest.parkwatch import Live, parse_json, pw_error, run_pw
from pwtest.procs import Target
from pwtest.runner import selected, test

LEAK_RATE = 10               # leaked threads per second
FLAG_WITHIN = 30.0           # seconds from parkwatch's start to the first suspect line
SLOPE_TOLERANCE = 0.10       # reported slope vs the true rate
MIN_SPAN = 20.0              # the trend engine's default history before a verdict

COND = {"flag": "--cond", "key": "cond", "comm": "leak-cond", "leaf": "leak_cond_wait",
        "caller": "spawn_leaky_request", "reason": "cond wait"}
PIPE = {"flag": "--pipe", "key": "pipe", "comm": "leak-pipe", "leaf": "leak_pipe_read",
        "caller": "spawn_pipe_request", "reason": "IO wait (pipe)"}

# thread names the healthy parts of leakmix give themselves, and how many
HEALTHY_COMMS = {"pool": 8, "feeder": 1, "epoll": 1, "ticker": 1, "mutex": 4, "burster": 1}


def src():
    return os.path.join(TARGET_SRC, "leakmix.c")


def say(msg):
    print(f"  {msg}", flush=True)


# ------------------------------------------------------------ phases of jobs

class Phase:
    """Targets and jobs that run together once; results by test name."""

    def __init__(self, setup):
        self.setup = setup     # () -> (list of Targets, [(test name, job fn, args)])
        self.lock = threading.Lock()
        self.results = None    # test name -> (exception or None, info lines)

    def result(self, name):
        with self.lock:
            if self.results is None:
                self.results = self._run()
        exc, info = self.results.get(name, (Fail(f"{name}: not part of its phase"), []))
        for line in info:
            say(line)
        if exc:
            raise exc

    def _run(self):
        results = {}
        targets = []
        try:
            targets, jobs = self.setup()
            jobs = [j for j in jobs if selected(j[0])]
            threads = []
            for name, fn, args in jobs:
                info = []
                results[name] = (None, info)

                def body(name=name, fn=fn, args=args, info=info):
                    try:
                        fn(info, *args)
                    except Exception as e:  # Fail, or a test bug: reported by its test
                        results[name] = (e if isinstance(e, Fail) else
                                         Fail(f"{type(e).__name__}: {e}"), info)

                th = threading.Thread(target=body, name=name, daemon=True)
                th.start()
                threads.append(th)
            for th in threads:
                th.join(timeout=240)
                if th.is_alive():
                    results[th.name] = (Fail("job still running after 240 s"),
                                        results[th.name][1])
        except Fail as e:  # a target did not start: every test of the phase fails
            return _AllFail(e)
        finally:
            for t in targets:
                t.kill()
        return results


class _AllFail(dict):
    def __init__(self, exc):
        super().__init__()
        self.exc = exc

    def get(self, name, default=None):
        return (self.exc, [])


def start_leakmix(*args):
    """A started leakmix whose READY line has been read; its roles are t.roles."""
    t = Target("leakmix", *args)
    try:
        t.roles = t.wait_ready()
    except BaseException:
        t.kill()
        raise
    return t


def leaked(t):
    """The target's own counts: its LEAKED line, asked for with SIGUSR1."""
    os.kill(t.pid, signal.SIGUSR1)
    counts, _ = t.wait_for("LEAKED", 10)
    return counts


def true_rate(before, after, key):
    """Leaked threads per minute between two LEAKED lines."""
    dt = (after["t_ns"] - before["t_ns"]) / NS
    check(dt > 0, f"LEAKED times do not advance: {before} {after}")
    return (after[key] - before[key]) / dt * 60.0


def within(slope, rate):
    return abs(slope - rate) <= SLOPE_TOLERANCE * rate


def fn_index(names, fn, start=0):
    return next((i for i in range(start, len(names)) if names[i] == fn), None)


def check_frame_lines(frames, fns, where):
    """Each of FNS (function names) is a frame with leakmix.c's absolute path
    and a line inside that function's definition."""
    names = docs.fnames(frames)
    for fn in fns:
        f = frames[names.index(fn)]
        path = str(f.get("file") or "")
        check(os.path.isabs(path) and path.endswith("/leakmix.c"),
              f"{where}: {fn} frame file is {f.get('file')!r}, not leakmix.c's absolute path")
        first, last = func_lines(src(), fn)
        line = f.get("line")
        check(isinstance(line, int) and first <= line <= last,
              f"{where}: {fn} frame line {line!r} outside {fn}() (leakmix.c:{first}-{last})")


def check_leak_frames(frames, leak, where):
    """Leaf first: the leak's blocking function, and right after it the
    application function that created the thread, both with file:line."""
    names = docs.fnames(frames)
    i = fn_index(names, leak["leaf"])
    check(i is not None, f"{where}: no {leak['leaf']} frame in {names}")
    check(i + 1 < len(names) and names[i + 1] == leak["caller"],
          f"{where}: {leak['leaf']} is not followed by its caller {leak['caller']} "
          f"(leaf first): {names}")
    check_frame_lines(frames, (leak["leaf"], leak["caller"]), where)


# ------------------------------------------------------------ live JSON watches

class LiveWatch:
    """What a live JSON watch saw: every line's groups judged as they come."""

    def __init__(self):
        self.lines = 0
        self.last = None          # the last document
        self.t_first_line = None  # seconds after the start


def watch_live(pid, seconds, per_line):
    """Runs `parkwatch -p PID --format json --interval 1s --duration SECONDS`;
    calls per_line(doc, seconds since the start) for every line.  Returns
    (LiveWatch, start time, end time)."""
    w = LiveWatch()
    t0 = now()
    with Live(["-p", pid, "--format", "json", "--interval", "1s",
               "--duration", f"{seconds}s"], kind=docs.PICTURE) as live:
        deadline = t0 + seconds + 60
        while True:
            doc, t = live.next_doc(deadline)
            if doc is None:
                break
            live.lines.clear()  # keep no raw text: a line lists every thread
            w.lines += 1
            if w.t_first_line is None:
                w.t_first_line = t - t0
            per_line(doc, t - t0)
            w.last = doc
        try:
            rc = live.proc.wait(timeout=30)
        except Exception:
            raise Fail("parkwatch did not exit after closing its stdout") from None
        t1 = now()
        check(w.lines > 0, pw_error(rc, live.stderr_text()))
        check(rc == 0, f"live watch: {pw_error(rc, live.stderr_text())}")
    return w, t0, t1


def comms(doc):
    return {th.get("id"): th.get("comm") for th in docs.threads(doc)}


def group_desc(g):
    names = [n for n in docs.fnames(g.get("frames")) if n]
    where = next((n for n in names if not n.startswith(("__", "pthread_", "futex", "epoll_",
                                                        "read", "nanosleep", "clock_"))),
                 names[0] if names else "(no stack)")
    tr = g.get("trend") or {}
    return (f"{g.get('reason')}/{g.get('timeout')} at {where}, count {g.get('count')}, "
            f"score {tr.get('score')}, slope {tr.get('slope_per_min')}/min: "
            f"{tr.get('explanation')!r}")


def job_leak_live(info, target, leak):
    """The leak group is a suspect in some line within FLAG_WITHIN s of
    parkwatch's start, no other group ever is, and the leaked threads form
    one group whose stack reaches the function that created them."""
    state = {"first": None, "others": [], "no_trend": 0, "mixed": []}

    def per_line(doc, t):
        comm = comms(doc)
        for g in docs.groups(doc):
            tr = g.get("trend")
            if not isinstance(tr, dict):
                state["no_trend"] += 1
                continue
            tids = g.get("ids") or []
            is_leak = leak["leaf"] in docs.fnames(g.get("frames"))
            if is_leak and any(comm.get(x) != leak["comm"] for x in tids):
                state["mixed"].append(f"{t:.1f}s: {group_desc(g)}")
            if tr.get("suspect") is True:
                if is_leak and all(comm.get(x) == leak["comm"] for x in tids):
                    if state["first"] is None:
                        state["first"] = (t, g)
                else:
                    state["others"].append(f"{t:.1f}s: {group_desc(g)}")

    before = leaked(target)
    w, t0, t1 = watch_live(target.pid, FLAG_WITHIN, per_line)
    after = leaked(target)
    rate = true_rate(before, after, leak["key"])
    check(w.lines >= FLAG_WITHIN - 5, f"only {w.lines} JSON lines in {FLAG_WITHIN:.0f} s "
                                      f"at a 1 s interval")
    check(not state["no_trend"], f"{state['no_trend']} groups without a trend object")
    check(not state["others"], f"{len(state['others'])} suspect lines for groups other "
                               f"than the leak, e.g. {state['others'][:3]}")
    check(not state["mixed"], f"the {leak['leaf']} group holds other threads than "
                              f"{leak['comm']}: {state['mixed'][:2]}")
    last_leak = [g for g in docs.groups(w.last) if leak["leaf"] in docs.fnames(g.get("frames"))]
    check(len(last_leak) == 1, f"last line: {len(last_leak)} groups with {leak['leaf']} "
                               f"frames, expected one")
    g = last_leak[0]
    tr = g.get("trend") or {}
    info.append(f"{leak['comm']}: first suspect line "
                + (f"{state['first'][0]:.1f} s" if state["first"] else "never")
                + f" after parkwatch's start (first line at {w.t_first_line:.1f} s); "
                f"last line slope {tr.get('slope_per_min')}/min, true {rate:.1f}/min; "
                f"{w.lines} lines")
    check(state["first"] is not None,
          f"the leak group was never a suspect in {w.lines} lines over {t1 - t0:.1f} s; "
          f"last line: {group_desc(g)}")
    t_flag, g_flag = state["first"]
    check(t_flag <= FLAG_WITHIN, f"first suspect line {t_flag:.1f} s after parkwatch's "
                                 f"start, expected within {FLAG_WITHIN:.0f} s")
    check(g_flag.get("reason") == leak["reason"] and g_flag.get("timeout") == "none",
          f"suspect group is {g_flag.get('reason')!r}/{g_flag.get('timeout')!r}, expected "
          f"{leak['reason']!r}/'none'")
    check_leak_frames(g_flag.get("frames"), leak, "suspect group")
    # every leaked thread parked for 1.5 s (past --min-park) is in that one group
    old = {th.get("id") for th in docs.threads(w.last)
           if th.get("comm") == leak["comm"] and (th.get("park_ns") or 0) >= 1.5 * NS}
    missing = old - set(g.get("ids") or [])
    check(old and not missing, f"last line: {len(missing)} of {len(old)} {leak['comm']} "
                               f"threads parked over 1.5 s are not in the leak group")
    check(tr.get("suspect") is True, f"leak group not a suspect in the last line: "
                                     f"{group_desc(g)}")
    slope = tr.get("slope_per_min")
    check(isinstance(slope, (int, float)) and within(slope, rate),
          f"last line slope {slope}/min, true rate {rate:.1f}/min "
          f"(tolerance {SLOPE_TOLERANCE:.0%})")


# ------------------------------------------------------------ --leaks runs

def run_leaks(pid, seconds, fmt=None):
    args = ["-p", pid, "--leaks", "--duration", f"{seconds}s"]
    if fmt:
        args += ["--format", fmt]
    return run_pw(args, timeout=seconds + 60)


def leaks_doc(res, what):
    """The leak report on stdout: one JSON document of that kind."""
    return parse_json(res.out, f"{what} (stderr {res.err.strip()[:200]!r})",
                      docs.LEAK_REPORT)[0]


def check_watched(doc, seconds, what):
    w = docs.watched_ns(doc) / NS
    check(seconds - 3 <= w <= seconds + 3, f"{what}: watched_ns {w:.1f} s for "
                                           f"--duration {seconds}s")


def job_leaks_json(info, target, seconds):
    """Acceptance: exit 7, exactly one suspect, the leak, with its stack to
    the function that created it and its slope within 10 % of the true rate."""
    before = leaked(target)
    res = run_leaks(target.pid, seconds, "json")
    after = leaked(target)
    rate = true_rate(before, after, "cond")
    check(res.rc in (0, 7), pw_error(res.rc, res.err))
    doc = leaks_doc(res, "--leaks --format json")
    sus = docs.suspects(doc)
    desc = [f"{s.get('reason')}/{s.get('timeout')} {docs.fnames(s.get('frames'))[:6]} "
            f"{(s.get('trend') or {}).get('explanation')!r}" for s in sus]
    if len(sus) == 1:
        info.append(f"suspect slope {(sus[0].get('trend') or {}).get('slope_per_min')}/min, "
                    f"true {rate:.1f}/min ({after['cond'] - before['cond']} threads in "
                    f"{(after['t_ns'] - before['t_ns']) / NS:.1f} s)")
    check(res.rc == 7, f"exit {res.rc} with {len(sus)} suspects, expected 7")
    check(len(sus) == 1, f"{len(sus)} suspects, expected exactly one: {desc}")
    check_watched(doc, seconds, "--leaks --format json")
    s = sus[0]
    check(s.get("pid") == target.pid and s.get("comm") == "leakmix",
          f"suspect pid {s.get('pid')} comm {s.get('comm')!r}, expected {target.pid} "
          f"'leakmix'")
    check(s.get("reason") == "cond wait" and s.get("timeout") == "none",
          f"suspect {s.get('reason')!r}/{s.get('timeout')!r}, expected 'cond wait'/'none'")
    tr = s.get("trend")
    check(isinstance(tr, dict) and tr.get("suspect") is True and tr.get("score", 0) >= 0.5,
          f"suspect trend {tr}")
    check_leak_frames(s.get("frames"), COND, "suspect")
    slope = tr.get("slope_per_min")
    check(isinstance(slope, (int, float)) and within(slope, rate),
          f"slope {slope}/min, true rate {rate:.1f}/min (tolerance {SLOPE_TOLERANCE:.0%})")
    check(tr.get("woke") == 0 and tr.get("survivor_fraction", 0) >= 0.99,
          f"suspect members woke: woke {tr.get('woke')}, survivors "
          f"{tr.get('survivor_fraction')}")
    check(tr.get("count_now", 0) >= 0.9 * (after["cond"] - before["cond"]),
          f"suspect count_now {tr.get('count_now')}, {after['cond']} threads leaked "
          f"({after['cond'] - before['cond']} while watched)")


def job_leaks_text(info, target, seconds):
    """The text report names the leak's functions and says "no timeout"."""
    res = run_leaks(target.pid, seconds)
    check(res.rc in (0, 7), pw_error(res.rc, res.err))
    out = res.out
    heads = re.findall(r"^suspect \d+: .*$", out, re.M)
    check(res.rc == 7, f"exit {res.rc}, expected 7 (suspects found): {out[:300]!r}")
    check(re.search(r"^parkwatch leak report: watched .+, 1 suspect group$", out, re.M),
          f"no 'parkwatch leak report: ... 1 suspect group' header: {out[:200]!r}")
    check(len(heads) == 1, f"{len(heads)} 'suspect N:' lines, expected one: {heads}")
    want = f"suspect 1: process {target.pid} (leakmix), cond wait, no timeout, score "
    check(heads[0].startswith(want), f"suspect line {heads[0]!r}, expected {want!r}...")
    body = out[out.index(heads[0]):].splitlines()
    check(len(body) > 2 and "no timeout" in body[1] and "cond wait" in body[1],
          f"explanation line {body[1] if len(body) > 1 else None!r} does not say "
          f"'cond wait' with 'no timeout'")
    check(any(l.strip() == "stack:" for l in body), f"no 'stack:' in the report: {body[:4]}")
    lines = {}
    for fn in (COND["leaf"], COND["caller"]):
        m = re.search(r"^%s\(\.\.\.\)\n\t(/\S+/leakmix\.c):(\d+)\b" % re.escape(fn), out, re.M)
        check(m, f"no '{fn}(...)' frame followed by its leakmix.c:LINE in:\n{out[:1500]}")
        first, last = func_lines(src(), fn)
        check(first <= int(m.group(2)) <= last,
              f"{fn} at line {m.group(2)}, outside {fn}() (leakmix.c:{first}-{last})")
        lines[fn] = m.start()
    check(lines[COND["leaf"]] < lines[COND["caller"]],
          f"{COND['caller']} printed before {COND['leaf']} (leaf first expected)")
    info.append(f"text: {heads[0]}")


# ------------------------------------------------------------ healthy

def job_healthy(info, target, seconds):
    """No group of a healthy process is ever a suspect, though the engine had
    the history to judge them; --leaks exits 0 with no suspects."""
    state = {"suspects": [], "no_trend": 0, "missing": []}
    box = {}

    def leaks_run():
        try:
            box["res"] = run_leaks(target.pid, seconds, "json")
        except Exception as e:
            box["err"] = e

    def per_line(doc, t):
        have = {}
        for c in comms(doc).values():
            have[c] = have.get(c, 0) + 1
        short = {c: n for c, n in HEALTHY_COMMS.items() if have.get(c, 0) < n}
        if short:
            state["missing"].append(f"{t:.1f}s: {short}")
        for g in docs.groups(doc):
            tr = g.get("trend")
            if not isinstance(tr, dict):
                state["no_trend"] += 1
            elif tr.get("suspect") is not False or tr.get("score", 1) >= 0.5:
                state["suspects"].append(f"{t:.1f}s: {group_desc(g)}")

    before = leaked(target)
    th = threading.Thread(target=leaks_run, daemon=True)
    th.start()
    w, t0, t1 = watch_live(target.pid, seconds, per_line)
    th.join(timeout=seconds + 90)
    after = leaked(target)
    check(not th.is_alive(), "--leaks run did not finish")
    judged = [g for g in docs.groups(w.last)
              if (g.get("trend") or {}).get("span_ns", 0) >= MIN_SPAN * NS
              and not str((g.get("trend") or {}).get("explanation", "")).startswith("watching")]
    info.append(f"healthy: {w.lines} lines, {len(w.last.get('groups') or [])} groups in the "
                f"last, {len(judged)} judged; {after['bursts'] - before['bursts']} bursts")
    check(not state["suspects"], f"{len(state['suspects'])} suspect group-lines in a healthy "
                                 f"process, e.g. {state['suspects'][:3]}")
    check(w.lines >= seconds - 5, f"only {w.lines} JSON lines in {seconds} s at 1 s")
    check(not state["no_trend"], f"{state['no_trend']} groups without a trend object")
    check(len(judged) >= 3, f"only {len(judged)} groups with {MIN_SPAN:.0f} s of history and "
                            f"a verdict in the last line: the check above proves little")
    check(not state["missing"], f"healthy threads missing: {state['missing'][:3]}")
    check(after["bursts"] - before["bursts"] >= seconds / 3 - 2,
          f"only {after['bursts'] - before['bursts']} bursts in {seconds} s")
    if "err" in box:
        raise box["err"]
    res = box["res"]
    check(res.rc == 0, f"--leaks on a healthy process: exit {res.rc}, expected 0: "
                       f"{res.out[:400]!r} {res.err.strip()[:200]!r}")
    doc = leaks_doc(res, "--leaks --format json")
    check(docs.suspects(doc) == [], f"suspects: {docs.suspects(doc)}")
    check_watched(doc, seconds, "--leaks --format json")


# ------------------------------------------------------------ the phases

def _setup_30s():
    cond = start_leakmix("--healthy", "--cond", LEAK_RATE)
    try:
        pipe = start_leakmix("--healthy", "--pipe", LEAK_RATE)
    except BaseException:
        cond.kill()
        raise
    return [cond, pipe], [
        ("leak_flagged_within_30s", job_leak_live, (cond, COND)),
        ("leak_pipe_flagged_within_30s", job_leak_live, (pipe, PIPE)),
        ("leaks_text_report", job_leaks_text, (cond, FLAG_WITHIN)),
    ]


def _setup_60s():
    healthy = start_leakmix("--healthy")
    try:
        mixed = start_leakmix("--healthy", "--cond", LEAK_RATE)
    except BaseException:
        healthy.kill()
        raise
    return [healthy, mixed], [
        ("healthy_never_flagged_60s", job_healthy, (healthy, 60)),
        ("leaks_names_exactly_the_leak", job_leaks_json, (mixed, 60)),
    ]


_PHASES = {}


def _phase(name):
    if name not in _PHASES:
        _PHASES[name] = Phase(_setup_30s if name == "30s" else _setup_60s)
    return _PHASES[name]


@test
def test_leak_flagged_within_30s():
    """Condvar leak (10/s) next to every healthy part, live JSON at 1 s: the
    leak group is a suspect within 30 s and nothing else ever is."""
    _phase("30s").result("leak_flagged_within_30s")


@test
def test_leak_pipe_flagged_within_30s():
    """The same for threads leaked in read() on a pipe nobody writes."""
    _phase("30s").result("leak_pipe_flagged_within_30s")


@test
def test_leaks_text_report():
    """`--leaks --duration 30s` text on the condvar leak: exit 7, one suspect,
    'no timeout', the leak's functions with leakmix.c:LINE."""
    _phase("30s").result("leaks_text_report")


@test
def test_healthy_never_flagged_60s():
    """Pool, event loop, ticker, mutex contention, bursts: 60 s of live JSON
    with no suspect, and `--leaks --duration 60s` exits 0 with none."""
    _phase("60s").result("healthy_never_flagged_60s")


@test
def test_leaks_names_exactly_the_leak():
    """Acceptance: `--leaks --duration 60s --format json` on the mixed process
    exits 7 with exactly the condvar leak, its stack to spawn_leaky_request,
    and its slope within 10 % of the true rate."""
    _phase("60s").result("leaks_names_exactly_the_leak")
