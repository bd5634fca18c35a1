# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Child processes: every one started with spawn() is killed at the latest
when the runner ends; LineReader reads a pipe against a deadline; Target is
a test program from build/targets."""

import json
import os
import select
import subprocess
import tempfile

from pwtest import PARKWATCH, SANITIZED, SANITIZER_EXIT, TARGETS, Fail, check, now

READY_TIMEOUT = 20.0      # seconds for a target to print READY

_children = []   # every Popen we started, killed at the latest on exit
_sanitizer_deaths = []  # parkwatch processes that died of a sanitizer report


def spawn(argv, **kw):
    proc = subprocess.Popen(argv, **kw)
    _children.append(proc)
    return proc


def stop(proc):
    """Kills PROC if it still runs, reaps it and closes its pipes."""
    if proc is None:
        return
    try:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        pass
    note_exit(proc.args, proc.returncode)
    for f in (proc.stdout, proc.stderr, proc.stdin):
        if f:
            try:
                f.close()
            except OSError:
                pass


def note_exit(argv, returncode):
    """Remembers a parkwatch that died of a sanitizer report (--sanitized)."""
    if SANITIZED and returncode == SANITIZER_EXIT and argv and argv[0] == PARKWATCH:
        _sanitizer_deaths.append(" ".join(str(a) for a in argv[1:])[:120])


def take_sanitizer_deaths():
    """The parkwatch command lines that died of a sanitizer report since the last call."""
    deaths = list(_sanitizer_deaths)
    _sanitizer_deaths.clear()
    return deaths


def stop_all():
    for proc in _children:
        stop(proc)
    _children.clear()


class LineReader:
    """Lines of a pipe, read with select() and a deadline."""

    def __init__(self, pipe, label):
        self.fd = pipe.fileno()
        self.label = label
        self.buf = b""
        self.eof = False

    def readline(self, deadline):
        """The next line (str, without newline); None at EOF; Fail at the deadline."""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1:]
                return line.decode("utf-8", "replace")
            if self.eof:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line.decode("utf-8", "replace")
                return None
            left = deadline - now()
            if left <= 0:
                raise Fail(f"{self.label}: no output line before the deadline")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                data = os.read(self.fd, 1 << 20)
                if data:
                    self.buf += data
                else:
                    self.eof = True


class Target:
    """A test program, build/targets/NAME unless PATH says otherwise, killed
    when the `with` block ends.  It prints `READY {json}` once set up.  ENV
    adds to the environment it inherits."""

    def __init__(self, name, *args, cpus=None, path=None, env=None):
        self.name = name
        path = path or os.path.join(TARGETS, name)
        check(os.access(path, os.X_OK), f"target {path} is not built (run make)")
        self.errf = tempfile.TemporaryFile()
        self.t_start = now()
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.proc = spawn([path] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=self.errf, preexec_fn=pin,
                          env=dict(os.environ, **env) if env else None)
        self.pid = self.proc.pid
        self.out = LineReader(self.proc.stdout, name)
        self.t_ready = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        self.errf.close()
        return False

    def kill(self):
        stop(self.proc)

    def stderr_text(self):
        self.errf.seek(0)
        return self.errf.read().decode("utf-8", "replace").strip()

    def wait_for(self, prefix, timeout):
        """Parse the JSON of the next `PREFIX {...}` line; returns (object, monotonic time)."""
        deadline = now() + timeout
        while True:
            try:
                line = self.out.readline(deadline)
            except Fail:
                raise Fail(f"{self.name}: no {prefix} line within {timeout:.0f} s"
                           f"{self._why()}") from None
            if line is None:
                self.proc.wait(timeout=5)
                raise Fail(f"{self.name} exited ({self.proc.returncode}) before {prefix}"
                           f"{self._why()}")
            if line.startswith(prefix + " "):
                try:
                    return json.loads(line[len(prefix) + 1:]), now()
                except ValueError as e:
                    raise Fail(f"{self.name}: bad {prefix} line {line[:120]!r}: {e}") from None

    def _why(self):
        err = self.stderr_text()
        return f": {err.splitlines()[-1]}" if err else ""

    def wait_ready(self, timeout=READY_TIMEOUT):
        roles, self.t_ready = self.wait_for("READY", timeout)
        return roles
