# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Drivers of ./parkwatch: one run to completion (run_pw), a live JSON Lines
run read line by line (Live), the --http daemon (Server) and an HTTP client.

parse_json() is the one place that turns parkwatch's JSON output into
Python values, and it validates every document against the schema
(oracles/schema.py): nothing a test reads escapes validation.
"""

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

from pwtest import PARKWATCH, Fail, check, docs, now, procs
from pwtest.oracles import schema
from pwtest.procs import LineReader, spawn, stop

PW_TIMEOUT = 60.0         # seconds for one parkwatch --dump
SERVE_TIMEOUT = 60.0      # seconds for the daemon to load BPF and listen
PICTURE_TIMEOUT = 30.0    # seconds for the served picture to show the target


def need_parkwatch():
    check(os.access(PARKWATCH, os.X_OK), f"{PARKWATCH} is missing (run make)")


def bpf_failure(rc, stderr):
    """The reason to report when parkwatch could not load BPF, else None."""
    if rc == 5 or "bpf" in stderr.lower():
        first = stderr.strip().splitlines()[0] if stderr.strip() else "(no stderr)"
        return f"parkwatch cannot load BPF (exit {rc}): {first}"
    return None


def pw_error(rc, stderr):
    reason = bpf_failure(rc, stderr)
    if reason:
        return reason
    return f"parkwatch exit {rc}: {stderr.strip()[:300] or '(no stderr)'}"


# The kernel's task storage has one "busy" flag per CPU, held while the
# snapshot iterator allocates a thread's storage, which may sleep.  A thread
# parking on that CPU for the first time meanwhile gets no storage: BPF
# counts it, that one park goes untimed (the next snapshot estimates its
# start) and the exit summary says so.  Any run that loads BPF may say it.
KERNEL_STORAGE_RACE = re.compile(r"parkwatch: BPF gave up: \d+ task-storage allocations?")


def stderr_lines(err):
    """What parkwatch said on stderr, line by line, but for the one line the
    kernel's task-storage race can add to any run (KERNEL_STORAGE_RACE)."""
    return [l for l in err.splitlines() if l.strip() and not KERNEL_STORAGE_RACE.fullmatch(l)]


def quiet(err):
    """Whether a run said nothing on stderr (stderr_lines)."""
    return not stderr_lines(err)


def one_stderr_line(err, what):
    lines = stderr_lines(err)
    check(len(lines) == 1, f"{what}: expected one stderr line, got {len(lines)}: {err.strip()[:300]!r}")
    check(lines[0].startswith("parkwatch: "),
          f"{what}: stderr line does not start with 'parkwatch: ': {lines[0]!r}")
    return lines[0]


# ---------------------------------------------------------------- JSON

def parse_json(text, what, kind=None):
    """One JSON document of parkwatch's: parsed, checked against the schema
    and, given KIND (docs.PICTURE, docs.LEAK_REPORT), of that kind.
    Returns (document, kind)."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise Fail(f"{what}: not JSON ({e}): {text[:200]!r}") from None
    check(isinstance(doc, dict), f"{what}: JSON is not an object: {text[:200]!r}")
    return doc, schema.validate(doc, what, kind)


def parse_output(text, what, kind=None):
    """The document of a run's stdout: the whole text, else its last
    non-empty line.  Returns the document."""
    text = text.strip()
    check(text, f"{what}: empty stdout")
    try:
        json.loads(text)
    except ValueError:
        lines = [l for l in text.splitlines() if l.strip()]
        text = lines[-1]
    return parse_json(text, what, kind)[0]


# ---------------------------------------------------------------- one run

def run_raw(args, timeout=PW_TIMEOUT):
    """parkwatch ARGS to completion, exit 0 checked; its stdout as bytes
    (not decoded: strict_text says whether it is UTF-8)."""
    need_parkwatch()
    try:
        cp = subprocess.run([PARKWATCH] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail(f"parkwatch {' '.join(map(str, args))} did not finish "
                   f"within {timeout:.0f} s") from None
    procs.note_exit(cp.args, cp.returncode)
    check(cp.returncode == 0, pw_error(cp.returncode, cp.stderr.decode("utf-8", "replace")))
    return cp.stdout


def strict_text(raw, what):
    """RAW decoded as UTF-8, or a failure that shows where it is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Fail(f"{what} is not UTF-8: {e}: {raw[max(0, e.start - 40):e.end + 20]!r}") from None


class PwResult:
    def __init__(self, rc, out, err, t0, t1):
        self.rc, self.out, self.err, self.t0, self.t1 = rc, out, err, t0, t1


