# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Containers without a container engine: a target in its own mount and PID
namespaces (unshare) whose binary exists only inside them, and targets moved
into cgroups named the way Docker, kubelet and systemd name theirs, created
by the test under /sys/fs/cgroup and removed after.  Oracles: gdb, the
target's /proc/PID/status, maps and cgroup files, and the paths the test
made."""

import os
import re
import shutil
import subprocess
import tempfile
import uuid

from pwtest import TARGET_SRC, TARGETS, Fail, check, func_lines, now, poll
from pwtest import docs, gotargets
from pwtest.oracles import gdb, proc
from pwtest.parkwatch import Live, dump_json, parse_output, pw_error, run_pw, stderr_lines
from pwtest.procs import Target
from pwtest.runner import test

NS_THREADS = 4


def ns_pid_of(pid):
    """The last NSpid field of /proc/PID/status (PID may be PID/task/TID)."""
    return int(proc.status(pid)["NSpid"].split()[-1])


def code_ranges(pid):
    """[(start, end, path)] of PID's executable mappings (/proc/PID/maps)."""
    ranges = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) >= 2 and "x" in parts[1]:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                ranges.append((lo, hi, parts[5].strip() if len(parts) > 5 else ""))
    return ranges


class NamespacedTarget:
    """condwait NS_THREADS run by `unshare --mount --pid --fork`, from a
    tmpfs mounted inside the new mount namespace over an empty host
    directory: its path does not exist on the host.  SETUP (shell, run in
    the namespace with $HIDDEN the directory and $BIN the binary's path)
    puts the binary there, by default a copy of condwait.  pid is the host
    pid of the target (pid 1 inside)."""

    def __init__(self, setup=None):
        self.hidden = tempfile.mkdtemp(prefix="pw-ns-")
        self.path = os.path.join(self.hidden, "condwait-ns")
        setup = setup or f'cp {TARGETS}/condwait "$BIN"'
        script = (f'HIDDEN={self.hidden} BIN={self.path} && mount -t tmpfs pw-ns "$HIDDEN" && '
                  f'{setup} && exec "$BIN" {NS_THREADS}')
        self.t = Target("condwait-ns", "--mount", "--pid", "--fork", "--mount-proc",
                        "--kill-child", "sh", "-c", script, path=shutil.which("unshare"))
        self.pid = None

    def __enter__(self):
        self.t.__enter__()
        self.ns_tids = self.t.wait_ready()["cond"]

        def child():
            try:
                with open(f"/proc/{self.t.pid}/task/{self.t.pid}/children") as f:
                    kids = f.read().split()
            except OSError as e:
                raise Fail(f"unshare's children: {e}") from None
            return int(kids[0]) if kids else None

        self.pid = poll(child, 5, "unshare's child")
        host_of = {ns_pid_of(f"{self.pid}/task/{tid}"): int(tid)
                   for tid in os.listdir(f"/proc/{self.pid}/task")}
        missing = [t for t in self.ns_tids if t not in host_of]
        check(not missing, f"READY tids {missing} are not the target's NSpid tids "
                           f"{sorted(host_of)}")
        # READY gives the namespace's tids; main comes last
        self.tids = [host_of[t] for t in self.ns_tids] + [self.pid]
        # READY comes just before main's pause(): let it get there
        poll(lambda: all(proc.snapshot(self.pid).get(tid, ("?",))[0] == "S"
                         for tid in self.tids), 5, "every thread asleep")
        return self

    def __exit__(self, *exc):
        self.t.__exit__(*exc)
        try:
            os.rmdir(self.hidden)
        except OSError:
            pass
        return False


