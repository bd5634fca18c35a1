# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""What a local process can do to parkwatch, and parkwatch must survive:

  * a shared library it has loaded truncated under parkwatch's feet (the
    file libdw maps): the daemon keeps serving, the lost pages counted;
  * a Go runtime that lies (allglen, allgs): one read stays within the
    time and memory budget, reported as cut short and counted, and
    /metrics stays fast meanwhile;
  * SIGINT and SIGTERM at random points of a slow picture: parkwatch ends
    within a second, with what it collected written out.

Every case is bounded in time.  `run.py --only hostile` runs just these.
"""

import os
import random
import re
import signal
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request

from pwtest import PARKWATCH, TARGETS, Fail, check, docs, gotargets, now, poll
from pwtest.oracles.goruntime import parse_debug1
from pwtest.oracles.promtool import metric_sum, parse_metrics
from pwtest.parkwatch import (Server, debug1_counts, debug1_total, need_parkwatch, parse_output,
                             run_measured, run_pw)
from pwtest.procs import Target, spawn, stop
from pwtest.runner import test

PICTURE_TIMEOUT = 30.0
READY_TIMEOUT = 60.0       # a Go target with 100,000 goroutines on a busy machine
CHURN = 4                  # goroutines serving the runtime's own request


def gave_up(server, reason):
    status, _, body = server.get("/metrics")
    check(status == 200, f"/metrics: status {status}")
    return metric_sum(parse_metrics(body.decode("utf-8", "replace")),
                      "parkwatch_gave_up_total", reason=reason)


@test
def test_hostile_truncated_library():
    """dlpark parks a thread in a library it copied to /tmp; the copy is cut
    to its loaded segments (section headers, symbols and debug info gone:
    the pages libdw maps) and the target then parks in it on a new stack,
    which parkwatch unwinds and names from the cut file."""
    lib = os.path.join(TARGETS, "lib", "parklib.so")
    check(os.access(lib, os.R_OK), f"{lib} is not built (run make targets)")
    with Target("dlpark", lib) as t:
        ready = t.wait_ready()
        copy = ready["copy"]
        try:
            with Server(["-p", t.pid, "--threads", "--interval", "100ms",
                         "--min-park", "0"]) as server:
                pid = str(t.pid)
                server.wait_picture(t.pid, lambda text: "parklib_wait_read" in text and
                                    debug1_counts(text).get((pid, "signal wait")) == 1,
                                    PICTURE_TIMEOUT)
                os.truncate(copy, ready["keep"])
                os.kill(t.pid, signal.SIGUSR1)
                # the main thread leaves sigwait for nanosleep inside the cut copy
                poll(lambda: open(f"/proc/{t.pid}/syscall").read().split()[0] == "230",
                     10.0, "dlpark's main thread in clock_nanosleep")
                # both threads with a stack: the new one unwound through the cut copy
                text = server.wait_picture(
                    t.pid, lambda text: debug1_total(text) == 2 and
                    (pid, "signal wait") not in debug1_counts(text) and
                    text.count("\n1 @ 0x") + text.startswith("1 @ 0x") == 2, PICTURE_TIMEOUT)
                check(t.proc.poll() is None, "dlpark died of its cut library")
                check(gave_up(server, "mapped_file_truncated") >= 1,
                      "parkwatch_gave_up_total{reason=\"mapped_file_truncated\"} is 0: the "
                      f"cut pages were never read (picture {text!r})")
                server.stop()
                check("gave up:" in server.stderr_text() and "truncated" in server.stderr_text(),
                      f"the exit summary does not name the truncated file: "
                      f"{server.stderr_text().strip()[-300:]!r}")
        finally:
            os.unlink(copy)


# ------------------------------------------------------------------ signals

GO_RELEASE = "1.19"
MANY = 100_000             # goroutines: a picture takes about a second
STOP_BUDGET_S = 1.0        # from the signal to parkwatch's exit
SIGNAL_RUNS = 6


def leaky(*args, env=None):
    """tests/targets/go/leaky as Go 1.19 builds it (make targets), with ARGS."""
    binary = gotargets.binary(GO_RELEASE, "leaky")
    gotargets.make([binary])
    return Target("leaky", "-port", "0", *args, path=binary, env=env)


def runtime_total(port):
    """The goroutine count the Go runtime itself reports (net/http/pprof)."""
    url = f"http://127.0.0.1:{port}/debug/pprof/goroutine?debug=1"
    with urllib.request.urlopen(url, timeout=60) as resp:
        first = resp.readline().decode()
    m = re.match(r"goroutine profile: total (\d+)", first)
    check(m, f"the runtime's debug=1 starts {first!r}")
    return int(m.group(1))


def stop_at(args, delay_s, sig, out_path):
    """parkwatch ARGS, sent SIG after DELAY_S: (seconds from the signal to its
    exit, exit code, stderr)."""
    with tempfile.TemporaryFile() as errf:
        proc = spawn([PARKWATCH] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=errf)
        try:
            time.sleep(delay_s)  # the random point of the picture to signal at
            sent = now()
            proc.send_signal(sig)
            try:
                rc = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                raise Fail(f"parkwatch {' '.join(map(str, args))}: still running 30 s after "
                           f"{signal.Signals(sig).name} at {delay_s:.2f} s") from None
            took = now() - sent
        finally:
            stop(proc)
        errf.seek(0)
        return took, rc, errf.read().decode("utf-8", "replace")


@test
def test_hostile_signals_during_slow_picture():
    """SIGINT or SIGTERM at random points of pictures of 100,000 goroutines
    (--interval 10ms: every picture takes longer than the interval; and
    --dump): parkwatch exits within a second with the picture written, whole
    or marked cut short, and what it holds agrees with the runtime's count."""
    need_parkwatch()
    rng = random.Random()
    with leaky("-n", MANY) as t:
        port = t.wait_ready(READY_TIMEOUT)["port"]
        want = runtime_total(port)
        check(want >= MANY, f"the runtime counts {want} goroutines, fewer than {MANY}")
        seen = []
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(SIGNAL_RUNS):
                out_path = os.path.join(tmp, f"run{run}.txt")
                mode = ["--dump"] if run % 2 else ["--interval", "10ms"]
                delay = rng.uniform(0.1, 2.5 if run % 2 == 0 else 1.2)
                sig = rng.choice([signal.SIGINT, signal.SIGTERM])
                took, rc, err = stop_at(["-p", t.pid, "--format", "text", "--debug", "1",
                                         "-o", out_path] + mode, delay, sig, out_path)
                what = (f"{' '.join(mode)}, {signal.Signals(sig).name} at {delay:.2f} s")
                check(rc == 0, f"{what}: exit {rc}: {err.strip()[-300:]!r}")
                check(took <= STOP_BUDGET_S, f"{what}: exited {took:.2f} s after the signal")
                with open(out_path) as f:
                    text = f.read()
                check(text.startswith("goroutine profile: total "),
                      f"{what}: the output starts {text[:300]!r}")
                _, total, _ = parse_debug1(text)
                cut = "# parkwatch: cut short: parkwatch was asked to stop" in text
                if cut:
                    check(total <= want + CHURN, f"{what}: a cut picture of {total} goroutines, "
                                                 f"the runtime has {want}")
                else:
                    check(abs(total - want) <= CHURN, f"{what}: {total} goroutines, the "
                                                      f"runtime has {want}")
                seen.append(f"{'dump' if run % 2 else 'live'} {delay:.2f}s {took * 1000:.0f}ms"
                            f"{' cut' if cut else ''}")
    return "signal at, exit after: " + ", ".join(seen)