def run_pw(args, timeout=PW_TIMEOUT, preexec=None):
    """Run parkwatch to completion; returns a PwResult (no exit-code check)."""
    need_parkwatch()
    t0 = now()
    try:
        cp = subprocess.run([PARKWATCH] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=timeout, preexec_fn=preexec)
    except subprocess.TimeoutExpired:
        raise Fail(f"parkwatch {' '.join(map(str, args))} did not finish within {timeout:.0f} s")
    procs.note_exit(cp.args, cp.returncode)
    return PwResult(cp.returncode, cp.stdout.decode("utf-8", "replace"),
                    cp.stderr.decode("utf-8", "replace"), t0, now())


def run_measured(args, timeout):
    """parkwatch ARGS to completion: (exit code, stdout, stderr, seconds,
    peak RSS in KiB).  The peak is GNU time's, of its own child: the
    kernel's peak of a child of this runner would start at the runner's own
    RSS when it forked (exec keeps it), hundreds of MB late in the suite."""
    need_parkwatch()
    with tempfile.TemporaryFile() as outf, tempfile.TemporaryFile() as errf, \
            tempfile.NamedTemporaryFile("r") as peak:
        start = now()
        proc = spawn(["/usr/bin/time", "-f", "%M", "-o", peak.name, PARKWATCH]
                     + [str(a) for a in args], stdin=subprocess.DEVNULL,
                     stdout=outf, stderr=errf, start_new_session=True)
        killer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        killer.start()
        try:
            proc.wait()
        finally:
            killer.cancel()
        took = now() - start
        check(proc.returncode != -signal.SIGKILL,
              f"parkwatch {' '.join(map(str, args))} did not finish within {timeout} s")
        outf.seek(0)
        errf.seek(0)
        lines = peak.read().split()
        check(lines and lines[-1].isdigit(), f"GNU time wrote no peak: {lines}")
        return (proc.returncode, outf.read().decode("utf-8", "replace"),
                errf.read().decode("utf-8", "replace"), took, int(lines[-1]))


def dump_json(pids, extra=(), preexec=None):
    """parkwatch -p PID... --dump --format json --min-park 0: (document, PwResult)."""
    args = []
    for pid in pids:
        args += ["-p", pid]
    res = run_pw(args + ["--dump", "--format", "json", "--min-park", "0"] + list(extra),
                 preexec=preexec)
    check(res.rc == 0, pw_error(res.rc, res.err))
    return parse_output(res.out, "parkwatch --dump --format json", docs.PICTURE), res


def dump_text(pid, extra=()):
    res = run_pw(["-p", pid, "--dump", "--format", "text", "--min-park", "0"] + list(extra))
    check(res.rc == 0, pw_error(res.rc, res.err))
    return res.out


# ---------------------------------------------------------------- live

class Live:
    """parkwatch in live JSON Lines mode, reading its stdout line by line.
    Every line is a document checked against the schema; KIND, if given, is
    the kind each line must be."""

    def __init__(self, args, kind=None, env=None):
        need_parkwatch()
        self.kind = kind
        self.errf = tempfile.TemporaryFile()
        self.proc = spawn([PARKWATCH] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=self.errf, env=env)
        self.out = LineReader(self.proc.stdout, "parkwatch")
        self.lines = []        # the raw lines read so far
        self.docs = 0          # how many documents were read

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        stop(self.proc)
        self.errf.close()
        return False

    def stderr_text(self):
        self.errf.seek(0)
        return self.errf.read().decode("utf-8", "replace")

    def next_doc(self, deadline):
        """(doc, receive time) of the next line, or (None, t) at EOF."""
        while True:
            try:
                line = self.out.readline(deadline)
            except Fail:
                raise Fail("parkwatch printed no JSON line before the deadline") from None
            t = now()
            if line is None:
                return None, t
            if line.strip():
                break
        self.lines.append(line)
        self.docs += 1
        doc, _ = parse_json(line, f"live line {self.docs}", self.kind)
        return doc, t

    def first_doc(self, timeout=20.0):
        doc, t = self.next_doc(now() + timeout)
        if doc is None:
            rc = self.proc.wait(timeout=10)
            raise Fail(pw_error(rc, self.stderr_text()))
        return doc, t

    def finish(self, timeout):
        """Read the remaining lines; returns (docs, exit code)."""
        deadline = now() + timeout
        docs = []
        while True:
            doc, _ = self.next_doc(deadline)
            if doc is None:
                break
            docs.append(doc)
        try:
            rc = self.proc.wait(timeout=max(1.0, deadline - now()))
        except subprocess.TimeoutExpired:
            raise Fail("parkwatch did not exit after closing stdout") from None
        return docs, rc


# ---------------------------------------------------------------- HTTP

def free_port():
    """A TCP port nothing listens on now (bound to port 0 and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, path, method="GET", headers=None, body=None, timeout=30.0,
            host="127.0.0.1", source=None):
    """(status, {lowercase header: value}, body bytes) of one request on a new
    connection, from the address SOURCE if given; Fail if the connection
    breaks."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    except (OSError, http.client.HTTPException) as e:
        shown = path if len(path) <= 80 else path[:60] + f"...({len(path)} chars)"
        raise Fail(f"{method} {shown}: {type(e).__name__}: {e}") from None
    finally:
        conn.close()


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(
        f"{user}:{password}".encode()).decode()}


