# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The daemon's memory: one symbol and debug-info session per file, shared
by every process that maps it, under --memory-limit."""

import contextlib
import os
import re
import subprocess

from pwtest import TARGETS, Fail, check, docs
from pwtest.parkwatch import parse_output, pw_error, run_measured
from pwtest.procs import Target
from pwtest.runner import test

FARM = 100                  # processes of the same binary
THREADS = 20                # parked threads each
# Small enough that glibc's session and the binary's don't both stay: the
# cache must evict, and read files again, within one dump.
SMALL_LIMIT = "1M"
# Peak RSS for the farm's JSON dump on a quiet machine: about 103 MiB (74
# MiB as text: the JSON document is built whole); it was 1.7 GB to 2 GB
# with a libdwfl session per process.  Every other thread on the machine
# may add its copied stack (PARK_USTACK_MAX_BYTES, 16 KiB) and its share of
# its process's state: a shared test machine runs thousands.
RSS_BOUND_KIB = 128 * 1024
RSS_PER_OTHER_THREAD_KIB = 16
DUMP_TIMEOUT = 300
FUNCTIONS = ("level_one", "level_two", "level_three")


def symbol_ranges(binary, names):
    """{name: (start, end)} of BINARY's functions, as nm reads its symbol table."""
    cp = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True,
                        text=True, timeout=60)
    check(cp.returncode == 0, f"nm -S {binary}: {cp.stderr.strip()[:200]}")
    ranges = {}
    for line in cp.stdout.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[3] in names:
            start = int(fields[0], 16)
            ranges[fields[3]] = (start, start + int(fields[1], 16))
    check(set(ranges) == set(names), f"nm {binary}: no {sorted(set(names) - set(ranges))}")
    return ranges


def load_address(pid, binary):
    """Where PID maps BINARY's first page (its PIE load address), from /proc/PID/maps."""
    real = os.path.realpath(binary)
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == real and int(fields[2], 16) == 0:
                return int(fields[0].split("-")[0], 16)
    raise Fail(f"/proc/{pid}/maps maps no {real} at offset 0")


def machine_threads():
    """Threads on the machine, as /proc lists them."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            count += len(os.listdir(f"/proc/{pid}/task"))
    return count


@test
def test_memory_farm_shared_under_limit():
    """100 processes of 20 parked threads each, one binary, dumped
    system-wide with a cache budget small enough to evict: every thread's
    frames are named and placed as the binary's symbol table and the
    process's maps say, and parkwatch's peak RSS stays within 64 MiB."""
    binary = os.path.join(TARGETS, "condwait")
    ranges = symbol_ranges(binary, FUNCTIONS)
    with contextlib.ExitStack() as stack:
        farm = [stack.enter_context(Target("condwait", THREADS)) for _ in range(FARM)]
        tids = {int(t.pid): set(t.wait_ready()["cond"]) for t in farm}
        bases = {pid: load_address(pid, binary) for pid in tids}
        others = max(0, machine_threads() - FARM * (THREADS + 1))
        rc, out, err, _, peak_kib = run_measured(
            ["--dump", "--format", "json", "--min-park", "0", "--memory-limit", SMALL_LIMIT],
            DUMP_TIMEOUT)
    check(rc == 0, pw_error(rc, err))
    doc = parse_output(out, "parkwatch --dump --format json", docs.PICTURE)
    evicted = re.search(r"symbol cache: (\d+) evictions", err)
    check(evicted, f"--memory-limit {SMALL_LIMIT} evicted nothing: stderr {err.strip()[-300:]!r}")
    seen, wrong = set(), []
    for unit in doc["units"]:
        if unit["kind"] != "thread" or unit["id"] not in tids.get(unit["pid"], ()):
            continue
        seen.add(unit["id"])
        named = {f.get("function"): f for f in unit["frames"]}
        for name, (start, end) in ranges.items():
            frame = named.get(name)
            offset = int(frame["address"], 16) - bases[unit["pid"]] if frame else None
            if not frame or os.path.realpath(frame.get("module", "")) != os.path.realpath(binary) \
                    or not start <= offset - 1 < end:
                wrong.append((unit["pid"], unit["id"], name, frame))
    want = sum(len(t) for t in tids.values())
    check(len(seen) == want, f"{want - len(seen)} of {want} farm threads missing from the dump")
    check(not wrong, f"{len(wrong)} frames not where nm and /proc/PID/maps put them, "
                     f"e.g. {wrong[:2]}")
    bound = RSS_BOUND_KIB + RSS_PER_OTHER_THREAD_KIB * others
    check(peak_kib <= bound, f"peak RSS {peak_kib} KiB, over the bound of {bound} KiB "
                             f"({others} other threads on the machine)")
    return (f"{want} threads named, {evicted.group(1)} evictions, peak RSS "
            f"{peak_kib // 1024} MiB ({others} other threads)")