# ------------------------------------------------------------------ a lying Go runtime

def symbol_addresses(binary, names):
    """{name: address} of BINARY's .symtab, as nm reads it (a non-PIE build:
    the addresses are the process's)."""
    cp = subprocess.run(["nm", binary], capture_output=True, text=True, timeout=60)
    check(cp.returncode == 0, f"nm {binary}: {cp.stderr.strip()[:200]}")
    found = {}
    for line in cp.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in names:
            found[parts[2]] = int(parts[0], 16)
    check(set(found) == set(names), f"nm {binary}: no {sorted(set(names) - set(found))}")
    return found


def mapping_end(pid, addr):
    """The end of the mapping of PID that holds ADDR."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= addr < hi:
                return hi
    raise Fail(f"/proc/{pid}/maps: nothing at {addr:#x}")


def claim_goroutines(pid, binary, count):
    """Makes PID's runtime claim COUNT goroutines, as a hostile process
    would: allglen, allgs' len and cap and allgptr all agree, the array the
    real one followed by whatever the heap holds after it.  Returns the
    count, cut to what that mapping holds."""
    syms = symbol_addresses(binary, ["runtime.allglen", "runtime.allgptr", "runtime.allgs"])
    with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
        mem.seek(syms["runtime.allgs"])
        array, real_len, _ = struct.unpack("<QQQ", mem.read(24))
        count = min(count, (mapping_end(pid, array) - array) // 8)
        check(count > real_len, f"the heap after allgs holds no more than its {real_len} g's")
        mem.seek(syms["runtime.allgs"])
        mem.write(struct.pack("<QQQ", array, count, count))
        mem.seek(syms["runtime.allgptr"])
        mem.write(struct.pack("<Q", array))
        mem.seek(syms["runtime.allglen"])
        mem.write(struct.pack("<Q", count))
    return count


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


@test
def test_hostile_go_runtime_lies():
    """A Go process whose allglen claims millions of goroutines its memory
    could not hold (GOGC=off: its own collector would trip on the lie):
    --dump shows it by its threads at once, at a peak memory below that of
    reading its 100,000 true goroutines, and counts an implausible runtime;
    --http answers a goroutine request for it and /metrics meanwhile,
    both fast, and counts it too."""
    need_parkwatch()
    binary = gotargets.binary(GO_RELEASE, "leaky")
    with leaky("-n", MANY, env={"GOGC": "off"}) as t:
        port = t.wait_ready(READY_TIMEOUT)["port"]
        want = runtime_total(port)
        held_kib = status_kib(t.pid, "VmRSS") + status_kib(t.pid, "VmSwap")
        dump = ["-p", t.pid, "--dump", "--format", "json", "--min-park", "0", "-o", os.devnull]
        rc, _, err, _, truth_kib = run_measured(dump, 60)
        check(rc == 0, f"--dump of the truth: exit {rc}: {err.strip()[-300:]!r}")
        claimed = claim_goroutines(t.pid, binary, 4_000_000)
        # a runtime.g is hundreds of bytes: these many can't fit in what it holds
        check(claimed * 256 > held_kib * 1024,
              f"{claimed} goroutines would fit in {held_kib} KiB: no lie to catch")
        with tempfile.TemporaryDirectory() as tmp:
            out_path = os.path.join(tmp, "lie.json")
            rc, _, err, took, peak_kib = run_measured(
                ["-p", t.pid, "--dump", "--format", "json", "--min-park", "0", "-o", out_path],
                60)
            check(rc == 0, f"--dump: exit {rc}: {err.strip()[-300:]!r}")
            check(took < 10, f"--dump of a runtime claiming {claimed} goroutines took "
                             f"{took:.1f} s")
            check(peak_kib < truth_kib, f"--dump of a runtime claiming {claimed} goroutines "
                                        f"peaked at {peak_kib} KiB, reading its {want} true "
                                        f"ones at {truth_kib} KiB")
            with open(out_path) as f:
                doc = parse_output(f.read(), "--dump --format json", docs.PICTURE)
        procs = [p for p in doc["processes"] if p["pid"] == t.pid]
        check(procs and procs[0]["unit_kind"] == "thread",
              f"a runtime claiming {claimed} goroutines in {held_kib} KiB (really {want}) "
              f"was believed: {procs[0] if procs else 'no process'}")
        check("1 implausible Go runtime" in err,
              f"the exit summary does not count the implausible runtime: {err.strip()!r}")

        with Server(["-p", t.pid, "--interval", "200ms"]) as server:
            poll(lambda: f"<td>{t.pid}</td>".encode() in server.get("/debug/pprof/")[2],
                 PICTURE_TIMEOUT, "the daemon's first picture")
            answer = {}

            def ask():
                answer["start"] = now()
                answer["reply"] = server.get(f"/debug/pprof/goroutine?pid={t.pid}&debug=1",
                                             timeout=60)
                answer["took"] = now() - answer["start"]

            asker = threading.Thread(target=ask)
            asker.start()
            worst = 0.0
            while asker.is_alive():
                t0 = now()
                status, _, _ = server.get("/metrics", timeout=30)
                worst = max(worst, now() - t0)
                check(status == 200, f"/metrics: status {status}")
            asker.join()
            status, _, body = answer["reply"]
            check(status == 200, f"goroutine request: status {status}: {body[:200]!r}")
            check(body.startswith(b"thread profile: total "),
                  f"the lying runtime's goroutines were served: {body[:200]!r}")
            check(answer["took"] < 5, f"the goroutine request took {answer['took']:.1f} s")
            check(worst < 1, f"/metrics took {worst:.2f} s while the request ran")
            check(gave_up(server, "implausible_runtime") >= 1,
                  "parkwatch_gave_up_total{reason=\"implausible_runtime\"} is 0")
    return (f"claimed {claimed} goroutines in {held_kib} KiB (really {want}): --dump "
            f"{took:.2f} s, peak RSS {peak_kib} KiB (the truth's {truth_kib}); goroutine request {answer['took'] * 1000:.0f} ms, /metrics at "
            f"worst {worst * 1000:.0f} ms meanwhile")


@test
def test_hostile_go_budgets():
    """100,000 real goroutines read within a time budget of 100 ms and a
    memory budget of 8 MiB: each --dump ends early, says which budget cut
    it, holds fewer goroutines than the runtime reports but some of the
    target's prefilled ones (a cut read keeps what it read), and counts it."""
    need_parkwatch()
    with leaky("-n", MANY) as t:
        want = runtime_total(t.wait_ready(READY_TIMEOUT)["port"])
        seen = []
        for option, value, cut in (("--go-time-budget", "100ms", "time_budget"),
                                   ("--go-memory-budget", "8", "memory_budget")):
            res = run_pw(["-p", t.pid, "--dump", "--format", "json", "--min-park", "0",
                          option, value], timeout=60)
            check(res.rc == 0, f"{option} {value}: exit {res.rc}: {res.err.strip()[-300:]!r}")
            doc = parse_output(res.out, f"--dump {option} {value}", docs.PICTURE)
            procs = [p for p in doc["processes"] if p["pid"] == t.pid]
            check(procs and procs[0]["unit_kind"] == "goroutine",
                  f"{option} {value}: not shown by its goroutines: {procs}")
            got = procs[0]["goroutine"]["cut_short"]
            check(got == cut, f"{option} {value}: cut_short {got!r}, expected {cut!r}")
            check(procs[0]["units"] < want, f"{option} {value}: {procs[0]['units']} goroutines "
                                            f"of the runtime's {want}: nothing was cut")
            prefilled = sum(g["count"] for g in doc["groups"]
                            if g["pid"] == t.pid and g.get("created_by") == "main.prefill")
            check(0 < prefilled <= MANY, f"{option} {value}: {prefilled} of the {MANY} "
                                         f"goroutines main.prefill created held: the "
                                         f"goroutines read before the cut were lost")
            check("goroutine read cut short" in res.err,
                  f"{option} {value}: the exit summary does not count the cut: "
                  f"{res.err.strip()!r}")
            seen.append(f"{option} {value}: {procs[0]['units']} of {want}, "
                        f"{prefilled} prefilled")
    return "; ".join(seen)
