# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""parkwatch --http: the HTTP server.  Each test starts its own daemon on a
free loopback port (Server) and stops it in a `finally`.

External readers: promtool and prometheus (Debian 2.42) and `go tool pprof`.
"""

import gzip
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from pwtest import SANITIZED, Fail, check, now
from pwtest.oracles import gopprof, promtool, proc
from pwtest.oracles.prometheus import Prometheus
from pwtest.oracles.promtool import metric_sum, parse_metrics
from pwtest.parkwatch import (PICTURE_TIMEOUT, Server, basic, bpf_failure, debug1_counts,
                              debug1_total, free_port, one_stderr_line, request, run_pw)
from pwtest.procs import LineReader, Target, spawn, stop
from pwtest.runner import test

# after start-up the daemon has none (its broker keeps the reading ones)
DROPPED_CAPS = 0
LOAD_SECONDS = 30.0       # the load test's duration (warm-up included)
LOAD_WARMUP = 5.0
LOAD_CLIENTS = 50         # well below the daemon's connection limit of 128
LOAD_SOURCES = 4          # client addresses, 127.0.0.1..4: 13 clients each, below 32 per address


def go_pprof(args, source, tmp):
    """`go tool pprof ARGS SOURCE` with symbolization as by default (SOURCE
    may be a URL), HOME and the fetched-profile directory in TMP."""
    return gopprof.run(args, source, env={"HOME": tmp, "PPROF_TMPDIR": tmp}, symbolize=None)


@test
def test_http_promtool():
    """`promtool check metrics` on /metrics: no error, no lint warning, with a
    condwait and a mixed target watched (the histograms then have buckets)."""
    promtool.promtool()
    with Target("condwait", 7) as cw, Target("mixed") as mx:
        cw.wait_ready()
        mx.wait_ready()
        with Server(["-p", cw.pid, "-p", mx.pid, "--interval", "500ms"]) as srv:
            srv.wait_cond(cw.pid, 7)
            deadline = now() + PICTURE_TIMEOUT
            while True:  # until the mixed ticker's ended sleeps fill a histogram
                status, headers, body = srv.get("/metrics")
                check(status == 200, f"/metrics: status {status}: {body[:200]!r}")
                text = body.decode("utf-8")
                if "parkwatch_park_duration_seconds_bucket{" in text:
                    break
                check(now() < deadline, "no parkwatch_park_duration_seconds_bucket in "
                                        f"/metrics within {PICTURE_TIMEOUT:.0f} s")
                time.sleep(0.2)  # poll interval of a deadline loop
            ctype = headers.get("content-type", "")
            check(ctype.startswith("text/plain") and "version=0.0.4" in ctype,
                  f"/metrics Content-Type {ctype!r}")
            rc, said = promtool.check_metrics(body)
            check(rc == 0, f"promtool check metrics: exit {rc}: {said[:500]!r}")
            check(said == "", f"promtool check metrics printed warnings: {said[:500]!r}")
            samples = parse_metrics(text)
            got = metric_sum(samples, "parkwatch_parked", exe=proc.exe(cw.pid),
                             kind="thread", reason="cond wait")
            check(got == 7, f"parkwatch_parked cond wait for {proc.exe(cw.pid)}: {got}")
            check(not any("pid" in l for _, l, _ in samples), "a series has a pid label")
            for name in ("parkwatch_build_info", "parkwatch_parked_seconds_total",
                         "parkwatch_snapshots_total", "process_resident_memory_bytes",
                         "parkwatch_watched", "parkwatch_oldest_park_age_seconds",
                         "parkwatch_last_snapshot_timestamp_seconds"):
                check(any(n == name for n, _, _ in samples), f"/metrics lacks {name}")
            # histogram buckets: cumulative, +Inf == _count
            for reason in {l["reason"] for n, l, _ in samples
                           if n == "parkwatch_park_duration_seconds_bucket"}:
                buckets = [(float(l["le"]), v) for n, l, v in samples
                           if n == "parkwatch_park_duration_seconds_bucket"
                           and l["reason"] == reason]
                values = [v for _, v in sorted(buckets)]
                check(values == sorted(values), f"histogram {reason}: buckets not "
                                                f"cumulative: {sorted(buckets)}")
                count = metric_sum(samples, "parkwatch_park_duration_seconds_count",
                                   reason=reason)
                check(sorted(buckets)[-1] == (float("inf"), count),
                      f"histogram {reason}: +Inf bucket {sorted(buckets)[-1]} != count {count}")
            srv.stop()


@test
def test_http_label_escaping():
    """A process whose comm holds quote, backslash, newline, < > &: /metrics
    escapes it (promtool passes, the label reads back), debug=1's labels are
    JSON, the index escapes it as HTML."""
    comm = 'a<b>"c\\d\ne&'
    code = ("import ctypes, sys, time\n"
            f"ctypes.CDLL(None).prctl(15, {comm.encode()!r}, 0, 0, 0)\n"
            "print('READY {}', flush=True)\n"
            "time.sleep(3600)\n")
    child = spawn([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = LineReader(child.stdout, "comm child").readline(now() + 20)
        check(line == "READY {}", f"comm child: {line!r}")
        with open(f"/proc/{child.pid}/comm", "rb") as f:
            check(f.read().rstrip(b"\n") == comm.encode(), "prctl(PR_SET_NAME) did not "
                                                            "take")
        with Server(["-p", child.pid, "--interval", "500ms"]) as srv:
            srv.wait_picture(child.pid, lambda t: debug1_total(t) is not None)
            status, _, body = srv.get("/metrics")
            check(status == 200, f"/metrics: status {status}")
            comms = {l.get("comm") for n, l, _ in parse_metrics(body.decode())
                     if n == "parkwatch_watched" and l.get("exe") == proc.exe(child.pid)}
            check(comms == {comm}, f"comm label read back as {comms}, expected {{{comm!r}}}")
            rc, said = promtool.check_metrics(body)
            check(rc == 0, f"promtool check metrics: exit {rc}: {said[:300]!r}")
            status, _, body = srv.get(f"/debug/pprof/goroutine?pid={child.pid}&debug=1")
            text = body.decode()
            labels = [json.loads(l[len("# labels: "):]) for l in text.splitlines()
                      if l.startswith("# labels: ")]
            check(labels and all(l.get("comm") == comm for l in labels),
                  f"debug=1 comm labels {[l.get('comm') for l in labels]}")
            status, _, body = srv.get("/debug/pprof/")
            html = body.decode()
            check("a&lt;b&gt;&quot;c\\d\ne&amp;" in html and "a<b>" not in html,
                  f"index does not HTML-escape the comm: {html[-400:]!r}")
            srv.stop(signal.SIGTERM)
    finally:
        stop(child)


@test
def test_http_prometheus_scrape():
    """A real Prometheus scrapes the daemon every second; the sum of
    parkwatch_parked{reason="cond wait"} it stores is 7, as the
    daemon's own debug=1 dump says."""
    with Target("condwait", 7) as t:
        t.wait_ready()
        with Server(["-p", t.pid, "--interval", "1s"]) as srv:
            dump = srv.wait_cond(t.pid, 7)
            own = debug1_counts(dump).get((str(t.pid), "cond wait"))
            with Prometheus(srv.port) as prom:
                query = (f'sum(parkwatch_parked{{exe="{proc.exe(t.pid)}",'
                         'reason="cond wait"})')
                value = float(prom.query(query)[0]["value"][1])
                check(value == 7, f"prometheus says {query} = {value}, expected 7")
                check(value == own, f"prometheus says {value}, the daemon's debug=1 {own}")
                up = prom.query('up{job="parkwatch"}')
                check(float(up[0]["value"][1]) == 1, f"up{{job=parkwatch}}: {up}")
                errors = [a.get("lastError") for a in prom.targets() if a.get("lastError")]
                check(not errors, f"prometheus scrape errors: {errors}")
                build = prom.query("parkwatch_build_info")
                check(build[0]["metric"].get("version"), f"parkwatch_build_info: {build}")
            srv.stop()