def debug1_total(text):
    m = re.match(r"^thread profile: total (\d+)$", text.split("\n", 1)[0])
    return int(m.group(1)) if m else None


def debug1_counts(text):
    """{(pid label, reason label): thread count} of a thread debug=1 dump."""
    counts = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\d+) @ ", line)
        if not m or i + 1 >= len(lines) or not lines[i + 1].startswith("# labels: "):
            continue
        try:
            labels = json.loads(lines[i + 1][len("# labels: "):])
        except ValueError as e:
            raise Fail(f"debug=1 labels line is not JSON ({e}): {lines[i + 1]!r}") from None
        key = (labels.get("pid"), labels.get("reason"))
        counts[key] = counts.get(key, 0) + int(m.group(1))
    return counts


class Server:
    """parkwatch ARGS --http ADDR, stderr in a file; `with` kills it at the end.
    Without --http-auth in ARGS it serves without authentication
    (--http-no-auth), as the tests of what it serves need."""

    def __init__(self, args, addr=None, port=None, wait=True, preexec=None):
        need_parkwatch()
        self.port = port or free_port()
        self.addr = addr or f"127.0.0.1:{self.port}"
        self.errf = tempfile.TemporaryFile()
        self.outf = tempfile.TemporaryFile()
        args = [str(a) for a in args]
        if "--http-auth" not in args:
            args.append("--http-no-auth")
        argv = [PARKWATCH] + args + ["--http", self.addr]
        self.proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=self.outf, stderr=self.errf,
                          preexec_fn=preexec)
        self.pid = self.proc.pid
        if wait:
            self.wait_serving()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        stop(self.proc)
        self.errf.close()
        self.outf.close()
        return False

    def stderr_text(self):
        self.errf.seek(0)
        return self.errf.read().decode("utf-8", "replace")

    def stdout_text(self):
        self.outf.seek(0)
        return self.outf.read().decode("utf-8", "replace")

    def wait_serving(self, timeout=SERVE_TIMEOUT):
        """Until stderr says `parkwatch: serving http://...`."""
        deadline = now() + timeout
        while True:
            err = self.stderr_text()
            if f"parkwatch: serving http://{self.addr}/metrics" in err:
                return
            rc = self.proc.poll()
            if rc is not None:
                raise Fail(pw_error(rc, err))
            check(now() < deadline, f"parkwatch --http {self.addr}: no 'serving' line "
                                    f"within {timeout:.0f} s (stderr {err.strip()[:200]!r})")
            time.sleep(0.05)  # poll interval of a deadline loop

    def get(self, path, **kw):
        return request(self.port, path, **kw)

    def wait_picture(self, pid, want, timeout=PICTURE_TIMEOUT):
        """Polls debug=1 for PID until want(text) is true; returns the text."""
        deadline = now() + timeout
        last = None
        while True:
            status, _, body = self.get(f"/debug/pprof/goroutine?pid={pid}&debug=1")
            last = (status, body[:200])
            if status == 200 and want(body.decode("utf-8", "replace")):
                return body.decode("utf-8", "replace")
            check(status in (200, 503), f"debug=1 for pid {pid}: status {status}: "
                                        f"{body[:200]!r}")
            check(self.proc.poll() is None, f"parkwatch exited ({self.proc.returncode}): "
                                             f"{self.stderr_text().strip()[:200]!r}")
            check(now() < deadline, f"debug=1 for pid {pid} not as expected within "
                                    f"{timeout:.0f} s; last {last}")
            time.sleep(0.1)  # poll interval of a deadline loop

    def wait_cond(self, pid, n, timeout=PICTURE_TIMEOUT):
        """Until the picture has N cond-wait threads of PID with level_three, and
        N+1 threads in all (condwait's main in pause)."""
        def ready(text):
            return (debug1_counts(text).get((str(pid), "cond wait")) == n
                    and debug1_total(text) == n + 1 and "level_three" in text
                    and debug1_counts(text).get((str(pid), "signal wait")) == 1)
        return self.wait_picture(pid, ready, timeout)

    def stop(self, sig=signal.SIGINT, timeout=15.0):
        """Signal, wait, exit 0 expected."""
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f"parkwatch --http did not exit within {timeout:.0f} s of "
                       f"{signal.Signals(sig).name}") from None
        check(rc == 0, f"parkwatch --http exit {rc} after {signal.Signals(sig).name}, "
                       f"expected 0 (stderr {self.stderr_text().strip()[-300:]!r})")

    def status_field(self, name):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.split(None, 1)[1].strip()
        raise Fail(f"/proc/{self.pid}/status has no {name}")

    def rss_kib(self):
        return int(self.status_field("VmRSS").split()[0])
