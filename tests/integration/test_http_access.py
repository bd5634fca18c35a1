# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Who may read what parkwatch --http serves: authentication by default on
TCP, the explicit opt-out, and the files that configure it (which must be
regular, bounded files with real passwords).  Every start-up that must fail
has a deadline: a hang is a failure, not a stuck run.
"""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

from pwtest import PARKWATCH, TARGETS, Fail, check, now
from pwtest.oracles import proc
from pwtest.parkwatch import (PICTURE_TIMEOUT, SERVE_TIMEOUT, Server, bpf_failure, debug1_counts,
                              free_port, one_stderr_line, pw_error, run_pw)
from pwtest.procs import Target, spawn, stop
from pwtest.runner import test

START_DEADLINE = 20.0     # seconds for parkwatch to refuse a configuration
NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
# one HTTP/1.0 request over a UNIX socket: {"status": N, "body": text} on stdout
UNIX_CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(("GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % sys.argv[2]).encode())
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
print(json.dumps({"status": int(head.split()[1]), "body": body.decode("utf-8", "replace")}))
"""


def refused(args, what, want):
    """parkwatch ARGS exits 2 within the deadline with one stderr line that
    says WANT; returns the line."""
    res = run_pw(args, timeout=START_DEADLINE)
    if res.rc != 2 and bpf_failure(res.rc, res.err):
        raise Fail(bpf_failure(res.rc, res.err))
    check(res.rc == 2, f"{what}: exit {res.rc}, expected 2 (stderr {res.err.strip()[:200]!r})")
    line = one_stderr_line(res.err, what)
    check(want in line, f"{what}: {line!r} does not say {want!r}")
    return line


@test
def test_http_auth_by_default():
    """--http on TCP without --http-auth refuses to start (it served every
    process's stacks to any local user); --http-no-auth serves them to
    anyone, as asked; the two flags don't mix."""
    with Target("condwait", 2) as t, tempfile.TemporaryDirectory(prefix="pw-auth-") as d:
        t.wait_ready()
        addr = f"127.0.0.1:{free_port()}"
        line = refused(["-p", t.pid, "--http", addr], "--http without --http-auth",
                       "--http-auth")
        check("--http-no-auth" in line, f"the refusal does not name the opt-out: {line!r}")
        auth = os.path.join(d, "users")
        with open(auth, "w") as f:
            f.write("alice:wonder\n")
        refused(["-p", t.pid, "--http", addr, "--http-auth", auth, "--http-no-auth"],
                "--http-auth with --http-no-auth", "--http-no-auth")
        refused(["-p", t.pid, "--dump", "--http-no-auth"], "--http-no-auth without --http",
                "--http")
        with Server(["-p", t.pid]) as srv:  # Server adds --http-no-auth
            text = srv.wait_cond(t.pid, 2)
            check("level_three" in text, "--http-no-auth: no stacks without credentials")
            srv.stop()


@test
def test_http_config_files():
    """A FIFO or a directory as --http-auth or TLS file: exit 2 at once (a
    FIFO hung start-up); a file over 1 MiB, an empty password and a
    NUL-padded one: exit 2, one line each (both passwords were accepted)."""
    with Target("condwait", 1) as t, tempfile.TemporaryDirectory(prefix="pw-files-") as d:
        t.wait_ready()
        base = ["-p", t.pid, "--http", f"127.0.0.1:{free_port()}"]
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo, 0o600)
        good = os.path.join(d, "good")
        with open(good, "w") as f:
            f.write("alice:wonder\n")
        refused(base + ["--http-auth", fifo], "--http-auth FIFO", "not a regular file")
        refused(base + ["--http-auth", d], "--http-auth directory", "not a regular file")
        refused(base + ["--http-auth", good, "--http-tls-cert", fifo, "--http-tls-key", fifo],
                "--http-tls-cert FIFO", "not a regular file")
        cases = [("big", b"alice:wonder\n" + b"#" * (1 << 20) + b"\n", "larger than"),
                 ("empty-password", b"alice:\n", "empty password"),
                 ("nul-padded", b"alice:wonder\0\0\0\0\n", "NUL"),
                 ("nul-line", b"alice:wonder\n\0bob:x\n", "NUL")]
        for name, content, want in cases:
            path = os.path.join(d, name)
            with open(path, "wb") as f:
                f.write(content)
            refused(base + ["--http-auth", path], f"--http-auth {name}", want)


