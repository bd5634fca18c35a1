# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The thread view: --dump as JSON and text against the targets' own
READY lists, /proc and gdb; live JSON; exits of watched processes."""

import os
import re
import signal
import subprocess
import time

from pwtest import NS, PARKWATCH, TARGET_SRC, Fail, check, func_lines, now, poll
from pwtest import docs
from pwtest.oracles import gdb, proc
from pwtest.parkwatch import Live, bpf_failure, dump_json, dump_text, one_stderr_line, pw_error
from pwtest.procs import Target
from pwtest.runner import test


def check_level_frames(frames, src, where):
    """Leaf first: a *cond_wait* frame, then level_three, level_two, level_one."""
    names = docs.fnames(frames)
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


# ---------------------------------------------------------------- condwait

@test
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
        threads = docs.by_tid(doc)
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
        procs = docs.process(doc, t.pid)
        check(len(procs) == 1, f"processes has {len(procs)} entries for pid {t.pid}")
        check(procs[0].get("units") == 101, f"process units {procs[0].get('units')} != 101")
        check(isinstance(procs[0].get("parked"), int) and 100 <= procs[0]["parked"] <= 101,
              f"process parked {procs[0].get('parked')} not in [100, 101]")
        check(docs.units_total(doc) >= 101 and docs.parked_total(doc) >= 100,
              f"units_total {docs.units_total(doc)} parked_total {docs.parked_total(doc)}")
        check(docs.states(doc).get("sleeping", 0) >= 100,
              f"states.sleeping {docs.states(doc).get('sleeping')} < 100")


@test
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
            threads = docs.by_tid(doc)
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


@test
def test_condwait_groups():
    with Target("condwait", 100) as t:
        tids = set(t.wait_ready()["cond"])
        doc, _ = dump_json([t.pid])
        groups = [g for g in docs.groups(doc) if tids & set(g.get("ids") or [])]
        check(len(groups) == 1, f"cond tids spread over {len(groups)} groups "
                                f"(counts {[g.get('count') for g in groups]})")
        g = groups[0]
        check(g.get("count") == 100, f"group count {g.get('count')} != 100")
        check(g.get("pid") == t.pid, f"group pid {g.get('pid')} != {t.pid}")
        check(g.get("reason") == "cond wait", f"group reason {g.get('reason')!r}")
        check(g.get("timeout") == "none", f"group timeout {g.get('timeout')!r}")
        gt = set(g.get("ids") or [])
        check(gt <= tids, f"group holds foreign tids {sorted(gt - tids)[:5]}")
        check(gt == tids, f"group tids: {len(gt)} of the 100 cond tids")
        parked = [th.get("park_ns", 0) for th in docs.threads(doc) if th.get("id") in tids]
        check(g.get("oldest_park_ns") == max(parked),
              f"oldest_park_ns {g.get('oldest_park_ns')} != max park_ns {max(parked)}")
        check_level_frames(g.get("frames"), os.path.join(TARGET_SRC, "condwait.c"), "group")


@test
def test_condwait_text():
    with Target("condwait", 100) as t:
        tids = set(t.wait_ready()["cond"])
        text = dump_text(t.pid)  # --debug 2 is the default
        blocks = {}
        cur = None
        names = {}
        for line in text.splitlines():
            m = re.match(r'^thread (\d+) "((?:[^"\\]|\\.)*)" \[(.*)\]:\s*$', line)
            if m:
                cur = int(m.group(1))
                names[cur] = m.group(2)
                blocks[cur] = [m.group(3)]
            elif cur is not None:
                blocks[cur].append(line)
        cond = [tid for tid in tids if tid in blocks and blocks[tid][0].startswith("cond wait")]
        check(len(cond) == 100, f"{len(cond)} of 100 cond tids have a `thread TID \"NAME\" "
                                f"[cond wait, ...]:` header; got e.g. {text[:200]!r}")
        total = len(re.findall(r'^thread \d+ "[^"\n]*" \[cond wait', text, re.M))
        check(total == 100, f"{total} `[cond wait` headers, expected 100")
        for tid in cond:
            with open(f"/proc/{t.pid}/task/{tid}/comm") as f:
                comm = f.read().rstrip("\n")
            check(names[tid] == comm, f"thread {tid}: name {names[tid]!r}, /proc says {comm!r}")
            lines = blocks[tid]
            idx = next((i for i, l in enumerate(lines) if l.startswith("level_three(")), None)
            check(idx is not None, f"thread {tid}: no `level_three(...)` line")
            check(idx + 1 < len(lines) and
                  re.match(r"^\t/\S*condwait\.c:\d+ \+0x[0-9a-f]+$", lines[idx + 1]),
                  f"thread {tid}: level_three location line is "
                  f"{lines[idx + 1] if idx + 1 < len(lines) else None!r}")


@test
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


# ---------------------------------------------------------------- mixed

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


@test
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
            before = {tid: proc.syscall(t.pid, tid) for tid in role_of}
            doc, _ = dump_json([t.pid])
            after = {tid: proc.syscall(t.pid, tid) for tid in role_of}
            threads = docs.by_tid(doc)
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
                    if func not in docs.fnames(th.get("frames")):
                        errors.append(f"{w}: {func} not among frames "
                                      f"{docs.fnames(th.get('frames'))}")
                # /proc cross-check, when the thread slept in one syscall all along
                if th and th.get("parked"):
                    (s0, nr0), (s1, nr1) = before[tid], after[tid]
                    if s0 in ("S", "D") and s1 == s0 and nr0 == nr1 and nr0 is not None:
                        crosschecked += 1
                        want = proc.SYSCALL_NAMES.get(nr0, f"#{nr0}")
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


# ---------------------------------------------------------------- live

@test
def test_live_late_thread():
    with Target("mixed") as t:
        t.wait_ready()
        src = os.path.join(TARGET_SRC, "mixed.c")
        with Live(["-p", t.pid, "--format", "json", "--interval", "300ms",
                   "--duration", "4s", "--min-park", "0"], kind=docs.PICTURE) as live:
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
                th = docs.by_tid(doc).get(late)
                if not th or not th.get("parked"):
                    continue
                seen += 1
                w = f"late tid {late} (line {live.docs})"
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
            check(seen > 0, f"late tid {late} never parked in {live.docs} JSON lines")


# ---------------------------------------------------------------- exits

@test
def test_exit_single_target():
    with Target("condwait", 4) as t:
        t.wait_ready()
        pid = t.pid
        with Live(["-p", pid, "--format", "json", "--interval", "300ms",
                   "--duration", "3s", "--min-park", "0"], kind=docs.PICTURE) as live:
            first, _ = live.first_doc()
            t.kill()
            docs_after, rc = live.finish(15)
            err = live.stderr_text()
            if rc != 6 and bpf_failure(rc, err):
                raise Fail(bpf_failure(rc, err))
            check(rc == 6, f"exit {rc}, expected 6 (stderr {err.strip()[:200]!r})")
            line = one_stderr_line(err, "exit report")
            check(str(pid) in line, f"stderr line does not name pid {pid}: {line!r}")
            last = (docs_after or [first])[-1]
            check(pid in docs.exited(last),
                  f"last line's exited {docs.exited(last)} lacks {pid}")


@test
def test_exit_one_of_two():
    with Target("condwait", 4) as a, Target("condwait", 4) as b:
        a.wait_ready()
        b_tids = b.wait_ready()["cond"]
        with Live(["-p", a.pid, "-p", b.pid, "--format", "json", "--interval", "300ms",
                   "--duration", "3s", "--min-park", "0"], kind=docs.PICTURE) as live:
            first, _ = live.first_doc()
            pids = {p.get("pid") for p in docs.processes(first)}
            check({a.pid, b.pid} <= pids, f"first line's processes {sorted(pids)}")
            a.kill()
            docs_after, rc = live.finish(15)
            err = live.stderr_text()
            if rc != 0 and bpf_failure(rc, err):
                raise Fail(bpf_failure(rc, err))
            check(rc == 0, f"exit {rc}, expected 0 (stderr {err.strip()[:200]!r})")
            last = (docs_after or [first])[-1]
            check(a.pid in docs.exited(last),
                  f"last line's exited {docs.exited(last)} lacks {a.pid}")
            check(b.pid in {p.get("pid") for p in docs.processes(last)},
                  f"last line lost the surviving pid {b.pid}")
            threads = docs.by_tid(last)
            check(all(threads.get(tid, {}).get("reason") == "cond wait" for tid in b_tids),
                  "surviving target's threads not all in cond wait in the last line")


# ---------------------------------------------------------------- gdb

def gdb_agreement(label, pid, must_compare=()):
    """Every parked thread of PID that did not run between parkwatch's view
    and gdb's names the same functions as gdb, frame for frame (inlined and
    tail-call frames included)."""
    before = {pid: proc.snapshot(pid)}
    doc, _ = dump_json([pid])
    parked = {pid: [th for th in docs.threads(doc) if th.get("pid") == pid and th.get("parked")]}
    compared, problems = gdb.agreement(parked, before)
    print(f"gdb agreement {label}: {len(compared) - len(problems)}/{len(compared)} threads",
          flush=True)
    check(compared, "no thread was parked in both views")
    lost = [tid for tid in must_compare if (pid, tid) not in compared]
    check(not lost, f"threads {lost} were not compared (not parked in both views)")
    check(not problems, "; ".join(problems[:3]))


@test
def test_gdb_condwait():
    with Target("condwait", 8) as t:
        tids = t.wait_ready()["cond"]
        gdb_agreement("condwait", t.pid, tids)


@test
def test_gdb_mixed():
    with Target("mixed") as t:
        roles = t.wait_ready()
        must = [tid for role, tids in roles.items() if role not in ("ticker", "spin")
                for tid in tids]
        # main prints READY just before it blocks in sigwaitinfo: let it get
        # there (if it does not, gdb_agreement says which threads it missed)
        deadline = now() + 5
        while now() < deadline:
            snap = proc.snapshot(t.pid)
            if all(snap.get(tid, ("?",))[0] in ("S", "D") for tid in must):
                break
            time.sleep(0.01)  # poll interval of a deadline loop
        gdb_agreement("mixed", t.pid, must)


# ---------------------------------------------------------------- groups at scale

@test
def test_leaky_groups():
    """50 leaked request threads form one group; the pool is its own group."""
    with Target("leaky", 20, 50) as t:
        roles = t.wait_ready()
        pool, main_tid = set(roles["pool"]), roles["main"][0]
        leaks = set()

        def all_asleep():  # all 50 leaks started and asleep
            tasks = proc.snapshot(t.pid)
            leaks.clear()
            leaks.update(set(tasks) - pool - {main_tid})
            return len(leaks) == 50 and all(tasks[x][0] == "S" and
                                            proc.syscall(t.pid, x)[1] == proc.FUTEX
                                            for x in leaks)

        poll(all_asleep, 15, lambda: f"only {len(leaks)} leaked threads asleep")
        doc, _ = dump_json([t.pid])
        groups = [g for g in docs.groups(doc) if leaks & set(g.get("ids") or [])]
        check(len(groups) == 1, f"leaked threads spread over {len(groups)} groups")
        g = groups[0]
        check(g.get("count") == 50 and set(g.get("ids") or []) == leaks,
              f"leak group count {g.get('count')}, {len(set(g.get('tids') or []) & leaks)} "
              f"of 50 leaked tids")
        check(g.get("reason") == "cond wait", f"leak group reason {g.get('reason')!r}")
        names = docs.fnames(g.get("frames"))
        check("wait_for_reply" in names and "handle_request" in names and
              names.index("wait_for_reply") < names.index("handle_request"),
              f"leak group frames {names}")
        parks = [th.get("park_ns", 0) for th in docs.threads(doc) if th.get("id") in leaks]
        check(g.get("oldest_park_ns") == max(parks),
              f"oldest_park_ns {g.get('oldest_park_ns')} != max {max(parks)}")
        check(not pool & set(g.get("ids") or []), "pool threads grouped with the leak")


# The 10,000-thread dump's CPU time, BPF load included, at most this many
# times a 100-thread dump's of the same program (same debug info, same
# load): before each distinct stack was unwound once it was 2.8x here.
DUMP_10K_CPU_RATIO = 3.5


def dump_cpu_s(pid):
    """Best of three: CPU seconds (user + system) of parkwatch -p PID --dump."""
    best = None
    for _ in range(3):
        pw = subprocess.Popen([PARKWATCH, "-p", str(pid), "--dump"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _, status, usage = os.wait4(pw.pid, 0)
        finally:
            pw.returncode = 0  # reaped by wait4
        check(os.waitstatus_to_exitcode(status) == 0, f"parkwatch -p {pid} --dump: {status:#x}")
        cpu = usage.ru_utime + usage.ru_stime
        best = cpu if best is None else min(best, cpu)
    return best


@test
def test_condwait_10k():
    with Target("condwait", 10000) as t, Target("condwait", 100) as small:
        tids = set(t.wait_ready()["cond"])
        check(len(tids) == 10000, f"READY lists {len(tids)} tids")
        doc, res = dump_json([t.pid])
        threads = docs.by_tid(doc)
        bad = [tid for tid in tids if threads.get(tid, {}).get("reason") != "cond wait"]
        check(not bad, f"{len(bad)} of 10000 threads absent or not in cond wait, e.g. "
                       f"{[(x, threads.get(x, {}).get('reason')) for x in bad[:3]]}")
        groups = [g for g in docs.groups(doc) if tids & set(g.get("ids") or [])]
        check(len(groups) == 1 and groups[0].get("count") == 10000,
              f"group counts {[g.get('count') for g in groups]}, expected one of 10000")
        check(res.t1 - res.t0 < 30, f"dump of 10000 threads took {res.t1 - res.t0:.1f} s")
        small.wait_ready()
        big_s, small_s = dump_cpu_s(t.pid), dump_cpu_s(small.pid)
        check(big_s <= DUMP_10K_CPU_RATIO * small_s,
              f"--dump of 10000 threads took {big_s * 1000:.0f} ms of CPU, over "
              f"{DUMP_10K_CPU_RATIO}x the {small_s * 1000:.0f} ms of 100 threads")
    return f"--dump CPU: 10000 threads {big_s * 1000:.0f} ms, 100 threads {small_s * 1000:.0f} ms"