@test
def test_http_go_pprof():
    """`go tool pprof` fetches the live profile over HTTP: -raw shows
    level_three, -top totals N+1 threads."""
    n = 7
    with Target("condwait", n) as t, tempfile.TemporaryDirectory(prefix="pw-gopprof-") as d:
        t.wait_ready()
        with Server(["-p", t.pid]) as srv:
            srv.wait_cond(t.pid, n)
            url = f"http://127.0.0.1:{srv.port}/debug/pprof/goroutine?pid={t.pid}"
            raw = gopprof.parse_raw(go_pprof(["-raw"], url, d))
            cond = [s for s in raw.samples if s.labels.get("reason") == "cond wait"]
            check(len(cond) == 1 and cond[0].values[0] == n,
                  f"-raw: cond wait samples {[(s.values, s.labels) for s in cond]}")
            check("level_three" in cond[0].functions and "level_two" in cond[0].functions,
                  f"-raw: cond wait sample's functions {cond[0].functions}")
            check(cond[0].labels.get("pid") == str(t.pid), f"-raw: pid label: {cond[0].labels}")
            top = gopprof.parse_top(go_pprof(["-top"], url, d))
            check(top.total, "-top: no total line")
            check(top.total == str(n + 1), f"-top: {top.total} threads in all, expected {n + 1}")
            check(top.cum("level_three") == n, f"-top: level_three not cum {n}: "
                                               f"{top.rows.get('level_three')}")
            srv.stop()


