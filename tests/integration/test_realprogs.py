# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Programs nobody here wrote, as Debian ships them (make deps installs
them): redis-server and nginx (master and workers) under load, and a Java
program (default-jdk-headless) whose JIT frames are named from the perf map
the JVM writes.  Each is started on a private configuration in a temporary
directory, on free ports, never as a service.

The oracle is gdb (gdb.exact_backtraces/compare_exact): every parked
thread's function sequence must equal gdb's.  Debian's redis and nginx are
stripped: both sides then name what .dynsym/.symtab name, and gdb's first
`??` ends the comparison.

The dumps pass --min-park 0, so every parked thread's stack is copied
whatever its park's age.

Under load a thread moves between parkwatch's view and gdb's, so two
views are compared: while the load runs, the threads that did not run in
between (their voluntary switches went up by gdb's attach alone, their
involuntary ones not at all); then with the load generator stopped
(SIGSTOP, its connections open), every parked thread, each back in its
idle wait.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from pwtest import BUILD, Fail, check, poll
from pwtest import docs
from pwtest.oracles import gdb, proc
from pwtest.parkwatch import dump_json, free_port
from pwtest.procs import Target, spawn, stop
from pwtest.runner import test

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_BENCHMARK = "/usr/bin/redis-benchmark"
NGINX = "/usr/sbin/nginx"
START_TIMEOUT = 30.0      # seconds for a server to answer
LOAD_TIMEOUT = 30.0       # seconds for the load to be seen by the server
IDLE_TIMEOUT = 30.0       # seconds for a server to go idle once the load stops
JVM_TIMEOUT = 120.0       # seconds for the JVM to warm up and print READY
JCMD_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0       # seconds for a server to end on SIGTERM
JAVA_THREADS = 8


def need(path, package):
    check(os.access(path, os.X_OK), f"{path} is missing (make deps installs {package})")


def tasks(pid):
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        raise Fail(f"process {pid} is gone") from None


def asleep(snap, tid):
    return snap.get(tid, ("?",))[0] in ("S", "D")


def check_stacks(doc, pids, before, after):
    """Every parked unit of PIDS has a stack, and every task asleep in both
    /proc views around the dump, without running in between, is a parked
    unit.  A unit seen parked may lack a stack only if its task ran during
    the dump: it woke while its stack was being copied, and the copy was
    thrown away (it parked a few hundred nanoseconds before, under load).
    Returns ({pid: [parked units with a stack]}, [(pid, tid) of those]).
    """
    parked = {pid: [] for pid in pids}
    woke = []
    units = {(u["pid"], u["id"]): u for u in docs.threads(doc)}
    for pid in pids:
        for tid in tasks(pid):
            b, a = before[pid].get(tid), after[pid].get(tid)
            if b and a and b == a and b[0] in ("S", "D"):
                u = units.get((pid, tid))
                check(u is not None and u.get("parked"),
                      f"pid {pid} tid {tid} slept through the dump but is "
                      f"{'not listed' if u is None else 'not parked'}")
    for (pid, tid), u in units.items():
        if pid not in parked or not u.get("parked"):
            continue
        names = [f.get("function") for f in u.get("frames") or [] if f.get("function")]
        if not names:
            b, a = before[pid].get(tid), after[pid].get(tid)
            check(b and a and b != a,
                  f"pid {pid} tid {tid} ({u.get('comm')}) is parked without a stack: "
                  + str({k: v for k, v in u.items() if k != "frames"}))
            woke.append((pid, tid))
            continue
        parked[pid].append(u)
    return parked, woke


def dump_checked(pids):
    """A dump of PIDS with every parked thread's stack checked (check_stacks),
    and the /proc view taken before it: (doc, {pid: [parked units]}, before,
    [(pid, tid) parked without a stack, having woken during the dump])."""
    before = {pid: proc.snapshot(pid) for pid in pids}
    # --min-park 0 explicitly: a one-shot dump copies every parked thread's stack
    doc, _ = dump_json(pids)
    after = {pid: proc.snapshot(pid) for pid in pids}
    parked, woke = check_stacks(doc, pids, before, after)
    return doc, parked, before, woke


