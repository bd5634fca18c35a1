# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""What a local process can do to parkwatch, and parkwatch must survive:

  * a shared library it has loaded truncated under parkwatch's feet (the
    file libdw maps): the daemon keeps serving, the lost pages counted;
  * a Go runtime that lies (allglen, allgs): one read stays within the
    time and memory budget, reported as cut short and counted, and
    /metrics stays fast meanwhile;
  * SIGINT and SIGTERM at random points of a slow picture: parkwatch ends
    within a second, with what it collected written out.

Every case is bounded in time.  `run.py --only hostile` runs just these.
"""

import os
import signal

from pwtest import TARGETS, check, now, poll
from pwtest.oracles.promtool import metric_sum, parse_metrics
from pwtest.parkwatch import Server, debug1_counts, debug1_total
from pwtest.procs import Target
from pwtest.runner import test

PICTURE_TIMEOUT = 30.0


def gave_up(server, reason):
    status, _, body = server.get("/metrics")
    check(status == 200, f"/metrics: status {status}")
    return metric_sum(parse_metrics(body.decode("utf-8", "replace")),
                      "parkwatch_gave_up_total", reason=reason)


@test
def test_hostile_truncated_library():
    """dlpark parks a thread in a library it copied to /tmp; the copy is cut
    to its loaded segments (section headers, symbols and debug info gone:
    the pages libdw maps) and the target then parks in it on a new stack,
    which parkwatch unwinds and names from the cut file."""
    lib = os.path.join(TARGETS, "lib", "parklib.so")
    check(os.access(lib, os.R_OK), f"{lib} is not built (run make targets)")
    with Target("dlpark", lib) as t:
        ready = t.wait_ready()
        copy = ready["copy"]
        try:
            with Server(["-p", t.pid, "--threads", "--interval", "100ms",
                         "--min-park", "0"]) as server:
                pid = str(t.pid)
                server.wait_picture(t.pid, lambda text: "parklib_wait_read" in text and
                                    debug1_counts(text).get((pid, "signal wait")) == 1,
                                    PICTURE_TIMEOUT)
                os.truncate(copy, ready["keep"])
                os.kill(t.pid, signal.SIGUSR1)
                # the main thread leaves sigwait for nanosleep inside the cut copy
                poll(lambda: open(f"/proc/{t.pid}/syscall").read().split()[0] == "230",
                     10.0, "dlpark's main thread in clock_nanosleep")
                # both threads with a stack: the new one unwound through the cut copy
                text = server.wait_picture(
                    t.pid, lambda text: debug1_total(text) == 2 and
                    (pid, "signal wait") not in debug1_counts(text) and
                    text.count("\n1 @ 0x") + text.startswith("1 @ 0x") == 2, PICTURE_TIMEOUT)
                check(t.proc.poll() is None, "dlpark died of its cut library")
                check(gave_up(server, "mapped_file_truncated") >= 1,
                      "parkwatch_gave_up_total{reason=\"mapped_file_truncated\"} is 0: the "
                      f"cut pages were never read (picture {text!r})")
                server.stop()
                check("gave up:" in server.stderr_text() and "truncated" in server.stderr_text(),
                      f"the exit summary does not name the truncated file: "
                      f"{server.stderr_text().strip()[-300:]!r}")
        finally:
            os.unlink(copy)
