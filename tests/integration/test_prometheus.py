# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""What parkwatch ships for Prometheus and pull-based profilers, against
the real readers: promtool on the rules in dist/prometheus/, a real
Prometheus (Debian's, on a free port, its data in a temporary directory)
scraping parkwatch and evaluating those rules and every expression of
dist/grafana/parkwatch.json, and `go tool pprof` fetching
/debug/pprof/goroutine?comm=NAME across a restart of the watched program.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

from pwtest import REPO, Fail, check, now, poll
from pwtest.oracles import gopprof, proc, promtool
from pwtest.oracles.prometheus import Prometheus
from pwtest.parkwatch import Server
from pwtest.procs import Target
from pwtest.runner import test
from test_containers import Cgroup, cgroup_mounts

RULES = os.path.join(REPO, "dist", "prometheus", "parkwatch.rules.yml")
RULE_TESTS = os.path.join(REPO, "dist", "prometheus", "parkwatch.rules.test.yml")
DASHBOARD = os.path.join(REPO, "dist", "grafana", "parkwatch.json")
DATA_TIMEOUT = 45.0       # seconds for a leak to be suspected and every panel to have data
# Grafana's variables as the dashboard's "All" and a rate window that
# holds scrapes taken a second apart
VARIABLES = {"$instance": ".+", "$comm": ".*", "$__rate_interval": "1m"}


def promtool_run(*args, cwd=None):
    cp = subprocess.run([promtool.promtool()] + list(args), capture_output=True, timeout=120,
                        cwd=cwd)
    return cp.returncode, (cp.stdout + cp.stderr).decode("utf-8", "replace").strip()


@test
def test_prometheus_rules():
    """promtool check rules and test rules pass on the shipped rules; and
    the rule tests can fail: with the stuck-lock threshold raised past what
    they feed it, test rules does."""
    rc, said = promtool_run("check", "rules", RULES)
    check(rc == 0 and "SUCCESS" in said, f"promtool check rules: exit {rc}: {said[-400:]!r}")
    rc, said = promtool_run("test", "rules", os.path.basename(RULE_TESTS),
                            cwd=os.path.dirname(RULE_TESTS))
    check(rc == 0 and "SUCCESS" in said, f"promtool test rules: exit {rc}: {said[-600:]!r}")
    with open(RULES) as f:
        rules = f.read()
    check(rules.count("> 600\n") == 1, "the stuck alert's threshold is not '> 600' once")
    with tempfile.TemporaryDirectory(prefix="pw-rules-") as d:
        with open(os.path.join(d, "parkwatch.rules.yml"), "w") as f:
            f.write(rules.replace("> 600\n", "> 6000\n"))
        shutil.copy(RULE_TESTS, d)
        rc, said = promtool_run("test", "rules", os.path.basename(RULE_TESTS), cwd=d)
    check(rc != 0 and "ParkwatchGroupStuck" in said,
          f"with the threshold at 6000 s, promtool test rules: exit {rc}: {said[-300:]!r}")
    return "check rules and test rules pass; a broken stuck alert fails its tests"


def dashboard_queries():
    """[(where, PromQL)] of every expression in the shipped dashboard, the
    variables' queries' selectors too, variables substituted."""
    with open(DASHBOARD) as f:
        dash = json.load(f)
    out = []
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            out.append((f"panel {panel['title']!r} {target['refId']}", target["expr"]))
    for var in dash["templating"]["list"]:
        if var.get("type") != "query":
            continue
        m = re.fullmatch(r"label_values\((.+), *(\w+)\)", var["definition"])
        check(m, f"variable {var['name']}: {var['definition']!r} is not label_values(SELECTOR, LABEL)")
        out.append((f"variable {var['name']}", f"count by ({m.group(2)}) ({m.group(1)})"))
    for i, (where, expr) in enumerate(out):
        for name, value in VARIABLES.items():
            expr = expr.replace(name, value)
        check("$" not in expr, f"{where}: a variable the test doesn't know: {expr!r}")
        out[i] = (where, expr)
    return out


def pprof_pids(port, query, missing_ok=False):
    """{pid label: threads in cond wait} of `go tool pprof -raw` fetching
    the profile of QUERY; with MISSING_OK, {} while nothing matches (404)."""
    try:
        text = gopprof.run(["-raw"], f"http://127.0.0.1:{port}/debug/pprof/goroutine?{query}")
    except Fail as e:
        if missing_ok and "404 Not Found" in str(e):
            return {}
        raise
    counts = {}
    for sample in gopprof.parse_raw(text).samples:
        pid = sample.labels.get("pid")
        counts.setdefault(pid, 0)
        if sample.labels.get("reason") == "cond wait":
            counts[pid] += sample.values[0]
    return counts


@test
def test_prometheus_scrapes_across_restart():
    """A real Prometheus scrapes parkwatch --cgroup while leaky leaks: every
    dashboard expression and recording rule returns data; /healthz and
    /readyz answer 200; `go tool pprof` reads ?comm=leaky, and ?cgroup= merges
    two processes with a pid label each; leaky restarted under a new pid is
    the same series (one label set, no pid) and ?comm=leaky follows it."""
    queries = dashboard_queries()
    mounts = cgroup_mounts()
    check("v2" in mounts, "cgroup v2 is not mounted")
    path = f"/parkwatch-prom-{uuid.uuid4().hex[:12]}"
    directory = os.path.join(mounts["v2"], path.strip("/"))
    targets = []
    with Cgroup(mounts["v2"], path) as cg:
        try:
            targets.append(Target("leaky", 100, 2000))
            first = targets[-1]
            first.wait_ready()
            cg.add(first.pid)
            comm, exe = proc.comm(first.pid), proc.exe(first.pid)
            with Server(["--cgroup", directory, "--interval", "1s", "--leak-window", "30s",
                         "--leak-min-span", "5s"]) as srv:
                for url in ("/healthz", "/readyz"):
                    status, _, body = poll(lambda: (lambda r: r if r[0] == 200 else None)(
                        srv.get(url)), 20, f"{url} answering 200", interval=0.2)
                    check(body in (b"ok\n", b"ready\n"), f"{url}: {body!r}")
                with Prometheus(srv.port, rules=RULES) as prom:
                    t0 = time.time()
                    for where, expr in queries:
                        prom.query(expr)  # polls until it has data, else fails naming expr
                    for record in ("program:parkwatch_parked:sum",
                                   "program:parkwatch_oldest_park_age_seconds:max",
                                   "reason:parkwatch_park_duration_seconds:p99_rate5m"):
                        prom.query(record)
                    before = pprof_pids(srv.port, f"comm={comm}")
                    check(set(before) == {str(first.pid)},
                          f"?comm={comm}: pid labels {sorted(before)}, expected {first.pid}")

                    # another program in the cgroup: ?cgroup= merges both
                    targets.append(Target("condwait", 3))
                    other = targets[-1]
                    cond_tids = other.wait_ready()["cond"]
                    cg.add(other.pid)
                    merged = poll(lambda: (lambda c: c if str(other.pid) in c else None)(
                        pprof_pids(srv.port, f"cgroup={path}")), 20,
                        "?cgroup= with condwait's samples", interval=0.5)
                    check(set(merged) == {str(first.pid), str(other.pid)} and
                          merged[str(other.pid)] == len(cond_tids),
                          f"?cgroup={path}: threads per pid {merged}, expected leaky "
                          f"{first.pid} and condwait {other.pid} with {len(cond_tids)}")
                    status, _, body = srv.get("/debug/pprof/goroutine?comm=no-such-prog")
                    check(status == 404 and b"comm=no-such-prog" in body,
                          f"?comm=no-such-prog: {status} {body[:100]!r}")
                    status, _, body = srv.get(f"/debug/pprof/goroutine?comm={comm}&exe={exe}")
                    check(status == 400, f"comm= and exe= together: {status} {body[:100]!r}")

                    first.kill()
                    targets.append(Target("leaky", 100, 2000))
                    second = targets[-1]
                    second.wait_ready()
                    cg.add(second.pid)
                    after = poll(lambda: (lambda c: c if set(c) == {str(second.pid)} else None)(
                        # 404 until a picture holds the newcomer
                        pprof_pids(srv.port, f"comm={comm}", missing_ok=True)), 20,
                        f"?comm={comm} showing only the restarted pid {second.pid}",
                        interval=0.5)
                    t_restarted = time.time()
                    selector = (f'parkwatch_parked{{exe="{exe}",kind="thread",'
                                f'reason="cond wait",timeout="none"}}')
                    poll(lambda: float(prom.query(f"timestamp({selector})")[0]["value"][1])
                         > t_restarted, 20, "a scrape stored after the restart", interval=0.25)
                    series = prom.series(selector, t0)
                    check(len(series) == 1 and "pid" not in series[0],
                          f"{selector} since the start: {series}, expected one series")
                    counts = prom.query_range(f"count({selector})", t0, time.time())
                    values = {v for r in counts for _, v in r["values"]}
                    check(values == {"1"}, f"count({selector}) over the run: {sorted(values)}")
                    srv.stop()
        finally:
            for t in targets:
                t.kill()
    return (f"{len(queries)} dashboard expressions with data; one {comm} series across "
            f"pids {first.pid} -> {second.pid}; pprof ?comm= {before} then {after}")
