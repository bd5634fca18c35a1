# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Names any local user can set (prctl(PR_SET_NAME)): bytes that are not
UTF-8 or that a terminal acts on, on the threads and the main thread of
build/targets/badnames.  Every output must stay readable by strict readers:
Python's json on the raw bytes, promtool and a real Prometheus on /metrics,
a strict decoder and `go tool pprof` on the profile; the text dump and
folded stacks must carry no raw control byte.

The oracle of each name is /proc/PID/task/TID/comm (the kernel's bytes) and
Python's own view of them: bytes.decode("utf-8", "replace"), which replaces
each maximal ill-formed subpart by U+FFFD as parkwatch does.
"""

import json
import os
import re
import tempfile
import unicodedata

from pwtest import Fail, check, docs, poll
from pwtest.oracles import gopprof, proc, promtool, schema
from pwtest.oracles.prometheus import Prometheus
from pwtest.oracles.profile_pb import decode_profile
from pwtest.parkwatch import PICTURE_TIMEOUT, Server, run_raw, strict_text
from pwtest.procs import Target
from pwtest.runner import test

BIDI = {chr(c) for c in list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A))}


def comm_bytes(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/comm", "rb") as f:
        return f.read().rstrip(b"\n")


def proc_names(t, tids):
    """{tid: raw name bytes} of the target's named threads and its main thread."""
    names = {tid: comm_bytes(t.pid, tid) for tid in tids}
    names[t.pid] = comm_bytes(t.pid, t.pid)
    check(any(not _valid_utf8(n) for n in names.values()),
          f"badnames: no name is ill-formed UTF-8: {names}")
    return names


def _valid_utf8(raw):
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def no_raw_controls(text, what):
    bad = [(i, hex(ord(c))) for i, c in enumerate(text)
           if (unicodedata.category(c) == "Cc" and c not in "\n\t") or c in BIDI]
    check(not bad, f"{what}: raw control characters at {bad[:5]}: "
                   f"{text[max(0, bad[0][0] - 40):bad[0][0] + 20]!r}" if bad else "")


def go_unescape(text):
    """The bytes of a name as the text dump escapes it (Go's %q style)."""
    out, i = bytearray(), 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "x":
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        elif nxt == "u":
            out += chr(int(text[i + 2:i + 6], 16)).encode()
            i += 6
        else:
            out += {"n": b"\n", "r": b"\r", "t": b"\t"}.get(nxt, nxt.encode())
            i += 2
    return bytes(out)


def folded_name(raw):
    """A name as a folded frame: U+FFFD for ill-formed UTF-8 and controls,
    ':' for the frame separator."""
    return "".join(":" if c == ";" else
                   "\ufffd" if unicodedata.category(c) == "Cc" or c in BIDI else c
                   for c in raw.decode("utf-8", "replace"))


@test
def test_names_dumps():
    """--dump in every format on the badnames target: JSON parses strictly and
    its names are Python's view of /proc's; the text dump has no raw control
    byte and its thread lines unescape to /proc's bytes; the profile decodes
    strictly (and in go tool pprof) with thread_name labels; --folded-root
    starts every line with the process."""
    with Target("badnames") as t:
        tids = t.wait_ready()["named"]
        names = proc_names(t, tids)
        base = ["-p", t.pid, "--dump", "--min-park", "0"]

        raw = run_raw(base + ["--format", "json"])
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise Fail(f"JSON dump does not parse strictly: {e}") from None
        schema.validate(doc, "JSON dump", docs.PICTURE)
        units = {u["id"]: u for u in docs.threads(doc)}
        check(set(units) == set(names), f"JSON threads {sorted(units)}, /proc {sorted(names)}")
        for tid, name in names.items():
            want = name.decode("utf-8", "replace")
            check(units[tid]["comm"] == want,
                  f"JSON comm of {tid}: {units[tid]['comm']!r}, Python reads /proc's {name!r} "
                  f"as {want!r}")
        procs = docs.process(doc, t.pid)
        check(procs and procs[0]["comm"] == names[t.pid].decode("utf-8", "replace"),
              f"JSON process comm {procs[0]['comm'] if procs else None!r}")

        text = strict_text(run_raw(base + ["--format", "text"]), "text dump")
        no_raw_controls(text, "text dump")
        shown = {}
        for line in text.splitlines():
            m = re.match(r'^thread (\d+) "((?:[^"\\]|\\.)*)" \[(.*)\]:$', line)
            if m:
                shown[int(m.group(1))] = go_unescape(m.group(2))
        check(shown == names, f"text dump names {shown}, /proc {names}")
        # a name with a newline forged no entry: one line per thread
        check(len(re.findall(r"^thread ", text, re.M)) == len(names),
              f"{len(re.findall(r'^thread ', text, re.M))} thread lines for {len(names)} threads")

        with tempfile.TemporaryDirectory(prefix="pw-names-") as d:
            path = os.path.join(d, "names.pb.gz")
            run_raw(base + ["--format", "pprof", "-o", path])
            prof = decode_profile(path)  # every string decoded as strict UTF-8
            by_name = {}
            for s in prof["samples"]:
                check(s["labels"].get("pid") == t.pid, f"pprof pid label {s['labels']}")
                by_name[s["labels"].get("thread_name")] = \
                    by_name.get(s["labels"].get("thread_name"), 0) + s["values"][0]
            want = {}
            for name in names.values():
                key = name.decode("utf-8", "replace")
                want[key] = want.get(key, 0) + 1
            check(by_name == want, f"pprof thread_name labels {by_name}, expected {want}")
            # Go's own reader (its text output can't be split on names with
            # newlines: only its total is read)
            top = gopprof.parse_top(gopprof.run(["-top"], path))
            check(top.total == str(len(names)),
                  f"go tool pprof -top: {top.total} threads in all, expected {len(names)}")

        folded = strict_text(run_raw(base + ["--format", "folded", "--folded-root"]),
                             "folded output")
        no_raw_controls(folded, "folded output")
        root = f"{folded_name(names[t.pid])} ({t.pid});"
        lines = folded.splitlines()
        check(lines and all(l.startswith(root) for l in lines),
              f"folded lines do not all start with {root!r}: {lines[:3]}")
        check(sum(int(l.rsplit(" ", 1)[1]) for l in lines) == len(names),
              f"folded weights add up to {sum(int(l.rsplit(' ', 1)[1]) for l in lines)}, "
              f"expected {len(names)}")


def scrape(srv, pid):
    """/metrics once it has the target's series: (body bytes, text)."""
    exe = proc.exe(pid)

    def probe():
        status, _, body = srv.get("/metrics")
        check(status == 200, f"/metrics: status {status}: {body[:200]!r}")
        return body if f'exe="{exe}"'.encode() in body else None
    body = poll(probe, PICTURE_TIMEOUT, f"no parkwatch_watched for {exe} in /metrics",
                interval=0.2)
    return body, strict_text(body, "/metrics")


@test
def test_names_metrics():
    """/metrics with the badnames target watched: UTF-8, promtool passes, the
    comm label reads back as Python's view of /proc's bytes, and a real
    Prometheus scraping it keeps the target up."""
    promtool.promtool()
    with Target("badnames") as t:
        tids = t.wait_ready()["named"]
        names = proc_names(t, tids)
        with Server(["-p", t.pid, "--interval", "500ms"]) as srv:
            body, text = scrape(srv, t.pid)
            rc, said = promtool.check_metrics(body)
            check(rc == 0, f"promtool check metrics: exit {rc}: {said[:300]!r}")
            comms = {l.get("comm") for n, l, _ in promtool.parse_metrics(text)
                     if l.get("exe") == proc.exe(t.pid)}
            want = names[t.pid].decode("utf-8", "replace")
            check(comms == {want}, f"comm labels {comms}, expected {{{want!r}}}")
            status, _, body = srv.get("/debug/pprof/")
            strict_text(body, "/debug/pprof/ index")

            with Prometheus(srv.port) as prom:
                active = prom.targets()
                check(all(a["health"] == "up" and not a.get("lastError") for a in active),
                      f"prometheus: {[(a['health'], a.get('lastError')) for a in active]}")
                result = prom.query(f'parkwatch_watched{{exe="{proc.exe(t.pid)}",'
                                    'state="sleeping"}')
                check(result[0]["metric"].get("comm") == want,
                      f"prometheus stored comm {[r['metric'].get('comm') for r in result]}, "
                      f"expected {want!r}")
            srv.stop()


@test
def test_names_container_labels():
    """Targets in real cgroups made by the test (a Docker-style and a
    kubepods-style path, test_containers' shapes): the text dump's process
    line, debug=1 labels, pprof sample labels, /metrics labels (promtool
    passing) and the live table all say where each runs; the oracle is the
    cgroup path the test wrote."""
    from test_containers import CONTAINER_IDS, POD_UIDS, cgroup_cases, cgroup_line, start_in_cgroup
    cases = [c for c in cgroup_cases() if c[3]["container"] in CONTAINER_IDS[:2]]
    check(len(cases) == 2, f"cgroup cases {cases}")
    targets, groups = [], []
    try:
        for key, mount, path, _ in cases:
            t = start_in_cgroup(targets, groups, mount, path, "condwait", 2)
            check(cgroup_line(t.pid, key) == path, f"{t.pid} is not in {key}:{path}")
        (docker, _), (kube, _) = [(t, c) for t, c in zip(targets, cases)]
        want = {docker.pid: (CONTAINER_IDS[0], None), kube.pid: (CONTAINER_IDS[1], POD_UIDS[0])}
        args = [a for t in targets for a in ("-p", t.pid)] + ["--min-park", "0"]

        text = strict_text(run_raw(args + ["--dump"]), "text dump")
        for pid, (container, _) in want.items():
            check(re.search(rf"^process {pid} \(condwait\) container={container[:12]}: ", text,
                            re.M), f"text dump: no `process {pid} (condwait) "
                                   f"container={container[:12]}:` line")
        text = strict_text(run_raw(args + ["--dump", "--debug", "1"]), "debug=1 dump")
        labels = [json.loads(l[len("# labels: "):]) for l in text.splitlines()
                  if l.startswith("# labels: ")]
        for pid, (container, _) in want.items():
            mine = [l for l in labels if l.get("pid") == str(pid)]
            check(mine and all(l.get("container") == container[:12] for l in mine),
                  f"debug=1 labels of {pid}: {mine}")

        with tempfile.TemporaryDirectory(prefix="pw-names-") as d:
            path = os.path.join(d, "where.pb.gz")
            run_raw(args + ["--dump", "--format", "pprof", "-o", path])
            for s in decode_profile(path)["samples"]:
                container, pod = want[s["labels"]["pid"]]
                check(s["labels"].get("container") == container and
                      s["labels"].get("pod") == pod,
                      f"pprof sample of {s['labels']['pid']}: labels {s['labels']}, expected "
                      f"container {container}, pod {pod}")

        # not a terminal: the table once per interval, then the dump
        text = strict_text(run_raw(args + ["--interval", "1s", "--duration", "5s"]),
                           "live table")
        check(re.search(r"^\s+COUNT .* PID COMM\s+CONTAINER\s+REASON", text, re.M),
              f"live table: no CONTAINER column: {text[:300]!r}")
        for pid, (container, pod) in want.items():
            check(re.search(rf"^\s+2 .* {pid} condwait\s+{container[:12]}\s+cond wait ", text,
                            re.M), f"live table: no cond wait row of {pid} in {container[:12]}")

        with Server(args + ["--interval", "500ms"]) as srv:
            for t in targets:
                body, text = scrape(srv, t.pid)
            rc, said = promtool.check_metrics(body)
            check(rc == 0, f"promtool check metrics: exit {rc}: {said[:300]!r}")
            for n, l, _ in promtool.parse_metrics(text):
                if l.get("pid") in (str(docker.pid), str(kube.pid)):
                    container, pod = want[int(l["pid"])]
                    check(l.get("container") == container and l.get("pod") == (pod or "") and
                          l.get("unit") == "", f"{n}: labels {l}")
            srv.stop()
    finally:
        for t in targets:
            t.__exit__(None, None, None)
        for cg in reversed(groups):
            cg.__exit__(None, None, None)
