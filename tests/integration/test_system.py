# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Whole-system mode at scale and over time: hundreds of processes under a
low fd limit, exited-thread totals under churn, a pid that is reused, a
process that execs."""

import json
import os
import resource
import signal
import subprocess

from pwtest import TARGETS, Fail, check, docs, now, poll
from pwtest.oracles import proc
from pwtest.oracles.promtool import metric_sum, parse_metrics
from pwtest.parkwatch import Live, Server, parse_json, parse_output, pw_error, run_pw
from pwtest.procs import LineReader, Target, spawn, stop
from pwtest.runner import test

FARM = 600                 # processes, past the ~490 that used to exhaust 1024 fds
LOW_NOFILE = 256
# Each process has a libdwfl session of its own to build: about 60 ms of CPU
# here, and the machine may be busy.
FARM_TIMEOUT = 300


def nofile(soft, hard=None):
    """A preexec_fn giving parkwatch an fd limit of SOFT (and HARD)."""
    def apply():
        _, old_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, old_hard if hard is None else hard))
    return apply


def farm_children(t):
    children = t.wait_ready(timeout=120)["children"]
    check(len(children) == FARM, f"forkfarm READY lists {len(children)} children")
    asleep = [pid for pid in children if proc.syscall(pid, pid) == ("S", proc.PAUSE)]
    check(len(asleep) == FARM, f"/proc: {FARM - len(asleep)} children not asleep in pause")
    return children


def check_farm_named(doc, children, what):
    """Every child is in the picture with its farm_child_wait frame."""
    named = {u["pid"] for u in doc["units"]
             if any(f.get("function") == "farm_child_wait" for f in u["frames"])}
    present = {p["pid"] for p in doc["processes"]}
    absent = [pid for pid in children if pid not in present]
    check(not absent, f"{what}: {len(absent)} of {FARM} children absent, e.g. {absent[:5]}")
    unnamed = [pid for pid in children if pid not in named]
    check(not unnamed, f"{what}: {len(unnamed)} of {FARM} children without farm_child_wait, "
                       f"e.g. {unnamed[:5]}")


def max_open_files(pid):
    """(soft, hard) of /proc/PID/limits' "Max open files"."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise Fail(f"/proc/{pid}/limits has no Max open files")


