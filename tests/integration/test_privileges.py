# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Least privilege after start-up (user/cli/privileges.c): the running
daemon, and a one-shot dump caught mid-write, are an unprivileged user with
no capabilities, no_new_privs and a seccomp filter, on every thread; only
the forked broker keeps the three reading capabilities.

The oracle for "can't write as root" is the kernel itself: a probe run by
setpriv(1) with exactly the credentials /proc/PID/status shows tries to
open a root process's /proc/PID/mem for writing and to create a file in a
root-only directory.  The same probe with the credentials parkwatch kept
before (uid 0 with CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and
CAP_CHECKPOINT_RESTORE) does both, which shows the probe can tell.
"""

import json
import os
import re
import subprocess
import tempfile

from pwtest import PARKWATCH, Fail, check, poll
from pwtest.oracles import proc
from pwtest.parkwatch import Server, one_stderr_line, run_pw
from pwtest.procs import Target, spawn, stop
from pwtest.runner import test

SYS_WRITE = 1
# the probe runs as the dropped user, who can't reach root's own tools (a
# pyenv under /root, say): Debian's python3, which make deps installs
SYSTEM_PYTHON = "/usr/bin/python3"
DRAIN_TIMEOUT = 60.0
STATE_TIMEOUT = 30.0

# the probe: one line, "mem=RESULT create=RESULT", RESULT "ok" or an errno name
PROBE = r"""
import errno, os, sys
def attempt(action):
    try:
        os.close(action())
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
victim, directory = sys.argv[1], sys.argv[2]
mem = attempt(lambda: os.open(f"/proc/{victim}/mem", os.O_RDWR))
create = attempt(lambda: os.open(os.path.join(directory, "probe"),
                                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
print(f"mem={mem} create={create}")
"""


def cap_names():
    """{bit: setpriv name} from the kernel's own header."""
    names = {}
    with open("/usr/include/linux/capability.h") as f:
        for line in f:
            m = re.match(r"#define CAP_([A-Z_]+)\s+(\d+)\s*$", line)
            if m and m.group(1) not in ("LAST_CAP",):
                names[int(m.group(2))] = m.group(1).lower()
    return names


def cap_list(mask):
    names = cap_names()
    bits = [b for b in range(64) if mask >> b & 1]
    unknown = [b for b in bits if b not in names]
    check(not unknown, f"capability bits {unknown} not in linux/capability.h")
    return "".join(f",+{names[b]}" for b in bits)


def setpriv_args(st):
    """setpriv options giving a new process the credentials of a status."""
    uid = int(st["Uid"].split()[0])
    gid = int(st["Gid"].split()[0])
    caps = cap_list(int(st["CapEff"], 16))
    groups = st.get("Groups", "").split()
    args = [f"--reuid={uid}", f"--regid={gid}",
            f"--groups={','.join(groups)}" if groups else "--clear-groups",
            f"--bounding-set=-all{cap_list(int(st['CapBnd'], 16))}"]
    # root gets its bounding set at exec; anyone else keeps caps as ambient
    if uid != 0:
        args += [f"--inh-caps=-all{caps}", f"--ambient-caps=-all{caps}"]
    else:
        args += ["--inh-caps=-all"]
    if st.get("NoNewPrivs") == "1":
        args.append("--no-new-privs")
    return args


def probe(st, victim, directory):
    """What the credentials of status st may do: {"mem": ..., "create": ...}."""
    cp = subprocess.run(["setpriv"] + setpriv_args(st) + [SYSTEM_PYTHON, "-c", PROBE,
                        str(victim), directory], capture_output=True, text=True, timeout=30)
    check(cp.returncode == 0, f"probe with {setpriv_args(st)}: rc {cp.returncode} "
                              f"{cp.stderr.strip()[-300:]}")
    got = dict(item.split("=", 1) for item in cp.stdout.split())
    try:
        os.unlink(os.path.join(directory, "probe"))
    except FileNotFoundError:
        pass
    return got


def root_only_dir():
    directory = tempfile.mkdtemp(prefix="pw-rootonly-")
    os.chmod(directory, 0o700)
    return directory


def tasks_status(pid):
    """{tid: status} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out[tid] = proc.status(f"{pid}/task/{tid}")
        except OSError:
            pass  # a thread that just ended
    return out


def check_unprivileged(pid, what):
    """Every thread of pid: non-root, no capability, no_new_privs, seccomp."""
    threads = tasks_status(pid)
    check(threads, f"{what}: no threads in /proc/{pid}/task")
    for tid, st in threads.items():
        uids = st["Uid"].split()
        gids = st["Gid"].split()
        check(all(u != "0" for u in uids) and all(g != "0" for g in gids),
              f"{what} thread {tid}: Uid {st['Uid']} Gid {st['Gid']}")
        check(st.get("Groups", "") == "", f"{what} thread {tid}: Groups {st.get('Groups')!r}")
        for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            check(int(st[field], 16) == 0, f"{what} thread {tid}: {field} {st[field]}")
        check(st.get("NoNewPrivs") == "1", f"{what} thread {tid}: NoNewPrivs "
                                           f"{st.get('NoNewPrivs')!r}")
        check(st.get("Seccomp") == "2", f"{what} thread {tid}: Seccomp {st.get('Seccomp')!r}")
    return proc.status(pid)


def check_cannot_write_as_root(st, victim, what):
    directory = root_only_dir()
    try:
        got = probe(st, victim, directory)
        check(got.get("mem") != "ok", f"{what}'s credentials open root's /proc/{victim}/mem "
                                      f"for writing ({got})")
        check(got.get("create") != "ok", f"{what}'s credentials create a file in a root-only "
                                         f"directory ({got})")
        check(not os.listdir(directory), f"{what}: probe left {os.listdir(directory)}")
    finally:
        os.rmdir(directory)


def broker_of(pid):
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children += f.read().split()
        except OSError:
            pass
    check(len(children) == 1, f"parkwatch {pid}: children {children}, expected the broker")
    return int(children[0])


@test
def test_privileges_probe_tells():
    """The probe is able to fail: with the credentials parkwatch kept before
    (uid 0, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE)
    it writes root's memory and root's directory."""
    names = {v: k for k, v in cap_names().items()}
    old = sum(1 << names[n] for n in ("sys_ptrace", "dac_read_search", "checkpoint_restore")
              if n in names)
    st = {"Uid": "0 0 0 0", "Gid": "0 0 0 0", "Groups": "", "CapEff": f"{old:x}",
          "CapBnd": f"{old:x}", "NoNewPrivs": "1"}
    with Target("condwait", 2) as t:
        t.wait_ready()
        directory = root_only_dir()
        try:
            got = probe(st, t.pid, directory)
        finally:
            for name in os.listdir(directory):
                os.unlink(os.path.join(directory, name))
            os.rmdir(directory)
        check(got == {"mem": "ok", "create": "ok"},
              f"the old credentials' probe: {got}, expected both ok")


@test
def test_privileges_daemon():
    """--http: every thread nobody, nothing left, seccomp; the broker keeps
    exactly the three reading capabilities with an empty bounding set; the
    daemon's credentials can't write as root; pictures of a root process
    still have their stacks."""
    with Target("condwait", 3) as t:
        t.wait_ready()
        with Server(["-p", t.pid, "--interval", "300ms"]) as srv:
            srv.wait_cond(t.pid, 3)
            st = check_unprivileged(srv.pid, "the daemon")
            nobody = subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True)
            check(st["Uid"].split()[0] == nobody.stdout.strip(),
                  f"Uid {st['Uid']}, expected nobody's {nobody.stdout.strip()}")
            check_cannot_write_as_root(st, t.pid, "the daemon")
            broker = proc.status(broker_of(srv.pid))
            names = {v: k for k, v in cap_names().items()}
            kept = sum(1 << names[n] for n in ("sys_ptrace", "dac_read_search",
                                               "checkpoint_restore") if n in names)
            for field in ("CapPrm", "CapEff"):
                check(int(broker[field], 16) == kept,
                      f"broker {field} {broker[field]}, expected {kept:016x}")
            for field in ("CapBnd", "CapInh", "CapAmb"):
                check(int(broker[field], 16) == 0, f"broker {field} {broker[field]}")
            check(broker.get("NoNewPrivs") == "1" and broker.get("Seccomp") == "2",
                  f"broker NoNewPrivs {broker.get('NoNewPrivs')} Seccomp {broker.get('Seccomp')}")
            text = srv.wait_picture(t.pid, lambda body: "level_three" in body)
            check("pthread_cond_wait" in text, f"after the drop, no cond wait stack: {text[:300]}")
            srv.stop()


@test
def test_privileges_dump():
    """A one-shot --dump, caught blocked writing its output: the same
    credentials as the daemon, on every thread."""
    with Target("condwait", 300) as t:
        t.wait_ready()
        dump = spawn([PARKWATCH, "-p", str(t.pid), "--dump", "--min-park", "0"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
        try:
            # 300 stacks are more than a pipe holds: it waits in write(2)
            def blocked_writing():
                if dump.poll() is not None:
                    raise Fail(f"--dump ended ({dump.returncode}) before the pipe filled: "
                               f"{dump.stderr.read()[-300:]!r}")
                with open(f"/proc/{dump.pid}/syscall") as f:
                    return f.read().split()[0] == str(SYS_WRITE)
            poll(blocked_writing, STATE_TIMEOUT, "--dump blocked writing its output")
            st = check_unprivileged(dump.pid, "--dump")
            check_cannot_write_as_root(st, t.pid, "--dump")
            out, err = dump.communicate(timeout=DRAIN_TIMEOUT)
            check(dump.returncode == 0, f"--dump: rc {dump.returncode}: {err[-300:]!r}")
            check(out.count(b"level_three") >= 300,
                  f"--dump as nobody: {out.count(b'level_three')} level_three frames")
        finally:
            stop(dump)


@test
def test_privileges_output_root_dir():
    """-o into a root-only directory works: the file is made before the
    drop and the broker links it into place, once, at that name."""
    with Target("condwait", 2) as t:
        t.wait_ready()
        directory = root_only_dir()
        path = os.path.join(directory, "picture.json")
        try:
            res = run_pw(["-p", t.pid, "--dump", "--format", "json", "-o", path])
            check(res.rc == 0, f"-o {path}: rc {res.rc} {res.err.strip()}")
            with open(path) as f:
                doc = json.loads(f.readline())
            check(str(t.pid) in json.dumps(doc), f"{path}: no pid {t.pid}")
            check(os.listdir(directory) == ["picture.json"], f"{os.listdir(directory)}")
        finally:
            for name in os.listdir(directory):
                os.unlink(os.path.join(directory, name))
            os.rmdir(directory)


@test
def test_privileges_user_option():
    """--user NAME runs as NAME; an unknown user is a usage error (exit 2)."""
    res = run_pw(["--dump", "--user", "no-such-user-pw"])
    check(res.rc == 2, f"--user no-such-user-pw: rc {res.rc}, expected 2")
    one_stderr_line(res.err, "--user no-such-user-pw")
    check("no such user" in res.err, f"--user no-such-user-pw: {res.err.strip()!r}")
    daemon = subprocess.run(["id", "-u", "daemon"], capture_output=True, text=True)
    if daemon.returncode:
        raise Fail("no user 'daemon' on this system")
    with Target("condwait", 2) as t:
        t.wait_ready()
        with Server(["-p", t.pid, "--user", "daemon"]) as srv:
            st = check_unprivileged(srv.pid, "--user daemon")
            check(st["Uid"].split()[0] == daemon.stdout.strip(),
                  f"--user daemon: Uid {st['Uid']}, expected {daemon.stdout.strip()}")
            srv.stop()


@test
def test_privileges_broker_gone():
    """A broker killed under the daemon: parkwatch says so once on stderr,
    counts every open it can't make in parkwatch_gave_up_total{reason=
    "broker_gone"}, and keeps serving."""
    def broker_gone(srv):
        status, _, body = srv.get("/metrics")
        check(status == 200, f"/metrics: status {status}")
        m = re.search(rb'^parkwatch_gave_up_total\{reason="broker_gone"\} (\d+)$', body, re.M)
        check(m, "/metrics has no broker_gone series")
        return int(m.group(1))

    with Target("condwait", 2) as t:
        t.wait_ready()
        with Server(["-p", t.pid, "--interval", "200ms"]) as srv:
            srv.wait_cond(t.pid, 2)
            check(broker_gone(srv) == 0, "broker_gone counted while the broker lives")
            os.kill(broker_of(srv.pid), 9)
            poll(lambda: broker_gone(srv) > 0, 20, "broker_gone counted after the kill")
            check(srv.proc.poll() is None, f"parkwatch exited: {srv.stderr_text()[-300:]!r}")
            lines = [ln for ln in srv.stderr_text().splitlines() if "broker is gone" in ln]
            check(len(lines) == 1, f"expected one line about the broker, got {lines}")
            srv.stop()
