# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Every output of one parkwatch watching all of the real-process targets at
once: C++ (cppwait), tail calls (tailcall), names that aren't UTF-8
(badnames), restarted waits (restarts), a binary that exists only inside its
own mount + PID namespace, and targets in a Docker-style and a kubepods-style
cgroup.  Each target's own test compares its stacks with gdb's; this one
checks what a scrape and a dump of all of them together must give:

- `--dump --format json`: strict UTF-8, parses, passes the schema, every
  target present with every thread /proc lists;
- `/metrics` of `--http`: strict UTF-8 and `promtool check metrics` clean,
  every target's series there, the cgroup targets' `container` and `pod`
  labels the ids the test wrote into their cgroup paths;
- the pprof profile of `/debug/pprof/goroutine` for each target decodes;
- the text dump: every parked thread with a stack (no "(no user stack");
- every parked thread that slept through the dump and gdb's attach names
  the same functions as gdb, frame for frame.
"""

import os
import tempfile
import uuid

from pwtest import check, docs, poll
from pwtest.oracles import gdb, proc, promtool
from pwtest.oracles.profile_pb import decode_profile
from pwtest.parkwatch import PICTURE_TIMEOUT, Server, parse_json, run_raw, strict_text
from pwtest.procs import Target
from pwtest.runner import test
from test_containers import NamespacedTarget, cgroup_mounts, start_in_cgroup


def task_ids(pid):
    return {int(t) for t in os.listdir(f"/proc/{pid}/task")}


@test
def test_every_output_of_real_processes():
    promtool.promtool()
    mounts = cgroup_mounts()
    key = "pids" if "pids" in mounts else "v2"
    check(key in mounts, "neither cgroup v1's pids nor cgroup v2 is mounted")
    docker_id, kube_id = (uuid.uuid4().hex + uuid.uuid4().hex for _ in range(2))
    pod = str(uuid.uuid4())
    paths = {"docker": f"/docker/{docker_id}",
             "kube": f"/kubepods/burstable/pod{pod}/{kube_id}"}
    want_labels = {"docker": (docker_id, ""), "kube": (kube_id, pod)}
    targets, cgroups = {}, []
    try:
        for name in ("cppwait", "tailcall", "badnames", "restarts"):
            targets[name] = Target(name)
        for t in targets.values():
            t.wait_ready()
        started = []
        for name, path in paths.items():
            targets[name] = start_in_cgroup(started, cgroups, mounts[key], path, "condwait", 2)
        with NamespacedTarget() as nt:
            pids = {name: t.pid for name, t in targets.items()}
            pids["namespace"] = nt.pid
            args = [a for pid in pids.values() for a in ("-p", pid)]

            before_by_pid = {pid: proc.snapshot(pid) for pid in pids.values()}
            raw = run_raw(args + ["--dump", "--format", "json"])
            doc, _ = parse_json(strict_text(raw, "JSON dump"), "JSON dump", docs.PICTURE)
            threads = docs.threads(doc)
            for name, pid in pids.items():
                seen = {u["id"] for u in threads if u.get("pid") == pid}
                lost = task_ids(pid) - seen
                check(not lost, f"{name} (pid {pid}): threads {sorted(lost)} not in the dump")
                bare = [u["id"] for u in threads
                        if u.get("pid") == pid and u.get("parked") and not u.get("frames")]
                check(not bare, f"{name} (pid {pid}): parked threads without a stack {bare}")
            for name, (container, pod_uid) in want_labels.items():
                summary = docs.process(doc, pids[name])[0]
                cg = summary.get("cgroup") or {}
                check(cg.get("container") == container and (cg.get("pod") or "") == pod_uid,
                      f"{name}: JSON cgroup {cg}, expected container {container} pod {pod_uid!r}")

            parked = {pid: [u for u in threads if u.get("pid") == pid and u.get("parked")]
                      for pid in pids.values()}
            compared, problems = gdb.agreement(parked, before_by_pid)
            print(f"  gdb: {len(compared) - len(problems)}/{len(compared)} parked threads equal")
            check(len(compared) >= len(threads) // 2, f"only {len(compared)} of {len(threads)} "
                                                      f"threads slept through both views")
            check(not problems, "; ".join(problems[:3]))

            text = strict_text(run_raw(args + ["--dump"]), "text dump")
            check("(no user stack" not in text,
                  "the text dump has a parked thread without its stack")

            exes = {name: proc.exe(pid) for name, pid in pids.items()}
            with Server(args + ["--interval", "500ms"]) as srv:
                def scraped():
                    status, _, body = srv.get("/metrics")
                    check(status == 200, f"/metrics: status {status}")
                    have = all(f'exe="{exe}"'.encode() in body for exe in exes.values())
                    return body if have else None
                body = poll(scraped, PICTURE_TIMEOUT, "every target's series in /metrics",
                            interval=0.2)
                rc, said = promtool.check_metrics(body)
                check(rc == 0, f"promtool check metrics: exit {rc}: {said[:300]!r}")
                samples = promtool.parse_metrics(strict_text(body, "/metrics"))
                # no pid label: one program's processes are told apart by where they run
                for exe in set(exes.values()):
                    want = {want_labels.get(name, ("", "")) for name, e in exes.items()
                            if e == exe}
                    got = {(l.get("container"), l.get("pod")) for n, l, _ in samples
                           if n == "parkwatch_watched" and l.get("exe") == exe}
                    check(got == want, f"{exe}: /metrics container/pod labels {got}, "
                                       f"expected {want}")
                for name, pid in pids.items():
                    status, _, prof = srv.get(f"/debug/pprof/goroutine?pid={pid}")
                    check(status == 200, f"{name}: pprof status {status}")
                    with tempfile.NamedTemporaryFile(suffix=".pb.gz") as f:
                        f.write(prof)
                        f.flush()
                        profile = decode_profile(f.name)
                    check(profile["samples"], f"{name}: the profile has no sample")
            print(f"  {len(pids)} targets, {len(threads)} threads: JSON, text, /metrics "
                  f"(promtool) and pprof read back")
    finally:
        for t in targets.values():
            t.__exit__(None, None, None)
        for cg in reversed(cgroups):
            cg.__exit__(None, None, None)
