# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The live view as a user drives it: the real binary in a tmux pane, keys
sent with send-keys, the screen read with capture-pane (polled with a
deadline).  The oracles are the targets' own records (mixed's READY and
PARKED lines: which threads it parked, in groups of known sizes, and when;
locks' deadlock) and the pane itself (its width, its height, the escape
sequences it received)."""

import os
import shlex
import signal
import subprocess
import tempfile
import unicodedata

from pwtest import PARKWATCH, Fail, check, poll
from pwtest.parkwatch import need_parkwatch
from pwtest.procs import Target
from pwtest.runner import test

SCREEN_TIMEOUT = 30.0
HEADINGS = "  COUNT  CHANGE"
EXIT_MARK = "parkwatch-test-exit-status="


def columns(line):
    """Terminal columns of a line, as wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


class Pane:
    """parkwatch ARGS in a detached tmux pane of WIDTH x HEIGHT, on a tmux
    server of its own, which the `with` block ends.  The pane stays once
    parkwatch exits, for its last screen and exit status."""

    def __init__(self, args, width=80, height=24, no_color=False):
        need_parkwatch()
        self.dir = tempfile.TemporaryDirectory(prefix="pw-tmux-")
        conf = os.path.join(self.dir.name, "tmux.conf")
        with open(conf, "w") as f:
            f.write("set -g remain-on-exit on\nset -g status off\nset -g history-limit 5000\n")
        self.base = ["tmux", "-S", os.path.join(self.dir.name, "socket"), "-f", conf]
        self.width, self.height = width, height
        colour = ["NO_COLOR=1"] if no_color else ["-u", "NO_COLOR"]
        command = ["env", *colour, PARKWATCH, *[str(a) for a in args]]
        # the shell says how parkwatch ended: tmux's own pane_dead_status is
        # not always there by the time the pane is dead
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height),
                  " ".join(shlex.quote(word) for word in command) + f"; echo {EXIT_MARK}$?")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(self.base + ["kill-server"], capture_output=True, timeout=10)
        self.dir.cleanup()
        return False

    def tmux(self, *args):
        res = subprocess.run(self.base + list(args), capture_output=True, text=True,
                             timeout=10)
        check(res.returncode == 0, f"tmux {' '.join(args)}: {res.stderr.strip()}")
        return res.stdout

    def keys(self, *keys):
        self.tmux("send-keys", *keys)

    def screen(self, escapes=False, history=False):
        """The pane's lines, wrapped ones joined (-J): a row parkwatch let
        wrap comes back longer than the pane."""
        args = ["capture-pane", "-p", "-J"] + (["-e"] if escapes else [])
        return self.tmux(*args, *(["-S", "-"] if history else [])).split("\n")[:-1]

    def dead(self):
        """parkwatch's exit status once it ended; None while it runs."""
        for line in self.screen(history=True):
            if line.startswith(EXIT_MARK):
                return int(line[len(EXIT_MARK):])
        return None

    def last_screen(self):
        """Every line parkwatch left, the shell's exit line not included."""
        return [l for l in self.screen(history=True) if not l.startswith(EXIT_MARK)]

    def wait(self, probe, what, timeout=SCREEN_TIMEOUT):
        """Polls the screen until PROBE(lines) is true; returns those lines."""
        def probe_screen():
            lines = self.screen()
            if self.dead() is not None and not probe(lines):
                raise Fail(f"parkwatch ended (status {self.dead()}) before {what}:\n"
                           + "\n".join(lines))
            return lines if probe(lines) else None
        try:
            return poll(probe_screen, timeout, what)
        except Fail as e:
            raise Fail(f"{e}\nlast screen:\n" + "\n".join(self.screen())) from None

    def resize(self, width):
        self.tmux("resize-window", "-x", str(width), "-y", str(self.height))
        self.width = width

    def check_width(self, lines, what):
        for line in lines:
            check(columns(line) <= self.width,
                  f"{what}: a line of {columns(line)} columns in a pane of {self.width}: "
                  f"{line!r}")
        check(len(lines) <= self.height, f"{what}: {len(lines)} lines in {self.height}")


def rows(lines):
    """The table's rows: the lines under the headings, up to a blank one."""
    for i, line in enumerate(lines):
        if line.startswith(HEADINGS):
            out = []
            for row in lines[i + 1:]:
                if not row.strip() or row.startswith("... ") or row.startswith("/"):
                    break
                out.append(row)
            return out
    return None


def count_change(row):
    fields = row.split()
    return int(fields[0]), fields[1]


def late_row(lines, late):
    """Index of the late group's row (its count as mixed printed it, a
    cond wait, all of it since parkwatch started), or None."""
    for i, row in enumerate(rows(lines) or []):
        if count_change(row) == (late, f"+{late}") and " cond wait " in row:
            return i
    return None


def mutex_row(lines, mutex):
    for i, row in enumerate(rows(lines) or []):
        if count_change(row)[0] == mutex and " mutex lock " in row:
            return i
    return None