def against_gdb(label, parked, before, every):
    """gdb.agreement of the parked units: every one (EVERY) or those that
    did not run in between.  Returns (compared, matched, problems)."""
    compared, problems = gdb.agreement(parked, before, every)
    matched = len(compared) - len(problems)
    print(f"gdb agreement {label}: {matched}/{len(compared)} threads", flush=True)
    return len(compared), matched, problems


def check_agreement(label, compared, matched, problems):
    check(compared, f"{label}: no thread compared")
    check(matched == compared, f"{label}: {matched}/{compared} threads equal gdb's: "
                               + "; ".join(problems[:4]))


def wait_idle(pids):
    """Until every task of PIDS sleeps."""
    def idle():
        return all(asleep(proc.snapshot(pid), tid) for pid in pids for tid in tasks(pid))
    poll(idle, IDLE_TIMEOUT, f"processes {pids} asleep")


def loaded_and_paused(label, pids, load):
    """PIDS' parked threads against gdb under LOAD (those that slept through
    both views), then with LOAD paused (every one).  Returns (the dump
    taken under load, a summary for the test's report)."""
    doc, parked, before, woke = dump_checked(pids)
    loaded = against_gdb(f"{label} loaded", parked, before, every=False)
    load.running()
    load.pause()
    wait_idle(pids)
    _, parked, before, _ = dump_checked(pids)
    paused = against_gdb(f"{label} paused", parked, before, every=True)
    check_agreement(f"{label} loaded", *loaded)
    check_agreement(f"{label} paused", *paused)
    return doc, (f"gdb equal loaded {loaded[1]}/{loaded[0]}, paused {paused[1]}/{paused[0]}; "
                 f"woke during the dump {len(woke)}")


class Server:
    """A server process in a temporary directory, in a process group of its
    own (nginx's workers too); `with` ends it (SIGTERM: nginx's master
    then ends and reaps its workers; SIGKILL to the group if that takes
    longer than STOP_TIMEOUT) and removes the directory."""

    def __init__(self, argv, workdir):
        self.workdir = workdir
        self.errf = open(os.path.join(workdir, "stderr"), "w+b")
        self.proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=self.errf, cwd=workdir, start_new_session=True)
        self.pid = self.proc.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.proc.terminate()
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        stop(self.proc)
        self.errf.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return False

    def why(self):
        self.errf.seek(0)
        err = self.errf.read().decode("utf-8", "replace").strip()
        return f" (exit {self.proc.poll()}: {err[-300:]!r})" if self.proc.poll() is not None \
            else ""


