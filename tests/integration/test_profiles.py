# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""pprof and folded output: our own protobuf decoding of the file, `go tool
pprof` as the independent reader, the JSON dump and the tier-1 totals as
the references."""

import os
import pty
import re
import select
import signal
import subprocess
import tempfile

from pwtest import NS, PARKWATCH, TARGET_SRC, TARGETS, Fail, check, func_lines, now, poll
from pwtest import docs
from pwtest.oracles import gdb, gopprof, proc
from pwtest.oracles.profile_pb import decode_profile, profile_names
from pwtest.parkwatch import (bpf_failure, dump_json, need_parkwatch, one_stderr_line,
                              pw_error, run_pw)
from pwtest.procs import Target, spawn, stop
from pwtest.runner import test

# pprof reason labels -> the kernel-side reason the tier-1 comments are keyed by
FUTEX_REASONS = ("cond wait", "mutex lock", "rwlock", "rwlock read", "rwlock write", "barrier",
                 "semacquire", "thread join", "futex")
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


def no_temp_files(directory, name):
    left = [f for f in os.listdir(directory) if f.startswith(name + ".tmp.")]
    check(not left, f"temporary files left behind in {directory}: {left}")


def raw_values_agree(raw, prof):
    """go tool pprof -raw shows the decoded samples, values and all.  It leaves
    out samples without locations (a thread whose stack could not be read in
    a snapshot: the thread woke while it was copied), which its -top still
    counts in the total: top_total_agrees() checks those."""
    stacked = [s["values"] for s in prof["samples"] if s["locations"]]
    check(sorted(s.values for s in raw.samples) == sorted(stacked),
          "go tool pprof -raw and the decoded profile disagree on the values")


def top_total_agrees(path, prof):
    """go tool pprof -top counts every sample, stackless ones too."""
    top = gopprof.parse_top(gopprof.run(["-top"], path))
    total = sum(s["values"][0] for s in prof["samples"])
    check(top.total == str(total), f"go tool pprof -top: {top.total} in all, the decoded "
                                   f"profile {total}")


@test
def test_pprof_snapshot_condwait():
    src = os.path.join(TARGET_SRC, "condwait.c")
    with Target("condwait", 100) as t, tempfile.TemporaryDirectory(prefix="pw-pprof-") as d:
        tids = t.wait_ready()["cond"]
        proc.wait_in_syscall(t.pid, t.pid, proc.PAUSE)  # main, in pause(): 101 parked threads
        path = os.path.join(d, "snapshot.pb.gz")
        res = run_pw(["-p", t.pid, "--dump", "--format", "pprof", "--min-park", "0", "-o", path])
        check(res.rc == 0, pw_error(res.rc, res.err))
        check(res.out == "", f"stdout not empty with -o: {res.out[:100]!r}")
        check(os.path.isfile(path), f"{path} was not written")
        no_temp_files(d, "snapshot.pb.gz")
        doc, res2 = dump_json([t.pid])
        procs = docs.process(doc, t.pid)
        check(len(procs) == 1 and procs[0].get("parked") == 101,
              f"JSON dump: parked {[p.get('parked') for p in procs]}, expected 101")
        check(docs.parked_total(doc) == 101,
              f"JSON parked_total {docs.parked_total(doc)} != 101")

        # our own reading of the file
        prof = decode_profile(path)
        check_sample_shape(prof, "snapshot", [t.pid])
        total = sum(s["values"][0] for s in prof["samples"])
        check(total == 101 == procs[0]["parked"],
              f"{total} threads in the profile, JSON parked {procs[0]['parked']}, expected 101")
        cond = [s for s in prof["samples"] if s["labels"]["reason"] == "cond wait"]
        check(len(cond) == 1 and cond[0]["values"][0] == 100,
              f"cond wait samples {[s['values'] for s in cond]}, expected one of 100 threads")
        groups = [g for g in docs.groups(doc) if set(tids) & set(g.get("ids") or [])]
        check(len(groups) == 1, f"JSON: cond tids in {len(groups)} groups")
        names = profile_names(prof, cond[0])
        check(names == docs.fnames(groups[0].get("frames")),
              f"profile stack {names} != JSON group stack {docs.fnames(groups[0].get('frames'))}")
        # the profile was taken first: its park ages are below the JSON dump's
        json_ns = sum(th["park_ns"] for th in docs.threads(doc) if th.get("id") in set(tids))
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
        raw = gopprof.parse_raw(gopprof.run(["-raw"], path))
        check(sum(s.values[0] for s in raw.samples) == 101,
              f"go tool pprof -raw: {sum(s.values[0] for s in raw.samples)} threads, expected 101")
        check(all(s.labels.get("pid") == str(t.pid) for s in raw.samples),
              f"go tool pprof -raw: pid labels {[s.labels.get('pid') for s in raw.samples]}")
        raw_values_agree(raw, prof)
        top = gopprof.parse_top(gopprof.run(["-top"], path))
        check(top.type == "threads", f"-top: no `Type: threads`: {top.type!r}")
        check((top.accounted, top.percent, top.total) == ("101", "100", "101"),
              f"-top: not 101 threads in total: accounting for {top.accounted}, "
              f"{top.percent}% of {top.total}")
        # glibc's function, as DWARF names it (___pthread_cond_wait)
        cond_wait = [fn for fn in top.rows if gdb.norm_name(fn) == "pthread_cond_wait"]
        check(len(cond_wait) == 1, f"-top: pthread_cond_wait as {cond_wait}: {list(top.rows)}")
        for fn in ("level_three", "level_two", "level_one", "thread_main", cond_wait[0]):
            check(top.cum(fn) == 100, f"-top: {fn} cum {top.cum(fn)}, expected 100 threads")
        check(top.cum("main") == 1, f"-top: main cum {top.cum('main')}, expected 1")
        traces = gopprof.parse_traces(gopprof.run(["-traces", "-lines"], path))
        block = next((tr for tr in traces if tr.count == 100), None)
        check(block, f"-traces: no trace of 100 threads: {[tr.count for tr in traces]}")
        m = next((m for m in (re.match(r"^level_three (\S*condwait\.c):(\d+)$", n)
                              for n in block.names) if m), None)
        check(m, f"-traces -lines: no `level_three .../condwait.c:LINE` in {block.names}")
        first, last = func_lines(src, "level_three")
        check(os.path.isabs(m.group(1)) and first <= int(m.group(2)) <= last,
              f"-traces: level_three at {m.group(1)}:{m.group(2)}, outside "
              f"condwait.c:{first}-{last}")
        check(block.labels.get("reason") == "cond wait" and block.labels.get("pid") == str(t.pid),
              f"-traces: cond wait/pid labels missing: {block.labels}")


@test
def test_folded_condwait():
    with Target("condwait", 4) as t:
        t.wait_ready()
        proc.wait_in_syscall(t.pid, t.pid, proc.PAUSE)
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
        for g in docs.groups(doc):
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
        normed = [gdb.norm_name(n) for n in names]  # glibc's as DWARF names them
        check(any(normed[i:i + len(run)] == run for i in range(len(normed))),
              f"cond wait stack {names} lacks {run} in order")
        names, w = by_leaf["[signal wait]"]
        check(w == 1, f"signal wait weight {w}, expected 1")
        check(names[0] == "_start" and names[-1] == "[signal wait]" and
              [gdb.norm_name(n) for n in names[-3:-1]] == ["main", "pause"],
              f"signal wait stack {names}, expected _start ... main;pause")


def realtime(tids):
    """SCHED_FIFO for TIDS: woken, they run at once, whatever else the
    machine runs."""
    for tid in tids:
        try:
            os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(1))
        except OSError as e:
            raise Fail(f"SCHED_FIFO for tid {tid}: {e}") from None


@test
def test_pprof_window_mixed():
    """30 s window over a growing leak (leaky 50) and every kind of wait (mixed):
    per process and kernel-side reason, the sampled parked time agrees with the
    tier-1 totals of the comments within 10 %.  Expected gaps, all well inside:
    a thread that parks during an interval weighs the whole interval (leaky's
    futex, about +2 %); the tier-1 window starts a little before the first
    snapshot (under 1 %).

    A park ends when the thread runs again, so tier-1 counts the run-queue
    wait after each wakeup, which no snapshot sees as parked; on a busy
    machine (and mixed's spinner holds a CPU) that wait, and snapshots that
    catch the thread in it, grow without bound for the threads that wake
    often: leaky's main (40 times a second) went to 13 % below tier-1 with
    two busy loops beside the test.  Those threads (leaky's main and pool,
    mixed's ticker) run SCHED_FIFO here, so a wakeup runs at once and both
    sides measure the same sleep, whatever the load."""
    interval_ns, duration_ns = NS // 2, 30 * NS
    floor_ns = 2 * interval_ns  # below this, sampling every interval cannot resolve it
    with Target("leaky", 50) as leaky, Target("mixed") as mixed, \
            tempfile.TemporaryDirectory(prefix="pw-pprof-") as d:
        lr, mr = leaky.wait_ready(), mixed.wait_ready()
        realtime(lr["main"] + lr["pool"] + mr["ticker"])
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
        raw = gopprof.parse_raw(gopprof.run(["-raw"], path))
        raw_values_agree(raw, prof)
        top_total_agrees(path, prof)
        check(raw.comments == prof["comments"],
              f"go tool pprof -raw comments {raw.comments[:2]} != decoded {prof['comments'][:2]}")
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


class PtyReader:
    """The other side of a terminal a child writes to: everything it wrote."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        self.data = b""

    def read(self, timeout=0.0):
        """Reads what is there (waiting up to TIMEOUT for something); False
        once the writers are gone."""
        while select.select([self.master], [], [], timeout)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the terminal's other side is closed
                return False
            if not chunk:
                return False
            self.data += chunk
            timeout = 0.0
        return True

    def close(self):
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None


# a window's progress line on a terminal: "\rparkwatch: 2s, 5 parked threads"
PROGRESS_RE = re.compile(rb"\rparkwatch: [^,\r\n]+, \d+ parked threads")


@test
def test_pprof_sigint():
    """SIGINT 3 s into a 60 s window: exit 0, the partial profile written.
    The 3 s count from parkwatch's first picture, which its progress line on
    a terminal (stderr) announces: BPF loading and the first picture's
    symbols take their time, more on a busy machine."""
    need_parkwatch()
    with Target("condwait", 4) as t, tempfile.TemporaryDirectory(prefix="pw-pprof-") as d:
        t.wait_ready()
        path = os.path.join(d, "partial.pb.gz")
        term = PtyReader()
        t0 = now()
        pw = spawn([PARKWATCH, "-p", str(t.pid), "--duration", "60s", "--format", "pprof",
                    "-o", path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                   stderr=term.slave)
        os.close(term.slave)
        term.slave = None
        try:
            def first_picture():
                check(pw.poll() is None, pw_error(pw.returncode, term.data.decode("utf-8",
                                                                                   "replace")))
                term.read(0.1)
                return PROGRESS_RE.search(term.data)
            poll(first_picture, 60, "no progress line from parkwatch", interval=0)
            deadline = now() + 3  # the run collects for 3 s
            while now() < deadline:
                term.read(deadline - now())
            check(pw.poll() is None, f"parkwatch exited early ({pw.returncode})")
            os.kill(pw.pid, signal.SIGINT)
            try:
                out, _ = pw.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                raise Fail("parkwatch did not exit within 20 s of SIGINT") from None
            while term.read(1.0):
                pass
            err = term.data.decode("utf-8", "replace")
        finally:
            stop(pw)
            term.close()
        if pw.returncode != 0 and bpf_failure(pw.returncode, err):
            raise Fail(bpf_failure(pw.returncode, err))
        check(pw.returncode == 0, f"exit {pw.returncode} after SIGINT, expected 0 "
                                  f"(stderr {err.strip()[:200]!r})")
        check(out == b"", f"stdout not empty with -o: {out[:100]!r}")
        check(os.path.isfile(path), f"{path} was not written after SIGINT")
        check(os.listdir(d) == ["partial.pb.gz"], f"files left in the directory: {os.listdir(d)}")
        gopprof.run(["-raw"], path)
        prof = decode_profile(path)
        check_sample_shape(prof, "window", [t.pid])
        dur = prof["duration_nanos"]
        check(2 * NS <= dur <= 10 * NS and dur <= (now() - t0) * NS,
              f"duration_nanos {dur / NS:.3f} s, expected 2-10 s")
        cond = sum(s["values"][0] for s in prof["samples"] if s["labels"]["reason"] == "cond wait")
        check(cond >= 4, f"{cond} cond wait samples, expected at least one per thread")


@test
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