@test
def test_http_malformed_requests():
    """Every bad request gets its 4xx and the daemon keeps serving."""
    with Target("condwait", 3) as t:
        t.wait_ready()
        with Server(["-p", t.pid]) as srv:
            srv.wait_cond(t.pid, 3)
            g = f"/debug/pprof/goroutine?pid={t.pid}"
            bad_query = [
                "/debug/pprof/goroutine?pid=abc", "/debug/pprof/goroutine?pid=-1",
                "/debug/pprof/goroutine?pid=0", "/debug/pprof/goroutine?pid=99999999999",
                "/debug/pprof/goroutine?pid=2147483648", "/debug/pprof/goroutine?pid=",
                "/debug/pprof/goroutine?pid=%2B5", "/debug/pprof/goroutine?pid=1.5",
                g + "&debug=3", g + "&debug=-1", g + "&debug=x", g + "&seconds=0",
                g + "&seconds=100000", g + "&seconds=301", g + "&seconds=1&debug=1",
                g + "&seconds=2&debug=2", "/debug/pprof/goroutine?pid=" + "9" * 2048,
            ]
            for path in bad_query:
                status, headers, body = srv.get(path)
                shown = path if len(path) < 100 else path[:60] + "..."
                check(status == 400, f"GET {shown}: status {status}, expected 400: "
                                     f"{body[:100]!r}")
                check(body and headers.get("content-type", "").startswith("text/plain"),
                      f"GET {shown}: 400 without a text body")
            # a 20 KB URL: a 4xx (404, or 414 if too long), never a dropped connection
            status, _, _ = srv.get("/" + "x" * 20480)
            check(status in (404, 414), f"GET of a 20 KB path: status {status}")
            status, _, _ = srv.get("/debug/pprof/goroutine?debug=1&pad=" + "y" * 20480)
            check(status in (200, 414), f"GET with a 20 KB query: status {status}")
            for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
                status, headers, _ = srv.get("/metrics", method=method,
                                             body=b"x" * 1000 if method in ("POST", "PUT")
                                             else None)
                check(status == 405, f"{method} /metrics: status {status}, expected 405")
                allow = headers.get("allow", "")
                check({m.strip() for m in allow.split(",")} == {"GET", "HEAD"},
                      f"{method} /metrics: Allow {allow!r}")
            for path in ("/nope", "/metrics/", "/debug/pprof/heap", "/debug/pprof/goroutinex"):
                status, _, _ = srv.get(path)
                check(status == 404, f"GET {path}: status {status}, expected 404")
            status, _, body = srv.get(f"/debug/pprof/goroutine?pid={os.getpid()}&debug=1")
            check(status == 404, f"pid {os.getpid()} (not watched): status {status}, "
                                 f"expected 404: {body[:100]!r}")
            # the good ones, after all that
            status, headers, body = srv.get("/metrics", method="HEAD")
            check(status == 200 and body == b"", f"HEAD /metrics: {status}, {len(body)} bytes")
            status, _, body = srv.get("/metrics")
            check(status == 200 and b"parkwatch_parked{" in body,
                  f"/metrics after the bad requests: status {status}")
            status, _, body = srv.get(g + "&debug=1")
            check(status == 200 and debug1_counts(body.decode()).get(
             (str(t.pid), "cond wait")) == 3, f"debug=1 after the bad requests: {status}")
            status, headers, body = srv.get(g)
            check(status == 200 and body[:2] == b"\x1f\x8b" and len(gzip.decompress(body)) > 0,
                  f"debug=0 after the bad requests: {status}, {body[:10]!r}")
            err = srv.stderr_text()
            check("warning" not in err, f"loopback server warned: {err.strip()!r}")
            srv.stop()