def unix_get(sock, path, as_nobody=False):
    """(status, body text) of GET PATH on the UNIX socket SOCK, asked by a
    client running as root or as nobody."""
    argv = (AS_NOBODY if as_nobody else []) + [sys.executable, "-c", UNIX_CLIENT, sock, path]
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    check(cp.returncode == 0, f"client of {sock} ({'nobody' if as_nobody else 'root'}) "
                              f"GET {path}: exit {cp.returncode}: {cp.stderr.strip()[-300:]!r}")
    answer = json.loads(cp.stdout)
    return answer["status"], answer["body"]


def serve_unix(sock, args):
    """(process, stderr file) of parkwatch ARGS --http unix:SOCK, once it
    says it serves; the caller stops it and closes the file."""
    errf = tempfile.TemporaryFile()
    pw = spawn([PARKWATCH] + [str(a) for a in args] + ["--http", f"unix:{sock}"],
               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
    deadline = now() + SERVE_TIMEOUT
    while True:
        errf.seek(0)
        err = errf.read().decode("utf-8", "replace")
        if f"serving /metrics and /debug/pprof/ on unix:{sock}" in err:
            return pw, errf
        if pw.poll() is not None:
            errf.close()
            raise Fail(pw_error(pw.returncode, err))
        if now() >= deadline:
            stop(pw)
            errf.close()
            raise Fail(f"no serving line within {SERVE_TIMEOUT:.0f} s: {err.strip()[:200]!r}")
        time.sleep(0.05)  # poll interval of a deadline loop


def poll_unix(sock, path, want, what, as_nobody=False):
    """GET PATH on SOCK until want(status, body); returns (status, body)."""
    deadline = now() + PICTURE_TIMEOUT
    while True:
        status, body = unix_get(sock, path, as_nobody)
        if want(status, body):
            return status, body
        check(now() < deadline, f"{what}: still {status} {body[:200]!r} after "
                                f"{PICTURE_TIMEOUT:.0f} s")
        time.sleep(0.2)  # poll interval of a deadline loop


# A process that gives up root for nobody when sent SIGUSR1, and says so.
SHEDS_ROOT = r"""
import os, signal
def shed(*_):
    os.setresuid(%d, %d, %d)
    print("SHED {}", flush=True)
signal.signal(signal.SIGUSR1, shed)
print("READY {}", flush=True)
while True:
    signal.pause()
""" % (NOBODY, NOBODY, NOBODY)


@test
def test_http_unix_owner_changes():
    """A process that drops root for nobody while served on a UNIX socket:
    nobody's client gets a 404 for it before and its stacks after, from
    the next picture on (the uids come with every snapshot; /proc/PID/status
    is the oracle)."""
    with tempfile.TemporaryDirectory(prefix="pw-unix-") as d, \
            Target("sheds-root", "-c", SHEDS_ROOT, path=sys.executable) as t:
        os.chmod(d, 0o755)  # for nobody's client
        t.wait_ready()
        check(proc.status(t.pid)["Uid"].split() == ["0"] * 4, "the target is not root's")
        sock = os.path.join(d, "pw.sock")
        pw, errf = serve_unix(sock, ["-p", t.pid, "--interval", "200ms"])
        try:
            path = f"/debug/pprof/goroutine?debug=1&pid={t.pid}"
            poll_unix(sock, path, lambda status, body: status == 200 and "signal wait" in body,
                      "root's view of the target")
            status, body = unix_get(sock, path, as_nobody=True)
            check(status == 404, f"nobody's view of root's process: {status} {body[:200]!r}")
            t.proc.send_signal(signal.SIGUSR1)
            t.wait_for("SHED", 10)
            uids = proc.status(t.pid)["Uid"].split()
            check(uids == [str(NOBODY)] * 4, f"after setresuid: Uid {uids}")
            poll_unix(sock, path, lambda status, body: status == 200 and "signal wait" in body,
                      "nobody's view of its own process", as_nobody=True)
            pw.send_signal(signal.SIGINT)
            rc = pw.wait(timeout=15)
            check(rc == 0, f"parkwatch exit {rc} after SIGINT")
        finally:
            stop(pw)
            errf.close()
    return "nobody's client: 404 while root's, its stacks once it is nobody's"


@test
def test_http_unix_socket_peers():
    """--http unix:PATH (mode 0666, no credentials needed): root's client sees
    every watched process; nobody's sees its own process's stacks, a 404 for
    root's (as for an unwatched one), a 403 without pid=, and only its own
    in the index.  Owners checked in /proc/PID/status."""
    with tempfile.TemporaryDirectory(prefix="pw-unix-") as d:
        os.chmod(d, 0o755)  # for nobody's client and target
        condwait = os.path.join(d, "condwait")
        shutil.copy(os.path.join(TARGETS, "condwait"), condwait)
        os.chmod(condwait, 0o755)
        with Target("condwait", 2, path=condwait) as mine, \
                Target("condwait", *AS_NOBODY[1:], condwait, 3, path="/usr/bin/setpriv") as its:
            mine.wait_ready()
            its.wait_ready()
            uids = {t.pid: proc.status(t.pid)["Uid"].split() for t in (mine, its)}
            check(uids[mine.pid] == ["0"] * 4 and uids[its.pid] == [str(NOBODY)] * 4,
                  f"target uids {uids}")
            sock = os.path.join(d, "pw.sock")
            pw, errf = serve_unix(sock, ["-p", mine.pid, "-p", its.pid, "--interval", "500ms"])
            try:
                mode = os.lstat(sock).st_mode
                check(stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o666,
                      f"{sock}: mode {oct(mode)}, expected a socket of mode 0666")
                want = {(str(mine.pid), "cond wait"): 2, (str(its.pid), "cond wait"): 3}
                deadline = now() + PICTURE_TIMEOUT
                while True:
                    status, body = unix_get(sock, "/debug/pprof/goroutine?debug=1")
                    counts = debug1_counts(body) if status == 200 else {}
                    if all(counts.get(k) == n for k, n in want.items()):
                        break
                    check(status in (200, 503) and now() < deadline,
                          f"root's debug=1: {status}, counts {counts}, expected {want}")
                    time.sleep(0.2)  # poll interval of a deadline loop
                g = "/debug/pprof/goroutine?debug=1&pid="
                status, body = unix_get(sock, g + str(its.pid), as_nobody=True)
                check(status == 200 and debug1_counts(body).get((str(its.pid), "cond wait")) == 3,
                      f"nobody's own process: {status} {body[:200]!r}")
                for path, code in ((g + str(mine.pid), 404),
                                   ("/debug/pprof/goroutine?debug=1", 403),
                                   (f"/debug/pprof/goroutine?pid={mine.pid}&seconds=1", 404)):
                    status, body = unix_get(sock, path, as_nobody=True)
                    check(status == code and "level_three" not in body,
                          f"nobody's GET {path}: {status}, expected {code}: {body[:200]!r}")
                status, body = unix_get(sock, "/debug/pprof/", as_nobody=True)
                check(status == 200 and f"pid={its.pid}&" in body
                      and f"pid={mine.pid}&" not in body,
                      f"nobody's index: {status}, links {body.count('href=')}")
                status, body = unix_get(sock, g + str(mine.pid))
                check(status == 200 and "level_three" in body, f"root's GET of its own: {status}")
                pw.send_signal(2)
                rc = pw.wait(timeout=15)
                check(rc == 0, f"parkwatch exit {rc} after SIGINT")
            finally:
                stop(pw)
                errf.close()
