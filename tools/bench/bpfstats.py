#!/usr/bin/env python3
"""Helper for tools/bench/sched_pipe.sh: BPF program stats and the report.

Sub-commands (all output is for the calling script, not for people, except
`report`):

  attached PID PREFIX OUT   exit 0 once the BPF programs loaded by process PID
                            are attached to sched_switch (and, if PREFIX is
                            not '-', are named PREFIX*) as `bpftool prog show`
                            lists them; writes the tracer's program set to OUT
                            (JSON).  Exit 1: not yet.
  snap OUT [PID]            `bpftool prog show --json` stats + /proc/stat ctxt
                            (+ the program ids process PID holds)
  record ...                one measurement (see below) appended as JSON line
  report RESULTS PERF_CMD   the table (PERF_CMD ends in the loop count)

Which programs belong to a tracer is read from /proc/PID/fdinfo (bpf-prog
and bpf_link descriptors carry prog_id; raw tracepoint links, which is what
tp_btf programs use, carry tp_name).  Programs of other tracers that happen
to be loaded at the same time are thus never counted.  If fdinfo shows
nothing (other kernels), programs are picked by name prefix instead.
"""

import json
import os
import statistics
import subprocess
import sys
import time

BPFTOOL = os.environ.get("BPFTOOL", "bpftool")


def die(msg):
    print("bpfstats: " + msg, file=sys.stderr)
    sys.exit(2)


