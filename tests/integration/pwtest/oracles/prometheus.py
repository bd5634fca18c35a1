# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""A real Prometheus (Debian's `prometheus`) scraping parkwatch's /metrics
every second: what it stores and what it says about the target, through
its HTTP API."""

import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse

from pwtest import Fail, check, poll
from pwtest.parkwatch import free_port, request
from pwtest.procs import spawn, stop

SCRAPE_TIMEOUT = 30.0     # seconds for the first scrape to be stored


class Prometheus:
    """`with Prometheus(port) as prom`: a private Prometheus scraping
    127.0.0.1:PORT (job "parkwatch"), its data in a temporary directory,
    stopped and removed at the end; RULES, a rule file it evaluates every
    second."""

    def __init__(self, target_port, rules=None):
        self.binary = shutil.which("prometheus")
        check(self.binary, "prometheus is not installed (apt-get install prometheus)")
        self.target_port = target_port
        self.rules = rules

    def __enter__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="pw-prom-")
        cfg = os.path.join(self.dir.name, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
                    + (f"rule_files: ['{os.path.abspath(self.rules)}']\n" if self.rules else "") +
                    "scrape_configs:\n  - job_name: parkwatch\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{self.target_port}']\n")
        self.port = free_port()
        self.errf = tempfile.TemporaryFile()
        self.proc = spawn([self.binary, f"--config.file={cfg}",
                           f"--storage.tsdb.path={os.path.join(self.dir.name, 'data')}",
                           f"--web.listen-address=127.0.0.1:{self.port}"],
                          stdin=subprocess.DEVNULL, stdout=self.errf, stderr=self.errf)
        return self

    def __exit__(self, *exc):
        stop(self.proc)
        self.errf.close()
        self.dir.cleanup()
        return False

    def log(self):
        self.errf.seek(0)
        return self.errf.read().decode("utf-8", "replace").strip()[-400:]

    def _api(self, path):
        """The API's data for PATH; None while Prometheus is not answering."""
        check(self.proc.poll() is None,
              f"prometheus exited ({self.proc.returncode}): {self.log()!r}")
        try:
            status, _, body = request(self.port, path, timeout=10)
        except Fail:
            return None  # not listening yet
        if status != 200:
            return None
        doc = json.loads(body)
        check(doc.get("status") == "success", f"prometheus {path}: {doc}")
        return doc["data"]

    def query(self, promql):
        """The instant vector of PROMQL, once it has one (polled)."""
        path = "/api/v1/query?query=" + urllib.parse.quote(promql)
        return poll(lambda: (self._api(path) or {}).get("result") or None, SCRAPE_TIMEOUT,
                    f"prometheus returned nothing for {promql}", interval=0.25)

    def series(self, match, start):
        """The label sets of every series MATCH selects since START (Unix
        seconds): one per label set, however often its samples changed."""
        path = ("/api/v1/series?" +
                urllib.parse.urlencode({"match[]": match, "start": f"{start:.3f}"}))
        return self._api(path) or []

    def query_range(self, promql, start, end, step=1):
        """The range vector of PROMQL from START to END (Unix seconds)."""
        path = "/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step})
        return (self._api(path) or {}).get("result") or []

    def targets(self):
        """The active targets once one has been scraped (polled)."""
        def scraped():
            active = (self._api("/api/v1/targets") or {}).get("activeTargets", [])
            return [a for a in active if a.get("health") != "unknown"] or None
        return poll(scraped, SCRAPE_TIMEOUT, "prometheus scraped nothing", interval=0.25)