@test
def test_http_auth():
    """--http-auth: 401 with WWW-Authenticate without or with wrong
    credentials, 200 with a right user:password line."""
    with Target("condwait", 2) as t, tempfile.TemporaryDirectory(prefix="pw-auth-") as d:
        t.wait_ready()
        auth = os.path.join(d, "users")
        with open(auth, "w") as f:
            f.write("# scrapers\nprom:s3cr:et\n\nalice:wonder\n")
        with Server(["-p", t.pid, "--http-auth", auth]) as srv:
            g = f"/debug/pprof/goroutine?pid={t.pid}&debug=1"
            deadline = now() + PICTURE_TIMEOUT
            while True:
                status, _, body = srv.get(g, headers=basic("alice", "wonder"))
                if status == 200:
                    break
                check(status == 503 and now() < deadline,
                      f"debug=1 with the right credentials: {status} {body[:100]!r}")
                time.sleep(0.1)  # poll interval of a deadline loop
            for path in ("/metrics", g, "/debug/pprof/", "/"):
                status, headers, body = srv.get(path)
                check(status == 401, f"GET {path} without credentials: {status}")
                www = headers.get("www-authenticate", "")
                check(www.lower().startswith("basic") and "realm=" in www,
                      f"GET {path}: WWW-Authenticate {www!r}")
                check(b"parkwatch_" not in body and b"level_" not in body,
                      f"GET {path} without credentials leaked the body: {body[:100]!r}")
            for user, password in (("prom", "wrong"), ("prom", "s3cr"), ("prom", "s3cr:etx"),
                                   ("alice", ""), ("bob", "wonder"), ("", ""),
                                   ("prom", "s3cr:e"), ("Alice", "wonder")):
                status, headers, _ = srv.get("/metrics", headers=basic(user, password))
                check(status == 401, f"{user}:{password}: status {status}, expected 401")
                check("www-authenticate" in headers, f"{user}:{password}: no WWW-Authenticate")
            status, _, _ = srv.get("/metrics", headers={"Authorization": "Bearer abc"})
            check(status == 401, f"a Bearer token: status {status}")
            status, _, _ = srv.get("/metrics", headers={"Authorization": "Basic !!!notb64"})
            check(status == 401, f"bad base64: status {status}")
            for user, password in (("prom", "s3cr:et"), ("alice", "wonder")):
                status, _, body = srv.get("/metrics", headers=basic(user, password))
                check(status == 200 and b"parkwatch_parked{" in body,
                      f"{user}:{password}: status {status}")
            status, _, _ = srv.get("/metrics", method="POST", headers=basic("alice", "wonder"))
            check(status == 405, f"POST with credentials: status {status}")
            srv.stop()


@test
def test_http_auth_file_errors():
    """Bad --http-auth files: exit 2 with one line naming the problem; a file
    with CRLF line ends works."""
    with Target("condwait", 1) as t, tempfile.TemporaryDirectory(prefix="pw-auth-") as d:
        t.wait_ready()
        cases = [("missing", None, "No such file"), ("empty", "", "no user:password"),
                 ("nocolon", "alice\n", "user:password"), ("comments", "# only\n\n",
                                                            "no user:password")]
        for name, content, want in cases:
            path = os.path.join(d, name)
            if content is not None:
                with open(path, "w") as f:
                    f.write(content)
            res = run_pw(["-p", t.pid, "--http", f"127.0.0.1:{free_port()}",
                          "--http-auth", path], timeout=60)
            if res.rc != 2 and bpf_failure(res.rc, res.err):
                raise Fail(bpf_failure(res.rc, res.err))
            check(res.rc == 2, f"--http-auth {name}: exit {res.rc}, expected 2 "
                               f"(stderr {res.err.strip()[:200]!r})")
            line = one_stderr_line(res.err, f"--http-auth {name}")
            check(want in line, f"--http-auth {name} file: {line!r} does not say {want!r}")
        crlf = os.path.join(d, "crlf")
        with open(crlf, "wb") as f:
            f.write(b"alice:wonder\r\n")
        with Server(["-p", t.pid, "--http-auth", crlf]) as srv:
            status, _, _ = srv.get("/metrics", headers=basic("alice", "wonder"))
            check(status == 200, f"auth file with CRLF line ends: alice:wonder gets {status}")
            srv.stop()


@test
def test_http_bad_address():
    """A malformed --http ADDR: exit 2, one stderr line."""
    with Target("condwait", 1) as t:
        t.wait_ready()
        for addr in ("1.2.3.4.5:99", ":99999", "127.0.0.1:", "127.0.0.1:abc", "[::1",
                     "[::1]x", "127.0.0.1:-5", "127.0.0.1:123456"):
            res = run_pw(["-p", t.pid, "--http", addr, "--http-no-auth"], timeout=60)
            if res.rc != 2 and bpf_failure(res.rc, res.err):
                raise Fail(bpf_failure(res.rc, res.err))
            check(res.rc == 2, f"--http {addr}: exit {res.rc}, expected 2 "
                               f"(stderr {res.err.strip()[:200]!r})")
            one_stderr_line(res.err, f"--http {addr}")
            check(res.out == "", f"--http {addr}: stdout {res.out[:100]!r}")


