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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pwtest import runner  # noqa: E402
# registration order is run order
import test_threads, test_errors, test_profiles, test_http, test_leaks, test_names  # noqa: E402,F401
import test_go, test_go_stripped, test_go_matrix, test_go_chans  # noqa: E402,F401
import test_containers  # noqa: E402,F401
import test_waits  # noqa: E402,F401
import test_fds  # noqa: E402,F401
import test_symbols  # noqa: E402,F401
import test_realprogs  # noqa: E402,F401
import test_locks  # noqa: E402,F401
import test_every_output  # noqa: E402,F401
import test_output  # noqa: E402,F401
import test_system  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(runner.main(sys.argv))