@test
def test_system_fd_limit_raised():
    """A soft fd limit below the hard one is raised to it at start-up."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    check(hard > LOW_NOFILE, f"the hard fd limit here is {hard}: nothing to raise")
    with Target("condwait", 1) as t:
        t.wait_ready()
        with Server(["-p", t.pid], preexec=nofile(LOW_NOFILE)) as srv:
            got = max_open_files(srv.pid)
            check(got == (hard, hard), f"parkwatch runs with fd limits {got}, expected the "
                                       f"soft one raised to the hard one ({hard})")
            srv.stop()


@test
def test_system_farm_dump_low_fd_limit():
    """600 processes and 256 fds for good: they take turns holding theirs,
    and every one is in the dump, named."""
    with Target("forkfarm", FARM) as t:
        children = farm_children(t)
        res = run_pw(["--dump", "--format", "json", "--min-park", "0"], timeout=FARM_TIMEOUT,
                     preexec=nofile(LOW_NOFILE, LOW_NOFILE))
        check(res.rc == 0, pw_error(res.rc, res.err))
        doc = parse_output(res.out, "parkwatch --dump --format json", docs.PICTURE)
        check_farm_named(doc, children, f"--dump with an fd limit of {LOW_NOFILE}")


@test
def test_system_farm_http_advances():
    """600 processes and 256 fds: the daemon's pictures go on after the
    first, and name the children."""
    with Target("forkfarm", FARM) as t:
        children = farm_children(t)
        with Server(["--interval", "500ms", "--min-park", "0"],
                    preexec=nofile(LOW_NOFILE, LOW_NOFILE)) as srv:
            def snapshots():
                return metric_sum(parse_metrics(srv.get("/metrics")[2].decode()),
                                  "parkwatch_snapshots_total")

            first = poll(snapshots, FARM_TIMEOUT, "a first picture")
            poll(lambda: snapshots() >= first + 3, FARM_TIMEOUT,
                 lambda: f"parkwatch_snapshots_total stuck at {snapshots()} "
                         f"(stderr {srv.stderr_text().strip()[-300:]!r})")
            for pid in (children[0], children[FARM // 2], children[-1]):
                srv.wait_picture(pid, lambda text: "farm_child_wait" in text)
            err = srv.stderr_text()
            check("taking a snapshot" not in err, f"a picture failed: {err.strip()[-300:]!r}")
            fds = len(os.listdir(f"/proc/{srv.pid}/fd"))
            check(fds < LOW_NOFILE, f"parkwatch holds {fds} fds, its limit is {LOW_NOFILE}")


# The exited-thread map made small, and filled many times over by processes
# that come and go: a few entries each, a batch well under the map between
# two pictures.
CHURN_CAPACITY = 64
CHURN_BATCHES = 25
CHURN_BATCH = 6


@test
def test_system_exited_totals_drained():
    """Exited threads' totals of processes that are gone move out of the BPF
    map each picture: none is dropped, and each process's sleeps are
    counted exactly as it made them."""
    env = dict(os.environ, PARKWATCH_EXITED_CAPACITY=str(CHURN_CAPACITY))
    churn = spawn([os.path.join(TARGETS, "churn")], stdin=subprocess.PIPE,
                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        out = LineReader(churn.stdout, "churn")
        check(out.readline(now() + 20) == "READY {}", "churn did not print READY")
        with Live(["--format", "json", "--interval", "300ms", "--min-park", "1h"],
                  env=env) as live:
            live.first_doc(timeout=FARM_TIMEOUT)
            made = {}
            for _ in range(CHURN_BATCHES):
                churn.stdin.write(f"{CHURN_BATCH}\n".encode())
                churn.stdin.flush()
                line = out.readline(now() + 60)
                check(line and line.startswith("BATCH "), f"churn: {line!r}")
                batch = json.loads(line[len("BATCH "):])
                made.update((int(pid), n) for pid, n in batch["sleeps"].items())
                # parkwatch waits on the pipe while the batch runs: the third
                # picture read begins after the batch ended (the lines are
                # not parsed: the last one is)
                for _ in range(3):
                    last = live.out.readline(now() + FARM_TIMEOUT)
                    check(last, "parkwatch ended early: " + live.stderr_text().strip()[-300:])
            doc, _ = parse_json(last, "the last live picture", docs.PICTURE)
            sleeps = {e["pid"]: e["count"] for e in doc["park_totals"] if e["reason"] == "sleep"}
            absent = [pid for pid in made if pid not in sleeps]
            check(not absent, f"{len(absent)} of {len(made)} exited processes without sleep "
                              f"totals, e.g. {absent[:5]}")
            over = [(pid, sleeps[pid], n) for pid, n in made.items() if sleeps[pid] > n]
            check(not over, f"sleep totals above the processes' own counts (pid, parkwatch's, "
                            f"theirs): {over[:5]}")
            # The BPF side may miss a park now and then, silently: a thread's
            # task storage is out of reach while the snapshot iterator holds
            # it on the same CPU.  What moves through the map is all there.
            got, want = sum(sleeps[pid] for pid in made), sum(made.values())
            check(got >= want * 0.95, f"sleep totals of the exited processes add up to {got}, "
                                      f"their own counts to {want}")
            live.proc.send_signal(signal.SIGINT)
            deadline = now() + 60
            while live.out.readline(deadline) is not None:
                pass  # the pictures after the last: read, or parkwatch waits on the pipe
            try:
                rc = live.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                raise Fail("parkwatch did not end within 30 s of SIGINT") from None
            err = live.stderr_text()
            check(rc == 0, pw_error(rc, err))
            check("exited-thread total" not in err, f"exited totals were dropped: {err.strip()!r}")
    finally:
        stop(churn)


def deep_unit(doc, tid, leaf):
    """The number of deep_frame frames of TID's stack when LEAF is on it, else None."""
    for unit in doc["units"]:
        names = [f.get("function") for f in unit["frames"]]
        if unit["kind"] == "thread" and unit["id"] == tid and leaf in names:
            return names.count("deep_frame")
    return None