@test
def test_live_view_keys():
    """Sort by count, age and growth as mixed's groups say; a filter shows
    only its rows; ? shows the keys; no line wider than the pane; q leaves a
    summary of one screen (not the dump) and exits 0."""
    with Target("mixed") as target:
        roles = target.wait_ready()
        mutex = len(roles["mutex"])
        # --min-park 0: stacks from the first picture, so the groups in it
        # are the ones that stay, with no change since
        with Pane(["-p", target.pid, "--interval", "300ms", "--min-park", "0"]) as pane:
            lines = pane.wait(lambda l: mutex_row(l, mutex) is not None, "the mutex group's row")
            check(count_change(rows(lines)[mutex_row(lines, mutex)])[1] == "0",
                  "the mutex group changed since the start")
            late_tids = []
            for _ in range(2):  # one at a time: two SIGUSR1s at once are one
                os.kill(target.pid, signal.SIGUSR1)
                late_tids += target.wait_for("PARKED", 10)[0]["late"]
            late = len(late_tids)
            lines = pane.wait(lambda l: late_row(l, late) is not None,
                              f"a cond wait group of {late}, +{late}")
            pane.check_width(lines, "sorted by count")
            check("sort: count" in lines[1], f"the header says no sort: {lines[1]!r}")
            check(mutex_row(lines, mutex) < late_row(lines, late),
                  f"by count, the {mutex} mutex waiters before the {late} late ones:\n"
                  + "\n".join(lines))
            counts = [count_change(r)[0] for r in rows(lines)]
            check(counts == sorted(counts, reverse=True), f"by count: {counts}")

            pane.keys("g")
            lines = pane.wait(lambda l: "sort: growth" in l[1] and late_row(l, late) == 0,
                              "the late group first by growth")
            pane.check_width(lines, "sorted by growth")

            pane.keys("a")
            lines = pane.wait(lambda l: "sort: age" in l[1] and late_row(l, late) is not None
                              and mutex_row(l, mutex) < late_row(l, late),
                              "the mutex waiters (parked first) before the late ones by age")

            pane.keys("/", "mutex lock")
            pane.wait(lambda l: l[-1].startswith("/mutex lock"), "the prompt at the bottom")
            pane.keys("Enter")
            lines = pane.wait(lambda l: 'filter: "mutex lock"' in l[1] and rows(l) is not None
                              and len(rows(l)) == 1, "one row through the filter")
            check(count_change(rows(lines)[0])[0] == mutex, f"filtered: {rows(lines)}")
            pane.keys("Escape")
            pane.wait(lambda l: "filter" not in l[1] and late_row(l, late) is not None,
                      "every row back after Esc")

            pane.keys("?")
            lines = pane.wait(lambda l: any("sort by growth" in x for x in l), "the help")
            check(rows(lines) is None, "the help is shown with the table")
            pane.keys("x")
            pane.wait(lambda l: rows(l) is not None, "the table back after a key")

            pane.keys("q")
            poll(lambda: pane.dead() is not None, SCREEN_TIMEOUT, "parkwatch ending on q")
            check(pane.dead() == 0, f"q: exit status {pane.dead()}")
            left = [l for l in pane.last_screen() if l.strip()]
            check(left and left[0].startswith("parkwatch ") and "sort: age" in left[1],
                  f"q: no summary as the table was last sorted:\n" + "\n".join(left))
            check(len(left) < pane.height, f"q: a summary of {len(left)} lines")
            pane.check_width(left, "the summary")
            check(not any(str(tid) in l for l in left for tid in roles["mutex"] + late_tids),
                  "q: the full dump's threads were printed")


@test
def test_live_view_narrow_colour_final_dump():
    """At 40 columns no line is wider; a resize lays the table out again at
    once; deadlocked rows are red, and without a colour under NO_COLOR=1;
    --final-dump ends with the full dump."""
    with Target("locks", "abba") as target:
        record = target.wait_ready()
        tids = [t["tid"] for t in record["threads"]]
        deadlocked = lambda l: any("DEADLOCK" in x for x in l)
        # one picture in the time the test takes (with its stacks, so its
        # deadlock, from the start): what is redrawn, a resize did
        with Pane(["-p", target.pid, "--interval", "10m", "--min-park", "0"],
                  width=40) as pane:
            lines = pane.wait(deadlocked, "a DEADLOCK row")
            pane.check_width(lines, "40 columns")
            check(not any(HEADINGS in l and "WHERE" in l for l in lines),
                  "WHERE fits in 40 columns")
            red = [l for l in pane.screen(escapes=True) if "\x1b[31m" in l]
            check(any("DEADLOCK" in l for l in red), "no DEADLOCK row in red")
            pane.resize(100)
            lines = pane.wait(lambda l: any(HEADINGS in x and "WHERE" in x for x in l),
                              "the table laid out again for 100 columns", timeout=10)
            pane.check_width(lines, "100 columns")
        with Pane(["-p", target.pid, "--interval", "300ms", "--final-dump"],
                  no_color=True) as pane:
            pane.wait(deadlocked, "a DEADLOCK row")
            escaped = [l for l in pane.screen(escapes=True) if "\x1b" in l]
            check(not escaped, f"NO_COLOR=1: escape sequences in {escaped}")
            pane.keys("q")
            poll(lambda: pane.dead() is not None, SCREEN_TIMEOUT, "parkwatch ending on q")
            check(pane.dead() == 0, f"--final-dump: exit status {pane.dead()}")
            text = "\n".join(pane.last_screen())
            for tid in tids:
                check(str(tid) in text, f"--final-dump: thread {tid} is not in the dump")


@test
def test_live_view_goroutines():
    """A Go program's view counts goroutines, and says so in the header; the
    goroutines the target leaked make one row of as many, where they wait."""
    from test_go import GoTarget, ensure_built
    ensure_built()
    with GoTarget() as target:
        target.leak(7)
        with Pane(["-p", target.pid, "--interval", "300ms", "--min-park", "0"],
                  width=160) as pane:
            lines = pane.wait(lambda l: any(r.split()[0] == "7" and "main.awaitNotification" in r
                                            for r in rows(l) or []),
                              "a row of the 7 leaked goroutines")
            check(" goroutines in 1 process:" in lines[0] and "threads" not in lines[0],
                  f"the header of a Go program's view: {lines[0]!r}")