def listening_ports(pid):
    """The TCP ports PID listens on, as ss sees them: {(address, port)}."""
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, timeout=30).stdout
    found = set()
    for line in out.splitlines():
        if f"pid={pid}," in line:
            local = line.split()[3]
            address, port = local.rsplit(":", 1)
            found.add((address.strip("[]"), int(port)))
    return found


def serving_url(srv, pattern, timeout=20.0):
    """The URL of srv's 'serving' line, waited for with a deadline."""
    deadline = now() + timeout
    while True:
        m = re.search(pattern, srv.stderr_text())
        if m:
            return m
        check(srv.proc.poll() is None, f"parkwatch exited ({srv.proc.returncode}): "
                                       f"{srv.stderr_text().strip()[:200]!r}")
        check(now() < deadline, f"no serving line within {timeout:.0f} s: "
                                f"{srv.stderr_text().strip()[:200]!r}")
        time.sleep(0.05)  # poll interval of a deadline loop


@test
def test_http_port_zero():
    """--http 127.0.0.1:0 says the port it was given (it said 0), and serves there."""
    with Target("condwait", 1) as t:
        t.wait_ready()
        with Server(["-p", t.pid], addr="127.0.0.1:0", wait=False) as srv:
            m = serving_url(srv, r"parkwatch: serving http://127\.0\.0\.1:(\d+)/metrics")
            srv.port = int(m.group(1))
            ports = listening_ports(srv.pid)
            check(("127.0.0.1", srv.port) in ports,
                  f"said port {srv.port}, ss shows {sorted(ports)}")
            status, _, _ = srv.get("/metrics")
            check(status == 200, f"port {srv.port}: /metrics {status}")
            srv.stop()


@test
def test_http_ipv6_without_brackets():
    """--http ::1 is [::1] on the default port (it was refused)."""
    with socket.socket(socket.AF_INET6) as probe:
        try:
            probe.bind(("::1", 9464))
        except OSError as e:
            raise Fail(f"[::1]:9464 is not free here ({e}): cannot test the default port")
    with Target("condwait", 1) as t:
        t.wait_ready()
        with Server(["-p", t.pid], addr="::1", port=9464, wait=False) as srv:
            serving_url(srv, r"parkwatch: serving http://\[::1\]:9464/metrics")
            ports = listening_ports(srv.pid)
            check(ports == {("::1", 9464)}, f"--http ::1: ss shows {sorted(ports)}")
            status, _, _ = request(9464, "/metrics", host="::1")
            check(status == 200, f"[::1]:9464: /metrics {status}")
            srv.stop()


@test
def test_http_nonloopback_warning():
    """0.0.0.0:PORT serves, with a warning line on stderr."""
    with Target("condwait", 1) as t:
        t.wait_ready()
        port = free_port()
        with Server(["-p", t.pid], addr=f"0.0.0.0:{port}", port=port) as srv:
            lines = [l for l in srv.stderr_text().splitlines() if l.strip()]
            warn = [l for l in lines if l.startswith("parkwatch: warning:")]
            check(len(warn) == 1 and "non-loopback" in warn[0] and "--http-auth" in warn[0],
                  f"0.0.0.0: stderr {lines}")
            status, _, _ = srv.get("/metrics")
            check(status == 200, f"0.0.0.0: /metrics {status}")
            srv.stop(signal.SIGTERM)


@test
def test_http_port_in_use():
    """A port someone else listens on: exit 1 with one stderr line."""
    with Target("condwait", 1) as t, socket.socket() as taken:
        t.wait_ready()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = run_pw(["-p", t.pid, "--http", f"127.0.0.1:{port}", "--http-no-auth"],
                     timeout=60)
        if res.rc != 1 and bpf_failure(res.rc, res.err):
            raise Fail(bpf_failure(res.rc, res.err))
        check(res.rc == 1, f"port in use: exit {res.rc}, expected 1 "
                           f"(stderr {res.err.strip()[:200]!r})")
        line = one_stderr_line(res.err, "port in use")
        check("in use" in line, f"port in use: {line!r}")