@test
def test_system_exec_keeps_depth():
    """A process that execs is read afresh: its deep stack after the exec
    is as deep as the one before (a memory fd opened before the exec reads
    nothing, and cut it to what the BPF side copies)."""
    target = spawn([os.path.join(TARGETS, "execdeep")], stdin=subprocess.PIPE,
                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        out = LineReader(target.stdout, "execdeep")

        def parked(phase):
            line = out.readline(now() + 20)
            check(line and line.startswith("PARKED "), f"execdeep: {line!r}")
            record = json.loads(line[len("PARKED "):])
            check(record["phase"] == phase, f"execdeep: {record} in phase {phase}")
            return record["depth"]

        depth = parked(1)
        with Live(["-p", target.pid, "--format", "json", "--interval", "200ms",
                   "--min-park", "0"], kind=docs.PICTURE) as live:
            deadline = now() + 60
            for phase, leaf in ((1, "phase_one_park"), (2, "phase_two_park")):
                if phase == 2:
                    target.stdin.write(b"\n")
                    target.stdin.flush()
                    check(parked(2) == depth, "execdeep changed its depth")
                # the first two pictures with the thread parked at the bottom
                seen = []
                while len(seen) < 2:
                    doc, _ = live.next_doc(deadline)
                    check(doc is not None, f"parkwatch ended: {live.stderr_text().strip()!r}")
                    got = deep_unit(doc, target.pid, leaf)
                    if got is not None:
                        seen.append(got)
                check(seen == [depth, depth], f"phase {phase}: deep_frame frames {seen}, "
                                              f"execdeep parked {depth} deep")
    finally:
        stop(target)


def start_ticks(pid):
    """Field 22 of /proc/PID/stat: when the process started."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


@test
def test_system_pid_reuse_watched():
    """-p watches a process, not a pid: when it exits and a new process gets
    its pid at once (before the next picture), parkwatch says it exited and
    ends with exit 6 instead of watching the newcomer."""
    old = Target("condwait", 1)
    newcomer = None
    try:
        old.wait_ready()
        pid, old_start = old.pid, start_ticks(old.pid)
        # a long interval: the pid changes hands well within it
        with Live(["-p", pid, "--format", "json", "--interval", "10s", "--min-park", "0"],
                  kind=docs.PICTURE) as live:
            live.first_doc(timeout=60)
            old.kill()
            newcomer = spawn([os.path.join(TARGETS, "pidreuse"), str(pid),
                              os.path.join(TARGETS, "condwait"), "1"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
            reader, line = LineReader(newcomer.stdout, "pidreuse condwait"), ""
            while line is not None and not line.startswith("READY "):
                line = reader.readline(now() + 20)
            if line is None:
                raise Fail(f"no process took pid {pid}: pidreuse exit {newcomer.wait(10)}, "
                           f"{newcomer.stderr.read(300)!r}")
            check(start_ticks(pid) != old_start, f"/proc: pid {pid} kept its start time")
            deadline = now() + 40
            try:
                while live.next_doc(deadline)[0] is not None:
                    pass
                rc = live.proc.wait(timeout=10)
            except (Fail, subprocess.TimeoutExpired):
                raise Fail(f"parkwatch -p {pid} still runs 40 s after its process exited and "
                           f"pid {pid} went to another") from None
            err = live.stderr_text()
            check(rc == 6, f"exit {rc}, expected 6 (every watched process exited): {err!r}")
            check(f"parkwatch: process {pid} exited" in err, f"stderr: {err.strip()!r}")
    finally:
        old.kill()
        if newcomer:
            try:
                os.kill(pid, signal.SIGKILL)  # the newcomer, pidreuse's child
            except (OSError, NameError):
                pass
            stop(newcomer)


@test
def test_system_pid1():
    """-p 1 says what the whole-system picture shows of process 1: dumped
    when its threads are in it, else exit 9 and that it runs (some sandboxes'
    init is hidden from the kernel's task iterator); never "exited"."""
    res = run_pw(["--dump", "--format", "json"])
    check(res.rc == 0, f"whole-system --dump: {pw_error(res.rc, res.err)}")
    whole = parse_output(res.out, "whole-system --dump --format json", docs.PICTURE)
    shown = bool(docs.process(whole, 1))
    res = run_pw(["-p", 1, "--dump", "--format", "json"])
    check(os.path.exists("/proc/1/stat"), "/proc/1/stat: process 1 is gone")
    if shown:
        check(res.rc == 0, f"-p 1: {pw_error(res.rc, res.err)}")
        doc = parse_output(res.out, "-p 1 --dump --format json", docs.PICTURE)
        check(len(docs.process(doc, 1)) == 1, "-p 1: process 1 not in its own dump")
        return "process 1 is in the whole-system picture, and -p 1 dumps it"
    want = "parkwatch: process 1 is running, but the kernel showed parkwatch none of its threads"
    check(res.rc == 9 and res.err.strip() == want,
          f"-p 1 of a process the picture never holds: exit {res.rc}, {res.err.strip()!r}")
    return "process 1 is hidden from the task iterator here: -p 1 exits 9 and says it runs"