class Load:
    """A load generator process: pause() stops it (SIGSTOP) with its
    connections open; `with` kills it."""

    def __init__(self, argv):
        self.proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.resume()
        os.killpg(self.proc.pid, signal.SIGKILL)
        stop(self.proc)
        return False

    def running(self):
        check(self.proc.poll() is None, f"the load generator exited ({self.proc.returncode})")

    def pause(self):
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        try:
            os.killpg(self.proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- redis

def redis_command(port, command):
    """One inline command's reply, as text (a bulk reply's payload)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(command.encode() + b"\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n")
        if head.startswith(b"$"):
            size = int(head[1:])
            while len(rest) < size:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            return rest[:size].decode("utf-8", "replace")
        return head.decode("utf-8", "replace")


def redis_commands_processed(port):
    m = re.search(r"total_commands_processed:(\d+)", redis_command(port, "INFO stats"))
    return int(m.group(1)) if m else 0


def try_redis(port, server):
    check(server.proc.poll() is None, f"redis-server exited{server.why()}")
    try:
        return redis_command(port, "PING") == "+PONG"
    except OSError:
        return False


@test
def test_redis_under_load():
    need(REDIS_SERVER, "redis-server")
    need(REDIS_BENCHMARK, "redis-tools")
    workdir = tempfile.mkdtemp(prefix="pw-redis-")
    port = free_port()
    conf = os.path.join(workdir, "redis.conf")
    with open(conf, "w") as f:
        f.write(f"port {port}\nbind 127.0.0.1\ndaemonize no\nsave \"\"\nappendonly no\n"
                f"dir {workdir}\nlogfile \"\"\n")
    with Server([REDIS_SERVER, conf], workdir) as server:
        poll(lambda: try_redis(port, server), START_TIMEOUT, "redis-server answering PING")
        with Load([REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(port), "-c", "16",
                   "-n", "1000000000", "-t", "set,get,lpush,lpop", "-q"]) as load:
            start = redis_commands_processed(port)
            poll(lambda: load.running() or redis_commands_processed(port) > start + 10000,
                 LOAD_TIMEOUT, "redis-benchmark's commands reaching redis")
            _, summary = loaded_and_paused("redis", [server.pid], load)
            return f"{len(tasks(server.pid))} threads; {summary}"


# ---------------------------------------------------------------- nginx

NGINX_LOAD = r"""
import http.client, sys, threading
port, conns = int(sys.argv[1]), int(sys.argv[2])
def client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while True:
        c.request("GET", "/")
        c.getresponse().read()
for _ in range(conns):
    threading.Thread(target=client, daemon=True).start()
threading.Event().wait()
"""


def nginx_conf(workdir, port, workers):
    html = os.path.join(workdir, "html")
    os.makedirs(html)
    with open(os.path.join(html, "index.html"), "w") as f:
        f.write("parkwatch\n")
    os.chmod(workdir, 0o755)   # the workers run as an unprivileged user
    temps = "\n".join(f"    {kind}_temp_path {workdir}/{kind};"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
master_process on;
worker_processes {workers};
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {workdir}/access.log;
{temps}
    server {{
        listen 127.0.0.1:{port};
        root {html};
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }}
}}
"""


def nginx_requests(workdir):
    try:
        return os.path.getsize(os.path.join(workdir, "access.log"))
    except OSError:
        return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


@test
def test_nginx_under_load():
    need(NGINX, "nginx")
    workdir = tempfile.mkdtemp(prefix="pw-nginx-")
    port, workers = free_port(), 2
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(workdir, port, workers))
    with Server([NGINX, "-p", workdir, "-c", conf, "-e", os.path.join(workdir, "error.log")],
                workdir) as server:
        def started():
            check(server.proc.poll() is None, f"nginx exited{server.why()}")
            kids = children(server.pid)
            if len(kids) != workers:
                return None
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            except OSError:
                return None
            return kids
        worker_pids = poll(started, START_TIMEOUT, f"nginx with {workers} workers listening")
        with Load([sys.executable, "-c", NGINX_LOAD, str(port), "8"]) as load:
            start = nginx_requests(workdir)
            poll(lambda: load.running() or nginx_requests(workdir) > start + 100000,
                 LOAD_TIMEOUT, "requests reaching nginx")
            pids = [server.pid] + worker_pids
            doc, summary = loaded_and_paused("nginx", pids, load)
            for pid in pids:
                check(docs.process(doc, pid), f"nginx process {pid} is not in the dump")
            return f"{len(pids)} processes; {summary}"


# ---------------------------------------------------------------- Java

def read_perf_map(path):
    """[(start, end, name)] of a perf map, read here, by this test."""
    entries = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"^(?:0x)?([0-9a-fA-F]+)\s+(?:0x)?([0-9a-fA-F]+)\s+(.+?)\r?$", line)
            if m:
                start = int(m.group(1), 16)
                entries.append((start, start + int(m.group(2), 16), m.group(3)))
    return entries


def map_name(entries, address):
    hits = [name for start, end, name in entries if start <= address < end]
    return hits[-1] if hits else None


def leak_tids(pid):
    found = []
    for tid in tasks(pid):
        name = proc.comm(f"{pid}/task/{tid}") or ""
        if name.startswith("leak-"):
            found.append(tid)
    return found


