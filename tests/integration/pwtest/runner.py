# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The one runner: a registry of tests, filters and the summary.

A test is a function registered with @test (its name without the test_
prefix) or @test("name").  It passes by returning, fails by raising Fail (or
anything else: a crash of the harness is a failure, never a skip).  A string
it returns is printed under its `ok` line.

    run.py [--only SUBSTRING]... [--list]

prints `ok NAME` or `FAIL NAME: reason` per test, how many ran, and last
`integration: N passed, M failed` (tests/run_all.py reads that line).  The
exit status is 1 when a test failed or when none ran.
"""

import os
import signal
import sys

from pwtest import REPO, Fail, now
from pwtest import procs

_tests = []      # (name, function), in registration order
_only = []       # the --only substrings of this run


def test(arg=None):
    """@test or @test("name"): registers the function as a test."""
    def register(fn, name=None):
        name = name or (fn.__name__[5:] if fn.__name__.startswith("test_") else fn.__name__)
        if any(n == name for n, _ in _tests):
            raise ValueError(f"two tests named {name}")
        _tests.append((name, fn))
        return fn

    if callable(arg):
        return register(arg)
    return lambda fn: register(fn, arg)


def selected(name):
    """Whether this run's --only filters take the test NAME."""
    return not _only or any(o in name for o in _only)


def registered():
    return [name for name, _ in _tests]


def usage(prog):
    print(f"usage: {prog} [--only SUBSTRING]... [--list]", file=sys.stderr)
    return 2


def main(argv):
    args, listing = argv[1:], False
    while args:
        if args[0] == "--only" and len(args) > 1:
            _only.append(args[1])
            args = args[2:]
        elif args[0] == "--list":
            listing = True
            args = args[1:]
        else:
            return usage(argv[0])
    if listing:
        for name, _ in _tests:
            if selected(name):
                print(name)
        return 0
    os.chdir(REPO)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    passed = failed = 0
    try:
        for name, fn in _tests:
            if not selected(name):
                continue
            t0 = now()
            try:
                info = fn()
            except Fail as e:
                failed += 1
                print(f"FAIL {name}: {e}", flush=True)
            except Exception as e:  # a test bug or an unexpected document shape
                failed += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            else:
                passed += 1
                print(f"ok {name}", flush=True)
                if isinstance(info, str) and info:
                    print(f"  {info}", flush=True)
            if os.environ.get("PW_TEST_TIMES"):
                print(f"  ({now() - t0:.1f} s)", file=sys.stderr)
    finally:
        procs.stop_all()
    ran = passed + failed
    print(f"ran {ran} of {len(_tests)} registered tests"
          + (f" (--only {' '.join(_only)})" if _only else ""), flush=True)
    if not ran:
        print("FAIL: no test ran" + (" (--only matched none)" if _only else ""), flush=True)
    print(f"integration: {passed} passed, {failed} failed", flush=True)
    return 1 if failed or not ran else 0
