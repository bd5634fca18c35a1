# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Usage errors and missing privileges: the exit code, one stderr line,
nothing on stdout."""

import os
import subprocess
import tempfile

from pwtest import Fail, check
from pwtest.parkwatch import bpf_failure, one_stderr_line, run_pw
from pwtest.procs import Target
from pwtest.runner import test


def expect_usage_error(args, want_rc, what, timeout=30):
    res = run_pw(args, timeout=timeout)
    if res.rc != want_rc and bpf_failure(res.rc, res.err):
        raise Fail(bpf_failure(res.rc, res.err))
    check(res.rc == want_rc, f"{what}: exit {res.rc}, expected {want_rc} "
                             f"(stderr {res.err.strip()[:200]!r})")
    one_stderr_line(res.err, what)
    check(res.out == "", f"{what}: stdout not empty: {res.out[:200]!r}")


@test
def test_errors_unknown_pid():
    expect_usage_error(["-p", 999999999, "--dump"], 3, "-p 999999999")
    gone = subprocess.Popen(["true"])
    gone.wait()
    expect_usage_error(["-p", gone.pid, "--dump", "--format", "json"], 3,
                       f"-p {gone.pid} (exited)")


@test
def test_errors_bad_interval():
    expect_usage_error(["-p", os.getpid(), "--interval", "banana"], 2, "--interval banana")


@test
def test_errors_bad_debug():
    expect_usage_error(["-p", os.getpid(), "--dump", "--debug", "7"], 2, "--debug 7")


@test
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


@test
def test_errors_one_line_usage():
    """argp's own errors (an unknown option, a missing or unwanted value) and
    the values and mixes parkwatch refuses: exit 2 at once, one stderr line.
    Before: two lines, -p ' N' and -p +N watched N, --duration 0 ran
    forever, --dump --leaks crashed, --leaks wrote text into a .pb.gz."""
    pid = os.getpid()
    with tempfile.TemporaryDirectory() as tmp:
        profile = os.path.join(tmp, "x.pb.gz")
        for args, what in (
                (["--no-such-option"], "--no-such-option"),
                (["--dump", "-p"], "-p without its value"),
                (["--dump=3"], "--dump=3"),
                (["-p", f" {pid}", "--dump"], "-p ' PID'"),
                (["-p", f"+{pid}", "--dump"], "-p +PID"),
                (["-p", pid, "--duration", "0", "--format", "json"], "--duration 0"),
                (["-p", pid, "--dump", "--leaks"], "--dump --leaks"),
                (["-p", pid, "--leaks", "--duration", "1s", "--format", "pprof", "-o", profile],
                 "--leaks --format pprof")):
            expect_usage_error(args, 2, what, timeout=10)
        check(not os.path.exists(profile), "--leaks --format pprof -o: the file was written")


def kernel_thread_pid():
    """A kernel thread's pid, by PF_KTHREAD in the flags of /proc/PID/stat."""
    for name in sorted((n for n in os.listdir("/proc") if n.isdigit()), key=int):
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[6]) & 0x00200000:
            return int(name)
    raise Fail("no kernel thread in /proc")


@test
def test_errors_kernel_thread():
    """-p of a kernel thread is a usage error (it was 'process exited', 6)."""
    pid = kernel_thread_pid()
    res = run_pw(["-p", pid, "--dump"], timeout=30)
    check(res.rc == 2, f"-p {pid} (kernel thread): exit {res.rc}, expected 2 "
                       f"(stderr {res.err.strip()[:200]!r})")
    line = one_stderr_line(res.err, f"-p {pid} (kernel thread)")
    check("kernel thread" in line, f"-p {pid}: {line!r}")
    check(res.out == "", f"-p {pid}: stdout not empty: {res.out[:200]!r}")
