# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""parkwatch --http under hostile clients: idle and slow sockets,
unauthenticated floods and piles of seconds= windows must not keep a normal
request waiting.  The hostile sockets come from other loopback addresses
(127.0.0.2 and up), as another client would; every wait has a deadline.

Oracles: the clock of this process, and the daemon's answers themselves.
"""

import os
import socket
import tempfile
import threading
import time

from pwtest import check, now
from pwtest.oracles.promtool import metric_sum, parse_metrics
from pwtest.parkwatch import Server, basic, request
from pwtest.procs import Target
from pwtest.runner import test

PROMPT_SECONDS = 2.0      # a normal request must answer within this, whatever else waits
IDLE_TIMEOUT = 5.0        # the daemon's idle timeout (README)
PER_CLIENT_LIMIT = 32     # connections per client address (README)
WINDOW_BUDGET = 8         # concurrent seconds= windows (README)


def open_idle(port, source, count, first_bytes=b""):
    """COUNT sockets from SOURCE connected to PORT, each having sent
    FIRST_BYTES and then nothing."""
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(10)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        if first_bytes:
            s.sendall(first_bytes)
        socks.append(s)
    return socks


def timed(port, path, **kw):
    """(status, body, seconds) of one request."""
    t0 = now()
    status, _, body = request(port, path, timeout=30, **kw)
    return status, body, now() - t0


def closed_within(sock, timeout):
    """Whether the daemon closes SOCK (EOF or reset) within TIMEOUT seconds;
    what it sends first is read and dropped."""
    deadline = now() + timeout
    try:
        while now() < deadline:
            sock.settimeout(max(0.01, deadline - now()))
            if not sock.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True  # a reset is closed too
    return False


@test
def test_http_idle_clients():
    """70 sockets from one address that connect and send nothing or half a
    request line: a request from another address answers within 2 s (it
    took 14 s: the idle sockets held every connection slot), and an idle
    connection is closed after the idle timeout, not 15 s later."""
    with Target("condwait", 1) as t:
        t.wait_ready()
        with Server(["-p", t.pid]) as srv:
            idle = open_idle(srv.port, "127.0.0.2", 35)
            idle += open_idle(srv.port, "127.0.0.2", 35, b"GET /metrics HTTP/1.1\r\nHost: x")
            try:
                status, _, took = timed(srv.port, "/metrics")
                check(status == 200, f"/metrics beside 70 idle sockets: status {status}")
                check(took < PROMPT_SECONDS, f"/metrics beside 70 idle sockets took "
                                             f"{took:.1f} s (limit {PROMPT_SECONDS} s)")
            finally:
                for s in idle:
                    s.close()
            with socket.socket() as s:
                s.connect(("127.0.0.1", srv.port))
                t0 = now()
                check(closed_within(s, IDLE_TIMEOUT + 3),
                      f"an idle connection still open after {IDLE_TIMEOUT + 3:.0f} s")
                took = now() - t0
                check(took >= IDLE_TIMEOUT - 1, f"an idle connection closed after {took:.1f} s, "
                                                f"before the idle timeout")
            samples = parse_metrics(srv.get("/metrics")[2].decode())
            refused = metric_sum(samples, "parkwatch_gave_up_total", reason="http_refused")
            check(refused >= 70 - PER_CLIENT_LIMIT,
                  f"parkwatch_gave_up_total{{reason=\"http_refused\"}} {refused}: "
                  f"at least {70 - PER_CLIENT_LIMIT} of the 70 sockets were refused")
            srv.stop()


@test
def test_http_unauthenticated_flood():
    """With --http-auth, 70 connections from one address that ask without
    credentials and stay open: a request with credentials from another
    address answers within 2 s, and each 401 closes its connection."""
    with Target("condwait", 1) as t, tempfile.TemporaryDirectory(prefix="pw-auth-") as d:
        t.wait_ready()
        auth = os.path.join(d, "users")
        with open(auth, "w") as f:
            f.write("prom:scrape-me\n")
        with Server(["-p", t.pid, "--http-auth", auth]) as srv:
            ask = b"GET /debug/pprof/goroutine?debug=1 HTTP/1.1\r\nHost: x\r\n\r\n"
            flood = open_idle(srv.port, "127.0.0.3", 70, ask)
            try:
                status, _, took = timed(srv.port, "/metrics",
                                        headers=basic("prom", "scrape-me"))
                check(status == 200, f"/metrics with credentials: status {status}")
                check(took < PROMPT_SECONDS, f"/metrics with credentials beside 70 "
                                             f"unauthenticated sockets took {took:.1f} s")
                open_after = [s for s in flood[:PER_CLIENT_LIMIT]
                              if not closed_within(s, PROMPT_SECONDS)]
                check(not open_after, f"{len(open_after)} connections still open "
                                      f"{PROMPT_SECONDS} s after their 401")
            finally:
                for s in flood:
                    s.close()
            srv.stop()


@test
def test_http_window_budget():
    """64 concurrent seconds=4 windows from 8 addresses: at most 8 are
    served (200), the others refused at once (503 with Retry-After, or the
    connection closed), and /metrics answers within 2 s while they wait (it
    took 12 s); the refusals are counted."""
    with Target("condwait", 2) as t:
        t.wait_ready()
        with Server(["-p", t.pid, "--interval", "500ms"]) as srv:
            srv.wait_cond(t.pid, 2)
            results = []
            lock = threading.Lock()

            def window(i):
                t0 = now()
                try:
                    status, headers, _ = request(
                        srv.port, f"/debug/pprof/goroutine?pid={t.pid}&seconds=4",
                        timeout=30, source=f"127.0.0.{10 + i % 8}")
                    got = (status, headers.get("retry-after"))
                except Exception as e:  # a refused connection: a Fail from request()
                    got = ("closed", str(e))
                with lock:
                    results.append((got, now() - t0))

            threads = [threading.Thread(target=window, args=(i,), daemon=True)
                       for i in range(64)]
            t_start = now()
            for th in threads:
                th.start()
            time.sleep(0.5)  # let the windows arrive first: a measurement, not a sync
            status, body, took = timed(srv.port, "/metrics")
            in_flight = now() - t_start < 4
            check(status == 200, f"/metrics beside 64 windows: status {status}")
            check(took < PROMPT_SECONDS, f"/metrics beside 64 windows took {took:.1f} s")
            check(in_flight, "the windows ended before /metrics was asked: the test "
                             "measured nothing")
            for th in threads:
                th.join(timeout=60)
            check(len(results) == 64, f"{64 - len(results)} window requests hang")
            served = [r for r in results if r[0][0] == 200]
            refused = [r for r in results if r[0][0] != 200]
            check(1 <= len(served) <= WINDOW_BUDGET,
                  f"{len(served)} windows served at once (budget {WINDOW_BUDGET})")
            bad = [r for r in refused
                   if not (r[0][0] == 503 and r[0][1] or r[0][0] == "closed")]
            check(not bad, f"refusals not 503 with Retry-After: {bad[:3]}")
            slow = [r for r in refused if r[1] >= PROMPT_SECONDS]
            check(not slow, f"{len(slow)} refusals took {PROMPT_SECONDS} s or more, e.g. "
                            f"{slow[:3]}")
            samples = parse_metrics(srv.get("/metrics")[2].decode())
            counted = metric_sum(samples, "parkwatch_gave_up_total", reason="http_refused")
            check(counted >= len(refused), f"parkwatch_gave_up_total{{reason=\"http_refused\"}} "
                                           f"{counted}, {len(refused)} refused")
            srv.stop()