@test
def test_namespace_binary_only_inside():
    with NamespacedTarget() as nt:
        pid = nt.pid
        check(not os.path.exists(nt.path), f"{nt.path} exists on the host: the test is void")
        check(ns_pid_of(pid) == 1, f"target NSpid {proc.status(pid)['NSpid']!r}: not pid 1 "
                                   f"of its own namespace")
        tids = nt.tids
        doc, _ = dump_json([pid])
        summaries = docs.process(doc, pid)
        check(len(summaries) == 1, f"{len(summaries)} process entries for pid {pid}")
        summary = summaries[0]
        check(summary.get("ns_pid") == ns_pid_of(pid),
              f"ns_pid {summary.get('ns_pid')!r}, /proc/{pid}/status NSpid says {ns_pid_of(pid)}")
        gdb_stacks, _ = gdb.exact_backtraces(pid, sysroot=f"/proc/{pid}/root")
        code = code_ranges(pid)
        threads = docs.by_tid(doc)
        named = total = agree = 0
        problems = []
        for tid in tids:
            th = threads.get(tid)
            check(th is not None, f"tid {tid} absent from the dump")
            frames = th.get("frames") or []
            check(frames, f"tid {tid}: no frames")
            check(th.get("stack_truncated") is False, f"tid {tid}: stack_truncated "
                                                      f"{th.get('stack_truncated')!r}")
            for f in frames:
                addr = int(f["address"], 16)
                where = [r for r in code if r[0] <= addr < r[1]]
                check(where, f"tid {tid}: frame {f.get('function')!r} at {addr:#x} lies in no "
                             f"executable mapping of /proc/{pid}/maps")
                total += 1
                named += bool(f.get("function"))
            own = [f for f in frames if f.get("module") == nt.path]
            check(own, f"tid {tid}: no frame of {nt.path}: modules "
                       f"{sorted({f.get('module') for f in frames})}")
            ok, why = gdb.compare_exact(frames, gdb_stacks.get(tid, []))
            agree += ok
            if not ok:
                problems.append(f"tid {tid}: {why}")
        print(f"namespace target: {named}/{total} frames named, "
              f"{agree}/{len(tids)} threads' functions equal gdb's")
        check(named == total, f"{total - named} of {total} frames without a function")
        check(not problems, "; ".join(problems[:3]))
        names = docs.fnames(threads[tids[0]]["frames"])
        for fn in ("level_three", "level_two", "level_one", "thread_main"):
            check(fn in names, f"{fn} missing from {names}")


# ---------------------------------------------------------------- cgroups

CONTAINER_IDS = [uuid.uuid4().hex + uuid.uuid4().hex for _ in range(7)]
POD_UIDS = [str(uuid.uuid4()) for _ in range(2)]


def cgroup_mounts():
    """{"v2": mountpoint, "pids": ..., "name=systemd": ...} of what is mounted."""
    found = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], fields[sep + 3].split(",")
            if fstype == "cgroup2":
                found.setdefault("v2", fields[4])
            elif fstype == "cgroup":
                for key in ("pids", "name=systemd"):
                    if key in options:
                        found.setdefault(key, fields[4])
    return found


