#!/usr/bin/env python3
"""Run parkwatch's libFuzzer targets, each for a while, and say what they found.

Usage: run.py [--seconds S] [--jobs N] FUZZ_BINARY...

Each target build/fuzz/bin/fuzz_NAME runs for S seconds over its seeds
(tests/fuzz/corpus/NAME/ and, when the build made them,
build/fuzz/seeds/NAME/), keeping what it learns in build/fuzz/corpus/NAME/.
One line per target gives its executions and whether it found anything; a
crash, leak, timeout or out-of-memory leaves its reproducer in
build/fuzz/crashes/NAME/ and makes the exit status 1, as does a run that
stopped early with no input to blame (a signal, the machine out of threads).
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys

# per input: longer is a hang, more is a blow-up (both are findings)
TIMEOUT_SECONDS = 10
RSS_LIMIT_MB = 2048
INTERRUPTED = 72           # libFuzzer's exit status after SIGINT or SIGTERM


def run_target(binary, seconds, build):
    name = os.path.basename(binary)[len("fuzz_"):]
    corpus = os.path.join(build, "corpus", name)
    crashes = os.path.join(build, "crashes", name)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(crashes, exist_ok=True)
    seeds = [os.path.join("tests/fuzz/corpus", name), os.path.join(build, "seeds", name)]
    seeds = [d for d in seeds if os.path.isdir(d)]
    env = dict(os.environ)
    pclntabs = os.path.join(build, "seeds", "pclntab")
    if "PARKWATCH_FUZZ_PCLNTAB" not in env and os.path.isdir(pclntabs) and os.listdir(pclntabs):
        # fuzz_goroutines unwinds by a real Go binary's tables when it has one
        env["PARKWATCH_FUZZ_PCLNTAB"] = os.path.join(pclntabs, sorted(os.listdir(pclntabs))[0])
    before = set(os.listdir(crashes))
    log = os.path.join(build, "logs", name + ".log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    # -close_fd_mask=1: what the code under test prints (--help, ...) is
    # dropped; libFuzzer's own report goes to stderr, into the log
    cmd = [binary, f"-max_total_time={seconds}", f"-timeout={TIMEOUT_SECONDS}",
           f"-rss_limit_mb={RSS_LIMIT_MB}", "-print_final_stats=1", "-close_fd_mask=1",
           f"-artifact_prefix={crashes}/", corpus] + seeds
    # the outer bound: libFuzzer stops itself at max_total_time, plus the
    # time to load the corpus and write the stats
    with open(log, "w") as out:
        try:
            status = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    timeout=seconds + 120).returncode
        except subprocess.TimeoutExpired:
            status = "killed after its time"
    with open(log, errors="replace") as f:
        output = f.read()
    execs = re.search(r"stat::number_of_executed_units: (\d+)", output)
    found = sorted(set(os.listdir(crashes)) - before)
    if found:
        return False, (f"fuzz {name}: FOUND something (exit {status}): "
                       f"{', '.join(os.path.join(crashes, c) for c in found)}\n"
                       f"  reproduce: {binary} {os.path.join(crashes, found[0])}\n"
                       f"  log: {log}")
    if status != 0:
        # no input to blame: a signal from outside (libFuzzer exits 72 when
        # interrupted) or the machine out of threads or memory; run it again
        why = "interrupted" if status == INTERRUPTED else "stopped"
        return False, (f"fuzz {name}: {why} without a finding (exit {status}), not clean: "
                       f"run it again\n  log: {log}")
    execs = execs.group(1) if execs else "?"
    return True, f"fuzz {name}: {execs} execs in {seconds} s, nothing found"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--build", default="build/fuzz")
    parser.add_argument("binaries", nargs="+")
    args = parser.parse_args()
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = [pool.submit(run_target, b, args.seconds, args.build) for b in args.binaries]
        for run in runs:
            ok, line = run.result()
            print(line, flush=True)
            failed += not ok
    print(f"fuzz: {len(runs) - failed} targets clean, {failed} not")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
