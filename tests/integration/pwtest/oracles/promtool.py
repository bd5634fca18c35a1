# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Prometheus as an oracle: `promtool check metrics` on an exposition, and
the one parser of the exposition text the tests read samples from."""

import re
import shutil
import subprocess

from pwtest import check

LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")


def promtool():
    """The promtool binary; Fail if it is not installed."""
    path = shutil.which("promtool")
    check(path, "promtool is not installed (apt-get install prometheus)")
    return path


def check_metrics(body, timeout=60):
    """(exit code, what promtool said) of `promtool check metrics` on BODY (bytes)."""
    cp = subprocess.run([promtool(), "check", "metrics"], input=body, capture_output=True,
                        timeout=timeout)
    return cp.returncode, (cp.stdout + cp.stderr).decode("utf-8", "replace").strip()


def unescape_label(value):
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_metrics(text):
    """[(name, {label: value}, float value)] of the exposition text's samples."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        check(m, f"/metrics: unparsable line {line!r}")
        labels = {k: unescape_label(v) for k, v in LABEL_RE.findall(m.group(2) or "")}
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def metric_sum(samples, name, **labels):
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == w for k, w in labels.items()))
