#!/usr/bin/env python3
"""Helper for tools/bench/compare_dumps.sh and go_releases.sh (not meant to
be run on its own).

Sub-commands:

  run STATS CMD [ARG...]   run CMD (stdin, stdout and stderr as given to this
                           helper), write "STATUS WALL_S MAXRSS_KB" to STATS:
                           the wall time from fork to wait4, the peak RSS from
                           wait4's rusage.  Used when /usr/bin/time is missing.
  count FILE MARKER        what a `parkwatch --dump` text holds: prints
                           "KIND UNITS MARKED" where KIND is thread or
                           goroutine, UNITS the threads/goroutines in it and
                           MARKED how many of them have MARKER in their stack.
                           --debug 2 (one block per unit, `thread N "NAME" [`
                           / `goroutine N [`) and --debug 1 (`K @ ...` groups
                           under `thread|goroutine profile: total T`, which
                           must add up to T) are both understood.  Exit 1
                           with a reason on stderr if it is neither.
  goparked URL FUNC        from a Go program's /debug/pprof/goroutine?debug=2
                           at URL: prints "PARKED TOTAL", the goroutines whose
                           innermost frame is FUNC and that wait in a channel
                           receive, and all goroutines.
  fetch URL OUT            GET URL into the file OUT; prints "WALL_S BYTES":
                           the time from the request to the last byte (no
                           interpreter start-up in it).  Used by
                           go_releases.sh for the runtime's own dump.
  report RESULTS           the table (RESULTS: the lines compare_dumps.sh
                           recorded, see cmd_report).
"""

import os
import re
import statistics
import sys
import time
import urllib.request


def die(msg, code=2):
    print("dumpstat: " + msg, file=sys.stderr)
    sys.exit(code)


def cmd_run(stats, argv):
    t0 = time.perf_counter()
    try:
        pid = os.fork()
    except OSError as e:
        die("fork: %s" % e)
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            print("dumpstat: cannot run %s: %s" % (argv[0], e), file=sys.stderr)
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.WIFSIGNALED(status):
        rc = 128 + os.WTERMSIG(status)
    else:
        rc = os.WEXITSTATUS(status)
    with open(stats, "w") as f:
        # ru_maxrss is in KiB on Linux
        f.write("%d %.6f %d\n" % (rc, wall, ru.ru_maxrss))
    return 0


# a thread's block names it (`thread 12 "worker" [`), a goroutine's does not
HEAD2 = re.compile(r'^(thread|goroutine) (\d+)(?: "(?:[^"\\]|\\.)*")? \[')
HEAD1 = re.compile(r"^(thread|goroutine) profile: total (\d+)\s*$")
GROUP1 = re.compile(r"^(\d+) @")


def count_dump(path, marker):
    """(kind, units, marked) or raise ValueError(reason)."""
    with open(path, errors="replace") as f:
        lines = f.read().split("\n")
    head1 = next((HEAD1.match(l) for l in lines if HEAD1.match(l)), None)
    if head1:
        kind, total = head1.group(1), int(head1.group(2))
        units = marked = 0
        cur = None  # count of the group being read, if it has the marker yet
        hit = False
        for l in lines:
            m = GROUP1.match(l)
            if m:
                if cur is not None and hit:
                    marked += cur
                cur, hit = int(m.group(1)), False
                units += cur
            elif cur is not None and l.startswith("#") and marker in l:
                hit = True
        if cur is not None and hit:
            marked += cur
        if units != total:
            raise ValueError("--debug 1 groups add up to %d, the header says total %d"
                             % (units, total))
        return kind, units, marked
    kind = None
    units = marked = 0
    hit = False
    in_block = False
    for l in lines:
        m = HEAD2.match(l)
        if m:
            if in_block and hit:
                marked += 1
            if kind is None:
                kind = m.group(1)
            elif kind != m.group(1):
                raise ValueError("both thread and goroutine blocks")
            units += 1
            in_block, hit = True, False
        elif in_block and l.strip() == "":
            if hit:
                marked += 1
            in_block, hit = False, False
        elif in_block and marker in l:
            hit = True
    if in_block and hit:
        marked += 1
    if kind is None:
        raise ValueError("no `thread N [` or `goroutine N [` line and no "
                         "`... profile: total N` header")
    return kind, units, marked


def cmd_count(path, marker):
    try:
        kind, units, marked = count_dump(path, marker)
    except (OSError, ValueError) as e:
        print("dumpstat: %s: %s" % (path, e), file=sys.stderr)
        return 1
    print(kind, units, marked)
    return 0


def cmd_goparked(url, func):
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            text = r.read().decode("utf-8", "replace")
    except OSError as e:
        die("%s: %s" % (url, e), 1)
    parked = total = 0
    lines = text.split("\n")
    for i, l in enumerate(lines):
        m = re.match(r"^goroutine \d+ \[([^\]]*)\]:", l)
        if not m:
            continue
        total += 1
        state = m.group(1)
        first = lines[i + 1] if i + 1 < len(lines) else ""
        if state.startswith("chan receive") and first.startswith(func + "("):
            parked += 1
    print(parked, total)
    return 0


