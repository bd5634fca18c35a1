#!/usr/bin/env python3
"""Run parkwatch's test suites and print one total.

Usage: run_all.py [--unit-only] UNIT_BINARY...

Each cmocka binary prints its own report; the integration runner prints
'integration: N passed, M failed', once for the whole suite and once for the
subset it runs again against the ASan+UBSan build (--sanitized).  The last line is the total, and the exit
status is non-zero when anything failed or when no integration test ran.
"""
import re
import subprocess
import sys


def run_unit(binary):
    proc = subprocess.run([binary], capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    sys.stdout.write(output)
    passed = sum(int(n) for n in re.findall(r"\[  PASSED  \] (\d+) test", output))
    failed = sum(int(n) for n in re.findall(r"\[  FAILED  \] (\d+) test", output))
    if proc.returncode != 0 and failed == 0:
        failed = 1  # crashed or exited early: count it, never hide it
        print(f"FAIL {binary}: exit status {proc.returncode}")
    return passed, failed


def run_integration(*args):
    proc = subprocess.run([sys.executable, "tests/integration/run.py", *args],
                          stdout=subprocess.PIPE, text=True)
    sys.stdout.write(proc.stdout)
    match = re.search(r"^integration: (\d+) passed, (\d+) failed$", proc.stdout, re.M)
    if not match:
        print("FAIL integration runner: no summary line")
        return 0, 1
    passed, failed = int(match.group(1)), int(match.group(2))
    if proc.returncode != 0 and failed == 0:
        failed = 1
    return passed, failed


def main():
    args = sys.argv[1:]
    unit_only = "--unit-only" in args
    binaries = [a for a in args if a != "--unit-only"]
    unit_passed = unit_failed = 0
    for binary in binaries:
        passed, failed = run_unit(binary)
        unit_passed += passed
        unit_failed += failed
    print(f"unit: {unit_passed} passed, {unit_failed} failed")
    int_passed = int_failed = 0
    if not unit_only:
        int_passed, int_failed = run_integration()
        if int_passed + int_failed == 0:
            print("FAIL: no integration test ran")
            int_failed = 1
        # a subset again against the ASan+UBSan build (make test builds it)
        san_passed, san_failed = run_integration("--sanitized")
        int_passed, int_failed = int_passed + san_passed, int_failed + san_failed
    passed, failed = unit_passed + int_passed, unit_failed + int_failed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
