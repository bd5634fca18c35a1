# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""parkwatch's integration tests as a package.

    runner.py     the registry (@test), --only, the summary line
    procs.py      child processes: spawn/stop, LineReader, Target
    parkwatch.py  parkwatch drivers: run_pw, Live, Server; the one JSON parser
    docs.py       the key names of parkwatch's JSON documents, in one place
    gotargets.py  the Go targets the Makefile builds per release and flavour
    oracles/      what parkwatch is compared with: /proc, gdb, go tool pprof,
                  promtool, the Go runtime's own dumps, a protobuf decoder of
                  the pprof file, and the JSON Schema of the JSON output

This module holds what every other one needs: Fail, check, the clock, the
paths and a deadline poll.  It imports nothing of the package, so any module
may import it.  Python 3 standard library only, plus python3-jsonschema.
"""

import os
import re
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/integration
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(REPO, "build")
# PARKWATCH_BIN / PARKWATCH_TARGETS override the paths (for trying the runner out)
PARKWATCH = os.environ.get("PARKWATCH_BIN") or os.path.join(REPO, "parkwatch")
TARGETS = os.environ.get("PARKWATCH_TARGETS") or os.path.join(BUILD, "targets")
TARGET_SRC = os.path.join(REPO, "tests", "targets")
# run.py --sanitized: PARKWATCH is the ASan+UBSan build, whose every report is
# fatal with exit status SANITIZER_EXIT (ASAN_OPTIONS/UBSAN_OPTIONS set there)
SANITIZED = os.environ.get("PW_SANITIZED") == "1"
SANITIZER_EXIT = 86

NS = 1_000_000_000


class Fail(Exception):
    """A test assertion failed; the message is the reason printed."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def now():
    return time.monotonic()


def poll(probe, timeout, what, interval=0.02):
    """Calls PROBE until it returns something true, and returns that; Fail
    with "WHAT within TIMEOUT s" when the deadline passes first.  PROBE may
    raise Fail itself (a process that died, say).  The pause between tries is
    the poll interval of a deadline loop, never a wait for something to
    happen."""
    deadline = now() + timeout
    while True:
        got = probe()
        if got:
            return got
        check(now() < deadline, f"{what() if callable(what) else what} within {timeout:g} s")
        time.sleep(interval)


def func_lines(src, func):
    """(first, last) source lines of FUNC's definition in SRC, a C file of
    tests/targets (for checks of the lines parkwatch gives)."""
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