@test
def test_http_privileged_port():
    """As root, --http 127.0.0.1:PORT with PORT < 1024 serves (the capability
    drop must not take the bind away)."""
    port = None
    for candidate in range(990, 900, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port = candidate
            break
    check(port, "no free port in 901..990")
    with Target("condwait", 1) as t:
        t.wait_ready()
        with Server(["-p", t.pid], port=port) as srv:
            status, _, _ = srv.get("/metrics")
            check(status == 200, f"port {port}: /metrics {status}")
            srv.stop()


@test
def test_http_index_links():
    """Every link of /debug/pprof/ and /debug/pprof (no slash), resolved as a
    browser does, answers 200."""
    with Target("condwait", 2) as t:
        t.wait_ready()
        with Server(["-p", t.pid]) as srv:
            srv.wait_cond(t.pid, 2)
            for index in ("/debug/pprof/", "/debug/pprof"):
                status, headers, body = srv.get(index)
                check(status == 200 and headers.get("content-type", "").startswith("text/html"),
                      f"GET {index}: {status} {headers.get('content-type')}")
                hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"',
                                                                     body.decode())]
                check(len(hrefs) == 3 and all(f"pid={t.pid}" in h for h in hrefs),
                      f"GET {index}: links {hrefs}")
                for href in hrefs:
                    target = urllib.parse.urljoin(f"http://127.0.0.1:{srv.port}{index}", href)
                    path = target.split(f":{srv.port}", 1)[1]
                    status, _, _ = srv.get(path)
                    check(status == 200, f"link {href!r} of {index} resolves to {path}: "
                                         f"status {status}")
            srv.stop()


@test
def test_http_capabilities():
    """The daemon keeps no capability, with no_new_privs, on every thread,
    and still reads stacks (test_privileges.py has the rest); and
    --keep-privileges keeps ours."""
    with Target("condwait", 3) as t:
        t.wait_ready()
        with Server(["-p", t.pid, "--interval", "500ms"]) as srv:
            srv.wait_cond(t.pid, 3)
            st = proc.status(srv.pid)
            for field in ("CapEff", "CapPrm"):
                check(int(st[field], 16) == DROPPED_CAPS,
                      f"{field} {st[field]}, expected {DROPPED_CAPS:016x}")
            check(int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0,
                  f"CapInh {st['CapInh']} CapAmb {st['CapAmb']}")
            check(st.get("NoNewPrivs") == "1", f"NoNewPrivs {st.get('NoNewPrivs')!r}")
            # capabilities are per thread: the server's threads, a connection
            # thread serving a window included, must have dropped them too
            answer = []
            waiter = threading.Thread(target=lambda: answer.append(srv.get(
                f"/debug/pprof/goroutine?pid={t.pid}&seconds=2")), daemon=True)
            waiter.start()
            deadline = now() + 10
            while True:
                tasks = {}
                for tid in os.listdir(f"/proc/{srv.pid}/task"):
                    try:
                        with open(f"/proc/{srv.pid}/task/{tid}/comm") as f:
                            comm = f.read().strip()
                        tasks[tid] = (comm, proc.status(f"{srv.pid}/task/{tid}"))
                    except OSError:
                        pass  # a connection thread that just ended
                if len(tasks) >= 3:  # main, listener, the window's connection
                    break
                check(now() < deadline, f"no connection thread within 10 s: "
                                        f"{[c for c, _ in tasks.values()]}")
                time.sleep(0.02)  # poll interval of a deadline loop
            for tid, (comm, tst) in tasks.items():
                check(int(tst["CapEff"], 16) == DROPPED_CAPS and tst.get("NoNewPrivs") == "1",
                      f"thread {tid} ({comm}): CapEff {tst['CapEff']} NoNewPrivs "
                      f"{tst.get('NoNewPrivs')}")
            waiter.join(timeout=30)
            check(answer and answer[0][0] == 200, f"window request: {answer[:1]}")
            # later pictures, taken without the dropped capabilities, still work
            first = metric_sum(parse_metrics(srv.get("/metrics")[2].decode()),
                               "parkwatch_snapshots_total")
            deadline = now() + PICTURE_TIMEOUT
            while True:
                samples = parse_metrics(srv.get("/metrics")[2].decode())
                if metric_sum(samples, "parkwatch_snapshots_total") >= first + 2:
                    break
                check(now() < deadline, "parkwatch_snapshots_total does not advance")
                time.sleep(0.1)  # poll interval of a deadline loop
            got = metric_sum(samples, "parkwatch_parked", exe=proc.exe(t.pid),
                             reason="cond wait")
            check(got == 3, f"after the drop: parked cond wait {got}, expected 3")
            srv.wait_cond(t.pid, 3)
            srv.stop()
        mine = proc.status(os.getpid())
        with Server(["-p", t.pid, "--keep-privileges"]) as srv:
            st = proc.status(srv.pid)
            check(st["CapEff"] == mine["CapEff"] and st["CapPrm"] == mine["CapPrm"],
                  f"--keep-privileges: CapEff {st['CapEff']} CapPrm {st['CapPrm']}, "
                  f"ours {mine['CapEff']} {mine['CapPrm']}")
            check(int(st["CapEff"], 16) & ~DROPPED_CAPS,
                  f"--keep-privileges: CapEff {st['CapEff']} (test not run as root?)")
            check(st.get("NoNewPrivs") == "0", f"--keep-privileges: NoNewPrivs "
                                               f"{st.get('NoNewPrivs')!r}")
            srv.stop()


