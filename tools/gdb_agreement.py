#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""How many parked threads of live processes parkwatch names as gdb does.

    sudo tools/gdb_agreement.py [--parkwatch ./parkwatch] PID...

For each PID: one `parkwatch -p PID --dump --format json --min-park 0`, then
gdb attached (its Python API: inlined and tail-call frames, past main),
then the comparison of the integration tests' gdb oracle
(tests/integration/pwtest/oracles/gdb.py, compare_exact: the same functions
in the same order, frame for frame, in the same files) for every parked
thread that did not run between the two views (/proc switch counts).
Prints one line per process and the total; with -v, each mismatch.  A
process in another mount namespace is read by gdb through /proc/PID/root.
Exit 0, or 1 when a process can't be read.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from pwtest import Fail  # noqa: E402
from pwtest.oracles import gdb, proc  # noqa: E402


def agreement(parkwatch, pid, verbose):
    """(compared, equal) for PID's parked threads."""
    before = {pid: proc.snapshot(pid)}
    cp = subprocess.run([parkwatch, "-p", str(pid), "--dump", "--format", "json",
                         "--min-park", "0"], capture_output=True, timeout=120)
    if cp.returncode:
        raise Fail(f"parkwatch exit {cp.returncode}: "
                   f"{cp.stderr.decode('utf-8', 'replace').strip()}")
    # an older parkwatch may write names that are not UTF-8
    doc = json.loads(cp.stdout.decode("utf-8", "replace"))
    parked = {pid: [u for u in doc.get("units", []) if u.get("kind") == "thread"
                    and u.get("pid") == pid and u.get("parked")]}
    compared, problems = gdb.agreement(parked, before)
    for why in problems if verbose else ():
        print(f"  {why}")
    return len(compared), len(compared) - len(problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parkwatch", default=os.path.join(HERE, "..", "parkwatch"))
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("pids", nargs="+", type=int, metavar="PID")
    args = ap.parse_args()
    total_compared = total_equal = 0
    status = 0
    for pid in args.pids:
        try:
            compared, equal = agreement(args.parkwatch, pid, args.verbose)
        except (Fail, OSError, ValueError, subprocess.TimeoutExpired) as e:
            print(f"pid {pid}: {e}", file=sys.stderr)
            status = 1
            continue
        try:
            with open(f"/proc/{pid}/comm", "rb") as f:
                comm = ascii(f.read().strip().decode("utf-8", "replace"))[1:-1]
        except OSError:
            comm = "?"
        print(f"pid {pid} ({comm}): {equal}/{compared} parked threads equal to gdb")
        total_compared += compared
        total_equal += equal
    print(f"total: {total_equal}/{total_compared}")
    return status


if __name__ == "__main__":
    sys.exit(main())
