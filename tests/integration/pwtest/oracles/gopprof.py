# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""`go tool pprof` as an oracle: the independent reader of pprof files and
URLs, and the one parser of each of its reports.

    run(args, source)  stdout of `go tool pprof ARGS SOURCE`
    parse_raw(text)    -raw: header fields, comments, sample types, samples
                       with their values, labels and function names
    parse_traces(text) -traces: each sample's count, frames and labels
    parse_top(text)    -top: the type, the totals line, flat/cum per function
"""

import os
import re
import subprocess
import tempfile

from pwtest import Fail, check


def run(args, source, go="go", env=None, symbolize="none", timeout=120.0):
    """stdout of `GO tool pprof [-symbolize=SYMBOLIZE] ARGS SOURCE` (a file or
    a URL).  With symbolize="none" it reads only what the file holds.  ENV
    adds to (or overrides) the environment: HOME, the Go cache and pprof's
    directory for fetched profiles go to the temporary directory unless
    said otherwise."""
    tmp = tempfile.gettempdir()
    full = dict(os.environ, HOME=os.environ.get("HOME") or tmp,
                GOCACHE=os.path.join(tmp, "parkwatch-gocache"), PPROF_TMPDIR=tmp)
    full.update(env or {})
    cmd = [go, "tool", "pprof"] + ([f"-symbolize={symbolize}"] if symbolize else []) \
        + list(args) + [source]
    shown = f"go tool pprof {' '.join(args)}"
    try:
        cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                            env=full)
    except FileNotFoundError:
        raise Fail(f"{go} is not installed (go tool pprof reads the profiles)") from None
    except subprocess.TimeoutExpired:
        raise Fail(f"{shown} {source} did not finish within {timeout:.0f} s") from None
    err = cp.stderr.decode("utf-8", "replace").strip()
    check(cp.returncode == 0, f"{shown}: exit {cp.returncode}: {err[:300]!r}")
    return cp.stdout.decode("utf-8", "replace")


# ---------------------------------------------------------------- -raw

class RawSample:
    def __init__(self, values, locations):
        self.values = values        # [int], one per sample type
        self.locations = locations  # location ids, leaf first
        self.labels = {}            # label: value (as printed)
        self.functions = []         # function names of the locations, inlined ones too


class Raw:
    def __init__(self):
        self.header = {}            # "PeriodType", "Period", "Duration", ...: the text after ": "
        self.comments = []          # the Comment: lines, in order
        self.sample_types = ""      # "threads/count[dflt] parked/nanoseconds"
        self.samples = []           # [RawSample]
        self.locations = {}         # id: [function, ...] innermost first


def parse_raw(text):
    """The report of `go tool pprof -raw`."""
    lines = text.splitlines()
    check("Samples:" in lines, f"go tool pprof -raw printed no Samples section: {text[:200]!r}")
    raw = Raw()
    start = lines.index("Samples:")
    for line in lines[:start]:
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if key == "Comment":
            raw.comments.append(value)
        else:
            raw.header.setdefault(key, value)
    raw.sample_types = lines[start + 1].strip() if start + 1 < len(lines) else ""
    if "Locations" in lines:
        cur = None
        for line in lines[lines.index("Locations") + 1:]:
            if line == "Mappings":
                break
            m = re.match(r"^\s+(\d+): 0x[0-9a-f]+ M=\d+\s*(\S*)", line)
            if m:
                cur = int(m.group(1))
                raw.locations[cur] = [m.group(2)] if m.group(2) else []
            elif cur is not None and line.strip():
                raw.locations[cur].append(line.split()[0])
    for line in lines[start + 2:]:
        if not line.startswith(" "):
            break
        m = re.match(r"^\s+(-?\d+(?:\s+-?\d+)*):(.*)$", line)
        if m:
            locs = [int(x) for x in m.group(2).split() if x.isdigit()]
            sample = RawSample([int(v) for v in m.group(1).split()], locs)
            sample.functions = [f for loc in locs for f in raw.locations.get(loc, [])]
            raw.samples.append(sample)
        elif raw.samples:
            for key, val in re.findall(r"(\w+):\[([^\]]*)\]", line):
                raw.samples[-1].labels[key] = val
    return raw


# ---------------------------------------------------------------- -traces

class Trace:
    def __init__(self, count, names, labels):
        self.count = count          # the first sample value
        self.names = names          # frames leaf first, as printed ("f file:line" with -lines)
        self.labels = labels        # label: value


def parse_traces(text):
    """[Trace] of `go tool pprof -traces`, in the order printed."""
    out = []
    for block in re.split(r"^-+\+-+$", text, flags=re.M):
        names, labels, count = [], {}, None
        for line in block.splitlines():
            m = re.match(r"^\s*([a-z_]+):\s+(.*)$", line)
            if m and count is None:
                labels[m.group(1)] = m.group(2).strip()
                continue
            m = re.match(r"^\s+(\d+)\s+(\S.*)$", line)
            if m and count is None:
                count = int(m.group(1))
                names.append(m.group(2).strip())
                continue
            if count is not None and line.strip():
                names.append(line.strip())
        if count is not None:
            out.append(Trace(count, names, labels))
    return out


# ---------------------------------------------------------------- -top

class Top:
    def __init__(self):
        self.type = None            # the Type: line
        self.accounted = None       # "Showing nodes accounting for A, P% of T total": A, P, T
        self.percent = None
        self.total = None
        self.rows = {}              # function (its first word): (flat, cum) as printed

    def cum(self, function):
        """The cumulative value of FUNCTION as an int; None if not shown."""
        row = self.rows.get(function)
        return int(row[1]) if row and row[1].isdigit() else None


def parse_top(text):
    """The report of `go tool pprof -top`."""
    top = Top()
    m = re.search(r"^Type: (.*)$", text, re.M)
    top.type = m.group(1) if m else None
    m = re.search(r"Showing nodes accounting for (\S+), ([\d.]+)% of (\S+) total", text)
    if m:
        top.accounted, top.percent, top.total = m.groups()
    for m in re.finditer(r"^\s*(\S+)\s+[\d.]+%\s+[\d.]+%\s+(\S+)\s+[\d.]+%\s+(\S+)", text, re.M):
        top.rows[m.group(3)] = (m.group(1), m.group(2))
    return top