def bpftool_json(*args):
    try:
        out = subprocess.run([BPFTOOL, *args, "--json"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die("bpftool %s failed: %s" % (" ".join(args), e))
    return json.loads(out or "[]")


def fd_bpf_objects(pid):
    """(prog ids, links) referenced by the descriptors of process pid.

    links: list of dicts {prog_id, tp_name, link_type}."""
    progs, links = set(), []
    fddir = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(fddir)
    except OSError:
        return progs, links
    for fd in fds:
        try:
            target = os.readlink(os.path.join(fddir, fd))
        except OSError:
            continue
        if target not in ("anon_inode:bpf-prog", "anon_inode:bpf_link"):
            continue
        info = {}
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    info[k.strip()] = v.strip()
        except OSError:
            continue
        if "prog_id" not in info:
            continue
        pid_ = int(info["prog_id"])
        progs.add(pid_)
        if target == "anon_inode:bpf_link":
            links.append({"prog_id": pid_, "tp_name": info.get("tp_name"),
                          "link_type": info.get("link_type")})
    return progs, links


def cmd_attached(pid, prefix, out):
    pid = int(pid)
    if prefix == "-":
        prefix = ""
    loaded = {p["id"]: p for p in bpftool_json("prog", "show")}
    owned, links = fd_bpf_objects(pid)
    if owned:
        mine = {i: loaded[i] for i in owned if i in loaded}
    else:
        if not prefix:
            return 1  # nothing to go by yet
        mine = {i: p for i, p in loaded.items()
                if p.get("name", "").startswith(prefix)}
        links = [{"prog_id": l.get("prog_id"), "tp_name": l.get("tp_name"),
                  "link_type": l.get("type")}
                 for l in bpftool_json("link", "show")
                 if l.get("prog_id") in mine]
    if prefix and not any(p.get("name", "").startswith(prefix)
                          for p in mine.values()):
        return 1
    switch = [l["prog_id"] for l in links
              if l.get("tp_name") == "sched_switch" and l["prog_id"] in mine]
    if not switch:
        # no tp_name anywhere (other kernel): go by the program's name,
        # but only once something is linked at all
        if not links:
            return 1
        switch = [i for i, p in mine.items() if "switch" in p.get("name", "")]
        if not switch:
            return 1
    state = {
        "progs": sorted(mine),
        "names": {str(i): p.get("name", "?") for i, p in mine.items()},
        "switch_prog": switch[0],
        "links": sorted((l["prog_id"], str(l.get("tp_name"))) for l in links),
    }
    # links appear one by one while the tracer attaches: call it attached
    # when two polls in a row saw the same set
    try:
        with open(out) as f:
            prev = json.load(f)
    except (OSError, ValueError):
        prev = None
    with open(out, "w") as f:
        json.dump(state, f)
    if prev is not None and prev.get("links") == [list(x) for x in state["links"]] \
            and prev.get("progs") == state["progs"]:
        return 0
    return 1


def read_ctxt():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("ctxt "):
                return int(line.split()[1])
    return 0


def cmd_snap(out, pid=None):
    ctxt0 = read_ctxt()
    progs = bpftool_json("prog", "show")
    owned = sorted(fd_bpf_objects(int(pid))[0]) if pid else []
    sched_links = sorted({l.get("prog_id") for l in bpftool_json("link", "show")
                          if str(l.get("tp_name", "")).startswith("sched_")})
    snap = {
        "owned": owned,
        "sched_links": sched_links,
        "t": time.monotonic(),
        "ctxt": ctxt0,
        "progs": {str(p["id"]): {"name": p.get("name", "?"),
                                 "run_time_ns": p.get("run_time_ns", 0),
                                 "run_cnt": p.get("run_cnt", 0)}
                  for p in progs},
    }
    with open(out, "w") as f:
        json.dump(snap, f)
    return 0


def parse_perf(path):
    """ops/sec from `perf bench sched pipe` output (None if not found)."""
    total = loops = None
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) == 2 and w[1] == "ops/sec":
                return float(w[0])
            if line.strip().startswith("Total time:"):
                total = float(w[2])
            if "Executed" in line and "pipe operations" in line:
                loops = int(w[2])
    if total and loops:
        return loops / total
    return None


def cmd_record(results, config, rep, perf_out, before, after, tracer):
    ops = parse_perf(perf_out)
    if ops is None:
        die("no ops/sec in perf output %s" % perf_out)
    with open(before) as f:
        b = json.load(f)
    with open(after) as f:
        a = json.load(f)
    rec = {"config": config, "rep": int(rep), "ops": ops,
           "secs": a["t"] - b["t"], "ctxt": a["ctxt"] - b["ctxt"]}
    mine = set()
    if tracer != "-":
        with open(tracer) as f:
            mine = set(json.load(f)["progs"])
        mine |= set(b.get("owned", [])) | set(a.get("owned", []))
    # BPF programs of someone else on sched_* tracepoints skew the run
    foreign = (set(b.get("sched_links", [])) | set(a.get("sched_links", []))) - mine
    rec["foreign"] = sorted(foreign)
    if foreign:
        print("bpfstats: warning: %s round %s: other BPF programs on sched_* "
              "tracepoints during the run (prog ids %s: %s); this run is skewed"
              % (config, rep, ", ".join(map(str, sorted(foreign))),
                 ", ".join(sorted({a["progs"].get(str(i), b["progs"].get(str(i), {}))
                                   .get("name", "?") for i in foreign}))),
              file=sys.stderr)
    if tracer != "-":
        with open(tracer) as f:
            tr = json.load(f)
        progs = {}
        # the programs found at attach time, plus any the tracer loaded
        # later (e.g. an iterator loaded per snapshot)
        ids = set(tr["progs"]) | set(b.get("owned", [])) | set(a.get("owned", []))
        for i in sorted(ids):
            k = str(i)
            if k not in a["progs"]:
                print("bpfstats: warning: %s program %s (%s) unloaded during "
                      "the run; its cost is not counted" % (
                          config, k, b["progs"].get(k, {}).get("name", "?")),
                      file=sys.stderr)
                continue
            pa = a["progs"][k]
            pb = b["progs"].get(k, {"run_time_ns": 0, "run_cnt": 0})
            name = pa["name"]
            if name in progs:      # same name loaded twice: keep them apart
                name = "%s#%s" % (name, k)
            progs[name] = {
                "id": i,
                "run_time_ns": pa["run_time_ns"] - pb["run_time_ns"],
                "run_cnt": pa["run_cnt"] - pb["run_cnt"],
            }
        rec["progs"] = progs
        rec["switch_prog"] = next(n for n, p in progs.items()
                                  if p["id"] == tr["switch_prog"])
        sw = progs[rec["switch_prog"]]["run_cnt"]
        rec["switches"] = sw
        tot = sum(p["run_time_ns"] for p in progs.values())
        rec["bpf_ns"] = tot
        rec["ns_per_switch"] = tot / sw if sw else None
    with open(results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    msg = "%-11s rep %d: %8.0f ops/s%s" % (config, int(rep), ops,
                                          " (skewed)" if foreign else "")
    if "ns_per_switch" in rec and rec["ns_per_switch"] is not None:
        msg += "  bpf %.0f ns/switch (%d switches, %d in /proc/stat)" % (
            rec["ns_per_switch"], rec["switches"], rec["ctxt"])
    print(msg, file=sys.stderr)
    return 0


def cmd_report(results, perf_cmd):
    loops = perf_cmd.split()[-1]
    recs = []
    with open(results) as f:
        for line in f:
            if line.strip():
                recs.append(json.loads(line))
    order = []
    for r in recs:
        if r["config"] not in order:
            order.append(r["config"])
    by = {c: [r for r in recs if r["config"] == c] for c in order}
    med = {c: statistics.median(r["ops"] for r in rs) for c, rs in by.items()}
    base = med.get("none")

    print("%s: %d rep(s) per config, interleaved"
          % (perf_cmd, max(len(v) for v in by.values())))
    print()
    print("%-12s %14s %8s %7s %14s %12s" % (
        "config", "ops/s(median)", "vs none", "loss", "bpf ns/switch",
        "switches/op"))
    for c in order:
        rs = by[c]
        ratio = "%.3fx" % (med[c] / base) if base else "-"
        loss = "%.1f%%" % ((1 - med[c] / base) * 100) if base else "-"
        if c == "none":
            ratio, loss = "1.000", "-"
        nps = [r["ns_per_switch"] for r in rs if r.get("ns_per_switch") is not None]
        nps_s = "%.0f" % statistics.median(nps) if nps else "-"
        # switches per pipe op from /proc/stat (all CPUs, whole system)
        spo = statistics.median(r["ctxt"] / float(loops) for r in rs)
        print("%-12s %14.0f %8s %7s %14s %12.2f" % (c, med[c], ratio, loss,
                                                   nps_s, spo))
    print()
    print("per round, in run order: ops/s [switches/op] (the spread is the noise)")
    for c in order:
        vals = [r["ops"] for r in by[c]]
        lo, hi = min(vals), max(vals)
        print("  %-11s %s   (min/max %.3f)" % (
            c, " ".join("%.0f [%.2f]%s" % (r["ops"], r["ctxt"] / float(loops),
                                           "*" if r.get("foreign") else "")
                        for r in by[c]),
            lo / hi if hi else 0))
    spread = min(min(r["ops"] for r in rs) / max(r["ops"] for r in rs)
                 for rs in by.values())
    if len(recs) > len(by) and spread < 0.7:
        spo = [r["ctxt"] / float(loops) for r in recs]
        print()
        print("WARNING: ops/s vary up to %.1fx between rounds of one config: the "
              "ratios above are not reliable." % (1 / spread))
        if max(spo) - min(spo) > 0.5:
            print("  switches/op range %.2f..%.2f: the two ends of the pipe shared "
                  "a CPU in some rounds and not in others; -C 0 pins them."
                  % (min(spo), max(spo)))
    skewed = [r for r in recs if r.get("foreign")]
    if skewed:
        print()
        print("WARNING: %d run(s), marked *, had other BPF programs on sched_* "
              "tracepoints (another tracer running): %s" % (
                  len(skewed), ", ".join("%s#%d" % (r["config"], r["rep"])
                                         for r in skewed)))
    for c in order:
        rs = [r for r in by[c] if "progs" in r]
        if not rs:
            continue
        print()
        print("%s: BPF programs, deltas over the bench runs (summed over %d reps)"
              % (c, len(rs)))
        print("  %-24s %12s %14s %9s %12s" % ("program", "run_cnt",
                                                "run_time_ns", "ns/run",
                                                "ns/switch"))
        names = []
        for r in rs:
            for n in r["progs"]:
                if n not in names:
                    names.append(n)
        sw_total = sum(r["switches"] for r in rs)
        for n in names:
            cnt = sum(r["progs"].get(n, {}).get("run_cnt", 0) for r in rs)
            ns = sum(r["progs"].get(n, {}).get("run_time_ns", 0) for r in rs)
            mark = "  <- sched_switch" if n == rs[0]["switch_prog"] else ""
            print("  %-24s %12d %14d %9s %12s%s" % (
                n, cnt, ns, "%.0f" % (ns / cnt) if cnt else "-",
                "%.1f" % (ns / sw_total) if sw_total else "-", mark))
        tot = sum(r["bpf_ns"] for r in rs)
        ctxt = sum(r["ctxt"] for r in rs)
        print("  %-24s %12s %14d %9s %12s" % (
            "total", "", tot, "", "%.1f" % (tot / sw_total) if sw_total else "-"))
        print("  sched_switch events: %d counted by BPF, %d in /proc/stat ctxt"
              % (sw_total, ctxt))
    return 0


def main(argv):
    if len(argv) < 2:
        die("usage: bpfstats.py attached|snap|record|report ...")
    cmd, args = argv[1], argv[2:]
    if cmd == "attached" and len(args) == 3:
        return cmd_attached(*args)
    if cmd == "snap" and len(args) in (1, 2):
        return cmd_snap(*args)
    if cmd == "record" and len(args) == 7:
        return cmd_record(*args)
    if cmd == "report" and len(args) == 2:
        return cmd_report(*args)
    die("bad arguments: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
