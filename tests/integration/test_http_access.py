# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Who may read what parkwatch --http serves: authentication by default on
TCP, the explicit opt-out, and the files that configure it (which must be
regular, bounded files with real passwords).  Every start-up that must fail
has a deadline: a hang is a failure, not a stuck run.
"""

import os
import tempfile

from pwtest import Fail, check
from pwtest.parkwatch import Server, bpf_failure, free_port, one_stderr_line, run_pw
from pwtest.procs import Target
from pwtest.runner import test

START_DEADLINE = 20.0     # seconds for parkwatch to refuse a configuration


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