class Cgroup:
    """A cgroup PATH made under MOUNT (parents included), removed with
    them once the `with` block ends and its processes are gone."""

    def __init__(self, mount, path):
        self.mount, self.path = mount, path
        self.made = []

    def __enter__(self):
        parts = self.path.strip("/").split("/")
        for i in range(len(parts)):
            d = os.path.join(self.mount, *parts[: i + 1])
            if not os.path.isdir(d):
                os.mkdir(d)
                self.made.append(d)
        return self

    def add(self, pid):
        with open(os.path.join(self.mount, self.path.strip("/"), "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def __exit__(self, *exc):
        for d in reversed(self.made):
            # the killed targets leave their cgroup once reaped
            poll(lambda: self._rmdir(d), 10, f"removing {d}")
        return False

    @staticmethod
    def _rmdir(d):
        try:
            os.rmdir(d)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            return False


def start_in_cgroup(targets, groups, mount, cgroup, *target, **kw):
    """Target(*TARGET, **KW) started, READY, and moved into the cgroup CGROUP
    under MOUNT; both appended to TARGETS and GROUPS for the caller's
    cleanup (targets first, then the cgroups).  Returns the target."""
    t = Target(*target, **kw)
    targets.append(t)
    t.wait_ready()
    cg = Cgroup(mount, cgroup)
    groups.append(cg)
    cg.__enter__()
    cg.add(t.pid)
    return t


def cgroup_cases():
    """(hierarchy key, mount, path, expected label) for every shape the
    mounted hierarchies can hold: v1's pids and name=systemd where mounted,
    else v2."""
    mounts = cgroup_mounts()
    check(mounts, "no cgroup hierarchy is mounted")
    ids, pods = CONTAINER_IDS, POD_UIDS

    def where(pref):
        key = pref if pref in mounts else "v2"
        check(key in mounts, f"neither {pref} nor cgroup v2 is mounted")
        return key, mounts[key]

    cases = [
        (*where("pids"), f"/docker/{ids[0]}",
         dict(runtime="docker", container=ids[0], pod=None, qos=None, unit=None)),
        (*where("pids"), f"/kubepods/burstable/pod{pods[0]}/{ids[1]}",
         dict(runtime=None, container=ids[1], pod=pods[0], qos="burstable", unit=None)),
        (*where("name=systemd"),
         "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
         f"{pods[1].replace('-', '_')}.slice/cri-containerd-{ids[2]}.scope",
         dict(runtime="containerd", container=ids[2], pod=pods[1], qos="besteffort", unit=None)),
    ]
    if "v2" in mounts:
        cases.append(("v2", mounts["v2"], f"/system.slice/docker-{ids[3]}.scope",
                      dict(runtime="docker", container=ids[3], pod=None, qos=None, unit=None)))
    # a process is in one cgroup per hierarchy: one target per case
    return cases


def cgroup_line(pid, key):
    """PID's path in hierarchy KEY, as /proc/PID/cgroup gives it."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, controllers, path = line.rstrip("\n").split(":", 2)
            if (key == "v2" and hid == "0" and not controllers) or key in controllers.split(","):
                return path
    return None


@test
def test_cgroup_filters_watched():
    """-p PID --cgroup DIR of a process outside DIR: not "exited" (it runs),
    but one line that says so and exit 9; moved into DIR, it is dumped."""
    mounts = cgroup_mounts()
    check("v2" in mounts, "cgroup v2 is not mounted")
    path = f"/parkwatch-test-{uuid.uuid4().hex[:12]}"
    directory = os.path.join(mounts["v2"], path.strip("/"))
    with Target("condwait", 1) as t, Cgroup(mounts["v2"], path) as cg:
        t.wait_ready()
        args = ["-p", t.pid, "--cgroup", directory, "--dump", "--format", "json"]
        got = cgroup_line(t.pid, "v2")
        check(got != path, f"/proc/{t.pid}/cgroup: already in {got!r}")
        res = run_pw(args)
        want = f"parkwatch: process {t.pid} is running, but none of its threads is in cgroup {directory}"
        check(res.rc == 9 and stderr_lines(res.err) == [want],
              f"outside the cgroup: exit {res.rc}, stderr {res.err.strip()!r}")
        cg.add(t.pid)
        got = cgroup_line(t.pid, "v2")
        check(got == path, f"/proc/{t.pid}/cgroup says {got!r}, not {path!r}")
        res = run_pw(args)
        check(res.rc == 0, f"inside the cgroup: {pw_error(res.rc, res.err)}")
        doc = parse_output(res.out, "parkwatch --cgroup --dump --format json", docs.PICTURE)
        check(len(docs.process(doc, t.pid)) == 1, f"pid {t.pid} not in the cgroup's dump")
        t.kill()
    return "outside: exit 9 and the line that says it runs; inside: dumped"


@test
def test_cgroup_labels():
    cases = cgroup_cases()
    targets, groups = [], []
    try:
        for key, mount, path, _ in cases:
            t = start_in_cgroup(targets, groups, mount, path, "condwait", 2)
            got = cgroup_line(t.pid, key)
            check(got == path, f"/proc/{t.pid}/cgroup says {got!r} for {key}, not {path!r}")
        doc, _ = dump_json([t.pid for t in targets])
        for t, (key, _, path, want) in zip(targets, cases):
            summaries = docs.process(doc, t.pid)
            check(len(summaries) == 1, f"{len(summaries)} process entries for pid {t.pid}")
            summary = summaries[0]
            label = summary.get("cgroup")
            check(isinstance(label, dict), f"pid {t.pid}: no cgroup object: {summary}")
            want = dict(want, path=path)
            wrong = {k: (label.get(k), v) for k, v in want.items() if label.get(k) != v}
            check(not wrong, f"pid {t.pid} in {key}:{path}: (got, expected) {wrong}")
            check("ns_pid" not in summary, f"pid {t.pid}: ns_pid {summary.get('ns_pid')} in "
                                           f"the host's namespace")
        # a Go program shown by its goroutines gets the label too
        key, mount = next((c[0], c[1]) for c in cases if c[2].startswith("/docker/"))
        path = f"/docker/{CONTAINER_IDS[4]}"
        t = start_in_cgroup(targets, groups, mount, path, "leaky", "-port", "0",
                            path=gotargets.binary("1.19", "leaky"))
        doc, _ = dump_json([t.pid])
        summaries = docs.process(doc, t.pid)
        check(len(summaries) == 1 and summaries[0].get("unit_kind") == "goroutine",
              f"leaky not shown by its goroutines: {summaries}")
        label = summaries[0].get("cgroup") or {}
        check(label.get("path") == path and label.get("runtime") == "docker" and
              label.get("container") == CONTAINER_IDS[4], f"leaky in {key}:{path}: {label}")
        print(f"cgroup labels: {len(cases) + 1}/{len(cases) + 1} right "
              f"({', '.join(sorted({c[0] for c in cases}))}; threads and goroutines)")
    finally:
        for t in targets:
            t.__exit__(None, None, None)
        for cg in reversed(groups):
            cg.__exit__(None, None, None)


@test
def test_cgroup_label_follows_moves():
    """A watched process moved from one cgroup to another, and back, under a
    live view: each move shows in the process's label within a few pictures
    (the snapshot carries a key of its cgroups and the file is read again
    when it changes; /proc/PID/cgroup is the oracle)."""
    mounts = cgroup_mounts()
    key = "pids" if "pids" in mounts else "v2"
    check(key in mounts, "neither a pids hierarchy nor cgroup v2 is mounted")
    paths = [f"/docker/{CONTAINER_IDS[5]}", f"/docker/{CONTAINER_IDS[6]}"]
    # the target is killed first: a cgroup is removed once empty
    with Cgroup(mounts[key], paths[0]) as first, Cgroup(mounts[key], paths[1]) as second, \
            Target("condwait", 1) as t:
        t.wait_ready()
        with Live(["-p", t.pid, "--format", "json", "--interval", "200ms"],
                  kind=docs.PICTURE) as live:
            live.first_doc()
            moves = 0
            for cg, path in ((first, paths[0]), (second, paths[1]), (first, paths[0])):
                cg.add(t.pid)
                got = cgroup_line(t.pid, key)
                check(got == path, f"/proc/{t.pid}/cgroup says {got!r}, not {path!r}")
                deadline, label = now() + 20, None
                while label != path:
                    try:
                        doc, _ = live.next_doc(deadline)
                    except Fail:
                        raise Fail(f"move {moves + 1}: the label still says {label!r} "
                                   f"20 s after the move to {path!r}") from None
                    check(doc is not None, "the live view ended")
                    summaries = docs.process(doc, t.pid)
                    check(len(summaries) == 1, f"{len(summaries)} entries for pid {t.pid}")
                    label = (summaries[0].get("cgroup") or {}).get("path")
                moves += 1
    check(moves == 3, f"{moves} of 3 moves seen")
    return f"3 of 3 moves seen in the label ({key})"


def check_level_three_lines(frames, where):
    """level_three's frame has condwait.c's absolute path and a line of it."""
    src = os.path.join(TARGET_SRC, "condwait.c")
    f3 = next((f for f in frames if f.get("function") == "level_three"), None)
    check(f3 is not None, f"{where}: no level_three frame in {docs.fnames(frames)}")
    first, last = func_lines(src, "level_three")
    check(str(f3.get("file", "")).endswith("/condwait.c") and first <= f3.get("line", 0) <= last,
          f"{where}: level_three at {f3.get('file')}:{f3.get('line')}, not in condwait.c:"
          f"{first}-{last}")


def stripped_condwait(staging):
    """condwait without symbols or DWARF, linked (.gnu_debuglink) to its
    debug file; both in STAGING.  Returns the build id."""
    debug = os.path.join(staging, "condwait-ns.debug")
    binary = os.path.join(staging, "condwait-ns")
    src = os.path.join(TARGETS, "condwait")
    for argv in (["objcopy", "--only-keep-debug", src, debug],
                 ["objcopy", "--strip-all", f"--add-gnu-debuglink={debug}", src, binary]):
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        check(cp.returncode == 0, f"{' '.join(argv)}: {cp.stderr.strip()[:200]}")
    out = subprocess.run(["readelf", "-n", binary], capture_output=True, text=True,
                         timeout=60).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    check(m, f"{binary} has no build id")
    syms = subprocess.run(["readelf", "-S", binary], capture_output=True, text=True,
                          timeout=60).stdout
    check(".symtab" not in syms and ".debug_info" not in syms, f"{binary} is not stripped")
    return m.group(1)


# where the namespace puts the debug file: next to the binary in .debug/
# (found by .gnu_debuglink), or under the build-id tree of a
# /usr/lib/debug/.build-id that exists only inside (the host's is hidden)
DEBUG_PLACES = {
    "debuglink": 'mkdir "$HIDDEN/.debug" && cp {staging}/condwait-ns.debug "$HIDDEN/.debug/"',
    "build-id": ("mount -t tmpfs pw-ns-debug /usr/lib/debug/.build-id && "
                 "mkdir /usr/lib/debug/.build-id/{id2} && "
                 "cp {staging}/condwait-ns.debug /usr/lib/debug/.build-id/{id2}/{idrest}.debug"),
}


@test
def test_namespace_debug_info_inside():
    """A stripped binary whose debug info exists only inside the target's
    mount namespace, found by debuglink and by build id: names, files and
    lines come from it.  In the build-id case the host's build-id tree is
    hidden inside, so libc's debug info comes from the host's."""
    check(os.path.isdir("/usr/lib/debug/.build-id"), "no /usr/lib/debug/.build-id (libc6-dbg)")
    for place, how in DEBUG_PLACES.items():
        staging = tempfile.mkdtemp(prefix="pw-ns-staging-")
        try:
            build_id = stripped_condwait(staging)
            setup = (f'cp {staging}/condwait-ns "$BIN" && ' +
                     how.format(staging=staging, id2=build_id[:2], idrest=build_id[2:]))
            with NamespacedTarget(setup) as nt:
                shutil.rmtree(staging)  # now only inside
                check(not os.path.exists(f"/usr/lib/debug/.build-id/{build_id[:2]}/"
                                         f"{build_id[2:]}.debug"),
                      "the debug file is on the host: the test is void")
                doc, _ = dump_json([nt.pid])
                threads = docs.by_tid(doc)
                named = total = 0
                for tid in nt.tids:
                    frames = (threads.get(tid) or {}).get("frames") or []
                    check(frames, f"{place}: tid {tid} has no frames")
                    total += len(frames)
                    named += sum(bool(f.get("function")) for f in frames)
                    if tid != nt.pid:
                        names = docs.fnames(frames)
                        for fn in ("pthread_cond_wait", "level_three", "level_two", "level_one",
                                   "thread_main", "start_thread"):
                            check(any(n == fn or n.endswith("_" + fn) for n in names),
                                  f"{place}: tid {tid}: {fn} missing from {names}")
                        check_level_three_lines(frames, f"{place}: tid {tid}")
                print(f"debug info by {place}, only inside: {named}/{total} frames named")
                check(named == total, f"{place}: {total - named} of {total} frames unnamed")
        finally:
            shutil.rmtree(staging, ignore_errors=True)


@test
def test_namespace_hostile_debug_files():
    """Where the debug file would be, the target's namespace has FIFOs (an
    open(2) of one blocks until a writer comes) and a link into /proc: the
    dump neither hangs nor reads them, and the stack is still unwound
    (.eh_frame is in the binary) up to the program's unnamed frames."""
    staging = tempfile.mkdtemp(prefix="pw-ns-staging-")
    try:
        build_id = stripped_condwait(staging)
        setup = (f'cp {staging}/condwait-ns "$BIN" && mkfifo "$HIDDEN/condwait-ns.debug" && '
                 f'mkdir "$HIDDEN/.debug" && ln -s /proc/self/root/{staging}/condwait-ns.debug '
                 f'"$HIDDEN/.debug/condwait-ns.debug" && '
                 f'mount -t tmpfs pw-ns-debug /usr/lib/debug/.build-id && '
                 f'mkdir /usr/lib/debug/.build-id/{build_id[:2]} && '
                 f'mkfifo /usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug')
        with NamespacedTarget(setup) as nt:
            doc, res = dump_json([nt.pid])
            threads = docs.by_tid(doc)
            for tid in nt.tids[:-1]:
                frames = (threads.get(tid) or {}).get("frames") or []
                names = docs.fnames(frames)
                check(any(n.endswith("pthread_cond_wait") for n in names),
                      f"tid {tid}: no pthread_cond_wait in {names}")
                check(not any(n == "level_three" for n in names),
                      f"tid {tid}: level_three named: a debug file was read: {names}")
                # cond wait frames, level_three/two/one, thread_main: code of
                # the binary, unnamed, then start_thread and clone3
                check(len(frames) >= 8 and names[-1].endswith("clone3"),
                      f"tid {tid}: stack not unwound to clone3: {len(frames)} frames {names}")
            print(f"hostile debug files: dump in {res.t1 - res.t0:.1f} s")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