def cmd_fetch(url, out):
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=300) as r:
            body = r.read()
    except OSError as e:
        die("%s: %s" % (url, e), 1)
    wall = time.perf_counter() - t0
    with open(out, "wb") as f:
        f.write(body)
    print("%.6f %d" % (wall, len(body)))
    return 0


def fmt_ratio(b, a):
    return "%.2fx" % (b / a) if a else "-"


def cmd_report(results):
    """RESULTS lines, tab-separated:
    CASE ROUND SIDE WALL_S RSS_KB KIND UNITS MARKER MARKED
    SIDE is A (before) or B (after); ROUND 0 is the untimed warm-up."""
    recs = []
    with open(results) as f:
        for line in f:
            w = line.rstrip("\n").split("\t")
            if len(w) != 9:
                continue
            recs.append({"case": w[0], "round": int(w[1]), "side": w[2],
                         "wall": float(w[3]), "rss": int(w[4]), "kind": w[5],
                         "units": int(w[6]), "marker": w[7],
                         "marked": int(w[8])})
    cases = []
    for r in recs:
        if r["case"] not in cases:
            cases.append(r["case"])
    timed = [r for r in recs if r["round"] > 0]
    width = max([len(c) for c in cases] + [28])

    def vals(case, side, key, rs=timed):
        return [r[key] for r in rs if r["case"] == case and r["side"] == side]

    print("%-*s %9s %9s %8s   %10s %10s %8s" % (
        width, "dump (parkwatch -p PID ...)", "before s", "after s", "after/",
        "before MiB", "after MiB", "after/"))
    print("%-*s %9s %9s %8s   %10s %10s %8s" % (
        width, "", "median", "median", "before", "peak RSS", "peak RSS", "before"))
    for c in cases:
        wa, wb = vals(c, "A", "wall"), vals(c, "B", "wall")
        ra, rb = vals(c, "A", "rss"), vals(c, "B", "rss")
        if not wa or not wb:
            continue
        ma, mb = statistics.median(wa), statistics.median(wb)
        qa, qb = statistics.median(ra) / 1024.0, statistics.median(rb) / 1024.0
        print("%-*s %9.3f %9.3f %8s   %10.1f %10.1f %8s" % (
            width, c, ma, mb, fmt_ratio(mb, ma), qa, qb, fmt_ratio(qb, qa)))
    print()
    print("per round, in run order (A then B): wall s before/after "
          "[after/before]; the spread is the noise")
    for c in cases:
        rounds = sorted({r["round"] for r in timed if r["case"] == c})
        parts = []
        for n in rounds:
            a = [r for r in timed if r["case"] == c and r["round"] == n and r["side"] == "A"]
            b = [r for r in timed if r["case"] == c and r["round"] == n and r["side"] == "B"]
            if a and b:
                parts.append("%.3f/%.3f [%.2f]" % (a[0]["wall"], b[0]["wall"],
                                                   b[0]["wall"] / a[0]["wall"]))
        wa, wb = vals(c, "A", "wall"), vals(c, "B", "wall")
        spread = ""
        if wa and wb:
            spread = "   (min/max before %.2f, after %.2f)" % (
                min(wa) / max(wa), min(wb) / max(wb))
        print("  %-*s %s%s" % (width, c, "  ".join(parts), spread))
        ra, rb = vals(c, "A", "rss"), vals(c, "B", "rss")
        if ra and rb and (max(ra) - min(ra) > 0.1 * max(ra) or
                          max(rb) - min(rb) > 0.1 * max(rb)):
            print("  %-*s peak RSS MiB varies: before %.1f..%.1f, after %.1f..%.1f"
                  % (width, "", min(ra) / 1024.0, max(ra) / 1024.0,
                     min(rb) / 1024.0, max(rb) / 1024.0))
    print()
    print("output check: every dump (warm-up included) exited 0 and printed")
    for c in cases:
        desc = []
        for side, name in (("A", "before"), ("B", "after")):
            rs = [r for r in recs if r["case"] == c and r["side"] == side]
            if not rs:
                continue
            u = sorted({r["units"] for r in rs})
            m = sorted({r["marked"] for r in rs})
            desc.append("%s %s %ss, %s in %s" % (
                name, "/".join(map(str, u)), rs[0]["kind"],
                "/".join(map(str, m)), rs[0]["marker"]))
        print("  %-*s %s" % (width, c, "; ".join(desc)))
    return 0


def main(argv):
    if len(argv) < 2:
        die("usage: dumpstat.py run|count|goparked|fetch|report ...")
    cmd, args = argv[1], argv[2:]
    if cmd == "run" and len(args) >= 2:
        return cmd_run(args[0], args[1:])
    if cmd == "count" and len(args) == 2:
        return cmd_count(*args)
    if cmd == "goparked" and len(args) == 2:
        return cmd_goparked(*args)
    if cmd == "fetch" and len(args) == 2:
        return cmd_fetch(*args)
    if cmd == "report" and len(args) == 1:
        return cmd_report(*args)
    die("bad arguments: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
