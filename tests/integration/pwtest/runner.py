# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The one runner: a registry of tests, filters and the summary.

A test is a function registered with @test (its name without the test_
prefix) or @test("name").  It passes by returning, fails by raising Fail (or
anything else: a crash of the harness is a failure, never a skip).  A string
it returns is printed under its `ok` line.

    run.py [--only SUBSTRING]... [--list] [--sanitized]

prints `ok NAME` or `FAIL NAME: reason` per test, how many ran, and last
`integration: N passed, M failed` (tests/run_all.py reads that line).  The
exit status is 1 when a test failed or when none ran.

--sanitized runs the subset run.py names against the ASan+UBSan build (see
run.py); a test also fails when any parkwatch it started died of a report.
"""

import os
import signal
import sys

from pwtest import REPO, SANITIZED, Fail, now
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
    print(f"usage: {prog} [--only SUBSTRING]... [--list] [--sanitized]", file=sys.stderr)
    return 2


def main(argv, sanitized_subset=()):
    """SANITIZED_SUBSET: the names --sanitized runs (PW_SANITIZED is then set)."""
    args, listing = argv[1:], False
    while args:
        if args[0] == "--only" and len(args) > 1:
            _only.append(args[1])
            args = args[2:]
        elif args[0] == "--list":
            listing = True
            args = args[1:]
        elif args[0] == "--sanitized" and SANITIZED:
            args = args[1:]
        else:
            return usage(argv[0])
    names = registered()
    missing = [n for n in sanitized_subset if n not in names]
    if SANITIZED and missing:
        print(f"FAIL: the sanitized subset names unknown tests: {' '.join(missing)}")
        return 1
    tests = [(n, fn) for n, fn in _tests
             if selected(n) and (not SANITIZED or n in sanitized_subset)]
    if listing:
        for name, _ in tests:
            print(name)
        return 0
    os.chdir(REPO)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    passed = failed = 0
    try:
        for name, fn in tests:
            t0 = now()
            why = None
            try:
                info = fn()
            except Fail as e:
                why = str(e)
            except Exception as e:  # a test bug or an unexpected document shape
                why = f"{type(e).__name__}: {e}"
            deaths = procs.take_sanitizer_deaths()
            if deaths:
                why = (why + "; " if why else "") + \
                    f"parkwatch died of a sanitizer report (exit 86): {deaths[0]}"
            if why:
                failed += 1
                print(f"FAIL {name}: {why}", flush=True)
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
          + (f" (--only {' '.join(_only)})" if _only else "")
          + (" under ASan+UBSan" if SANITIZED else ""), flush=True)
    if not ran:
        print("FAIL: no test ran" + (" (--only matched none)" if _only else ""), flush=True)
    print(f"integration: {passed} passed, {failed} failed", flush=True)
    return 1 if failed or not ran else 0
