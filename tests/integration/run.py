#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""parkwatch integration tests.

Run as root from anywhere after `make` built ./parkwatch and build/targets/*:

    sudo python3 tests/integration/run.py [--only SUBSTRING ...] [--list]

Prints `ok NAME` or `FAIL NAME: reason` per test, how many ran, then
`integration: N passed, M failed`; exits 1 if anything failed or nothing ran.
Nothing is skipped: a parkwatch that cannot load its BPF programs fails the
tests that need it, with that reason.  The runner, the drivers and the
oracles are in pwtest/ (see pwtest/__init__.py); the tests in test_*.py.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# --sanitized: these tests again, against the ASan+UBSan build (make test
# runs them after the whole suite): a dump, live intervals, windows, HTTP
# under short load, goroutine mode, the wait-for graph and fd waits.  Every
# sanitizer report is fatal, with the exit status the drivers look for.
SANITIZED_SUBSET = (
    "condwait_json", "condwait_text", "mixed_reasons", "live_late_thread",
    "pprof_window_mixed", "http_promtool", "http_go_pprof", "http_load",
    "go_debug2_wait_reasons", "go_json", "go_live_trend", "locks_abba", "fd_waits",
)
if "--sanitized" in sys.argv:
    os.environ["PW_SANITIZED"] = "1"
    os.environ.setdefault("PARKWATCH_BIN",
                          os.path.join(HERE, "..", "..", "build", "sanitize", "parkwatch"))
    # one exit status for every report.  No leak check: LeakSanitizer stops
    # the process with ptrace, which parkwatch's seccomp filter forbids (the
    # unit tests' sanitizer pass checks leaks); no symbolizer, which would be
    # a fork and exec: rerun with --keep-privileges for names in a report
    report = "exitcode=86:abort_on_error=0:detect_leaks=0:symbolize=0"
    os.environ["ASAN_OPTIONS"] = report
    os.environ["UBSAN_OPTIONS"] = report + ":halt_on_error=1:print_stacktrace=1"

from pwtest import runner  # noqa: E402
# registration order is run order
import test_threads, test_errors, test_profiles, test_http, test_leaks, test_names  # noqa: E402,F401
import test_http_access, test_http_limits  # noqa: E402,F401
import test_go, test_go_stripped, test_go_matrix, test_go_chans  # noqa: E402,F401
import test_containers  # noqa: E402,F401
import test_waits  # noqa: E402,F401
import test_fds  # noqa: E402,F401
import test_symbols  # noqa: E402,F401
import test_realprogs  # noqa: E402,F401
import test_locks  # noqa: E402,F401
import test_every_output  # noqa: E402,F401
import test_output  # noqa: E402,F401
import test_hostile  # noqa: E402,F401
import test_privileges  # noqa: E402,F401
import test_system  # noqa: E402,F401
import test_live_view  # noqa: E402,F401
import test_prometheus  # noqa: E402,F401
import test_cli  # noqa: E402,F401
import test_ship  # noqa: E402,F401
import test_memory  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(runner.main(sys.argv, SANITIZED_SUBSET))
