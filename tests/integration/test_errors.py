# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Usage errors and missing privileges: the exit code, one stderr line,
nothing on stdout."""

import os
import subprocess

from pwtest import Fail, check
from pwtest.parkwatch import bpf_failure, one_stderr_line, run_pw
from pwtest.procs import Target
from pwtest.runner import test


def expect_usage_error(args, want_rc, what):
    res = run_pw(args, timeout=30)
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