@test
def test_java_jit_frames():
    java, jcmd = shutil.which("java"), shutil.which("jcmd")
    check(java and jcmd, "java and jcmd are missing (make deps installs default-jdk-headless)")
    classes = os.path.join(BUILD, "targets", "java")
    check(os.path.exists(os.path.join(classes, "JitLeak.class")),
          f"{classes}/JitLeak.class is not built (run make targets)")
    # -XX:+PreserveFramePointer: JIT code has no CFI, its frames are walked
    # by frame pointers, which the JVM keeps only when asked
    with Target("JitLeak", "-XX:+PreserveFramePointer", "-cp", classes, "JitLeak",
                JAVA_THREADS, path=java) as t:
        names = t.wait_ready(JVM_TIMEOUT)["threads"]
        check(len(names) == JAVA_THREADS, f"READY lists {len(names)} threads")
        perf_map = f"/tmp/perf-{t.pid}.map"
        try:
            cp = subprocess.run([jcmd, str(t.pid), "Compiler.perfmap"], capture_output=True,
                                stdin=subprocess.DEVNULL, timeout=JCMD_TIMEOUT)
            check(cp.returncode == 0 and os.path.exists(perf_map),
                  f"jcmd Compiler.perfmap: exit {cp.returncode}, {perf_map} "
                  f"{'written' if os.path.exists(perf_map) else 'missing'}: "
                  f"{cp.stdout.decode('utf-8', 'replace').strip()[-200:]!r}")
            entries = read_perf_map(perf_map)
            check(any("JitLeak.take" in name for _, _, name in entries),
                  "the JIT compiled no JitLeak.take* (not in the perf map)")
            return check_java(t.pid, entries)
        finally:
            if os.path.exists(perf_map):
                os.unlink(perf_map)


def check_java(pid, entries):
    leaks = leak_tids(pid)
    check(len(leaks) == JAVA_THREADS, f"{len(leaks)} leak-* threads in /proc, "
                                      f"expected {JAVA_THREADS}")
    doc, parked, before, woke = dump_checked([pid])
    check(not woke, f"threads {woke} of the idle JVM are parked without a stack")
    groups = [g for g in docs.groups(doc) if set(g["ids"]) & set(leaks)]
    check(len(groups) == 1 and set(groups[0]["ids"]) == set(leaks),
          f"the {len(leaks)} leak threads are in {len(groups)} groups, of "
          f"{[len(g['ids']) for g in groups]} threads: {[sorted(g['ids']) for g in groups]}")

    module = f"[perf-{pid}.map]"
    jit_named = 0
    units = {u["id"]: u for u in parked[pid]}
    for tid in leaks:
        frames = units[tid]["frames"]
        check(not units[tid].get("stack_truncated"),
              f"tid {tid}: stack truncated at {frames[-1] if frames else None}")
        jit = [f for f in frames if f.get("module") == module]
        for f in jit:
            want = map_name(entries, int(f["address"], 16) - 1) or \
                map_name(entries, int(f["address"], 16))
            check(f.get("function") == want,
                  f"tid {tid}: frame at {f['address']} is {f.get('function')!r}, "
                  f"the perf map says {want!r}")
        jit_named += len(jit)
        fn = [f.get("function") or "" for f in jit]
        take = next((i for i, n in enumerate(fn) if "JitLeak.take" in n), None)
        check(take is not None and "java.lang.Object.wait" in " ".join(fn[:take]),
              f"tid {tid}: no JitLeak.take* frame under Object.wait among its JIT "
              f"frames {fn}")
        check(fn[-1].startswith("StubRoutines"),
              f"tid {tid}: its JIT frames don't reach the JVM's call stub: {fn}")

    compared, matched, problems = against_gdb("java", parked, before, every=True)
    check_agreement("java", compared, matched, problems)
    return (f"{len(leaks)} leak threads in 1 group, {jit_named} JIT frames named; "
            f"gdb equal {matched}/{compared}")