@test
def test_http_client_reset():
    """Clients that reset the connection in the middle of a large response
    (SIGPIPE is not ignored any more) leave the daemon serving."""
    with Target("condwait", 300) as t:
        t.wait_ready()
        with Server(["-p", t.pid]) as srv:
            text = srv.wait_cond(t.pid, 300)
            check(text, "no picture")
            status, _, body = srv.get(f"/debug/pprof/goroutine?pid={t.pid}&debug=2")
            check(status == 200 and len(body) > 100000,
                  f"debug=2 of 301 threads: {status}, {len(body)} bytes (want a big one)")
            for i in range(100):
                with socket.socket() as s:
                    # a small window: the daemon is still sending when the RST comes
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    s.settimeout(10)
                    s.connect(("127.0.0.1", srv.port))
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.sendall(f"GET /debug/pprof/goroutine?pid={t.pid}&debug=2 HTTP/1.1\r\n"
                              "Host: x\r\n\r\n".encode())
                    s.recv(16)  # then close with RST, the rest unread
            check(srv.proc.poll() is None, f"parkwatch died after client resets: exit "
                                           f"{srv.proc.returncode}")
            status, _, _ = srv.get("/metrics")
            check(status == 200, f"/metrics after client resets: {status}")
            srv.stop()


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def http_load(duration=LOAD_SECONDS, clients=LOAD_CLIENTS, warmup=LOAD_WARMUP, n=7):
    """CLIENTS threads for DURATION seconds mixing /metrics, debug=0 and
    debug=1 of a watched condwait N: every answer 200, non-empty and right;
    RSS after the run within 20 % + 8 MiB of RSS after WARMUP seconds."""
    check(clients <= 64, "stay well below the daemon's connection limit of 128")
    check(-(-clients // LOAD_SOURCES) <= 16, "stay well below its limit of 32 per client "
                                               "address")
    with Target("condwait", n) as t:
        t.wait_ready()
        with Server(["-p", t.pid, "--interval", "500ms"]) as srv:
            srv.wait_cond(t.pid, n)
            g = f"/debug/pprof/goroutine?pid={t.pid}"
            endpoints = [("/metrics", "/metrics"), ("debug=0", g + "&debug=0"),
                         ("debug=1", g + "&debug=1")]
            lat = {name: [] for name, _ in endpoints}
            errors = []
            lock = threading.Lock()
            stop = threading.Event()

            def valid(name, body):
                if name == "/metrics":
                    return b"parkwatch_parked{" in body
                if name == "debug=0":
                    return body[:2] == b"\x1f\x8b"
                text = body.decode("utf-8", "replace")
                return debug1_counts(text).get((str(t.pid), "cond wait")) == n

            def client(i):
                k = i
                while not stop.is_set():
                    name, path = endpoints[k % len(endpoints)]
                    k += 1
                    t0 = time.monotonic()
                    try:
                        conn = http.client.HTTPConnection(
                            "127.0.0.1", srv.port, timeout=30,
                            source_address=(f"127.0.0.{1 + i % LOAD_SOURCES}", 0))
                        conn.request("GET", path)
                        resp = conn.getresponse()
                        body = resp.read()
                        conn.close()
                        took = time.monotonic() - t0
                        bad = None if resp.status == 200 and body and valid(name, body) else \
                            f"{name}: status {resp.status}, {len(body)} bytes {body[:80]!r}"
                    except (OSError, http.client.HTTPException) as e:
                        took, bad = None, f"{name}: {type(e).__name__}: {e}"
                    with lock:
                        if bad:
                            errors.append(bad)
                        else:
                            lat[name].append(took)

            threads = [threading.Thread(target=client, args=(i,), daemon=True)
                       for i in range(clients)]
            t_start = now()
            for th in threads:
                th.start()
            try:
                stop.wait(warmup)  # the warm-up period: a measurement, not a readiness wait
                rss_warm = srv.rss_kib()
                rss_peak = rss_warm
                while now() < t_start + duration and not stop.is_set():
                    stop.wait(1.0)
                    rss_peak = max(rss_peak, srv.rss_kib())
            finally:
                stop.set()
                for th in threads:
                    th.join(timeout=60)
            rss_end = srv.rss_kib()
            hung = [th for th in threads if th.is_alive()]
            check(not hung, f"{len(hung)} client threads still waiting 60 s after the end")
            elapsed = now() - t_start
            total = sum(len(v) for v in lat.values())
            for name, _ in endpoints:
                v = lat[name]
                print(f"  http_load {name}: {len(v)} requests, p50 {percentile(v, 0.5) * 1e3:.1f}"
                      f" ms, p99 {percentile(v, 0.99) * 1e3:.1f} ms", flush=True)
            print(f"  http_load rss: {rss_warm} KiB after {warmup:.0f} s warm-up, {rss_end} KiB "
                  f"at the end ({rss_peak} KiB peak), {clients} clients, {elapsed:.1f} s, "
                  f"{total} requests, {len(errors)} errors", flush=True)
            refused = srv.stderr_text().count("reached connection limit")
            check(not errors, f"{len(errors)} failed requests, e.g. {errors[:3]}; the daemon "
                              f"logged 'reached connection limit' {refused} times")
            check(all(lat[name] for name, _ in endpoints),
                  f"an endpoint got no answer: { {k: len(v) for k, v in lat.items()} }")
            limit = rss_warm * 1.2 + 8 * 1024
            # ASan's quarantine holds freed memory on purpose: RSS is measured
            # in the plain run
            check(SANITIZED or rss_end <= limit, f"RSS grew from {rss_warm} KiB to {rss_end} KiB "
                                    f"(limit {limit:.0f} KiB)")
            status, _, _ = srv.get("/metrics")
            check(status == 200, f"/metrics after the load: {status}")
            srv.stop()


@test
def test_http_load():
    http_load(LOAD_SECONDS if not SANITIZED else LOAD_SECONDS / 3)


@test
def test_http_window():
    """seconds=2: a windowed pprof profile that takes 2..6 s, that `go tool
    pprof -raw` reads, with Duration ~2 s and the parked time of 2 s per
    thread."""
    n = 7
    with Target("condwait", n) as t, tempfile.TemporaryDirectory(prefix="pw-window-") as d:
        t.wait_ready()
        with Server(["-p", t.pid, "--interval", "500ms"]) as srv:
            srv.wait_cond(t.pid, n)
            path = f"/debug/pprof/goroutine?pid={t.pid}&seconds=2"
            t0 = now()
            status, headers, body = srv.get(path, timeout=30)
            took = now() - t0
            check(status == 200, f"seconds=2: status {status}: {body[:200]!r}")
            check(2.0 <= took <= 6.0, f"seconds=2 took {took:.2f} s, expected 2..6 s")
            check(body[:2] == b"\x1f\x8b", f"seconds=2: not gzip: {body[:10]!r}")
            prof = os.path.join(d, "window.pb.gz")
            with open(prof, "wb") as f:
                f.write(body)
            for source in (prof, f"http://127.0.0.1:{srv.port}{path}"):
                raw = gopprof.parse_raw(go_pprof(["-raw"], source, d))
                m = re.match(r"^([\d.]+)", raw.header.get("Duration", ""))
                check(m, f"{source}: -raw shows no Duration: {raw.header}")
                dur = float(m.group(1))
                check(2.0 <= dur <= 3.0, f"{source}: Duration {dur} s, expected ~2 s")
                cond = [s for s in raw.samples if s.labels.get("reason") == "cond wait"]
                check(len(cond) == 1, f"{source}: cond wait samples "
                                      f"{[(s.values, s.labels) for s in cond]}")
                count, parked_ns = cond[0].values[:2]
                check("level_three" in cond[0].functions,
                      f"{source}: functions {cond[0].functions}")
                check(count % n == 0 and count >= n * 4,
                      f"{source}: {count} samples, expected a multiple of {n}, >= {4 * n} "
                      f"(2 s at 500 ms)")
                per_thread = parked_ns / n / 1e9
                check(abs(per_thread - dur) <= 0.01,
                      f"{source}: parked {per_thread:.3f} s per thread, Duration {dur} s")
            srv.stop()
