# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""What IO waits wait on: tests/targets/fdwait.c parks a thread in accept on
a TCP listener, read on a TCP connection, recv on a UNIX socketpair, read
and write on pipes, read on an eventfd and on a FIFO, epoll_wait, and poll
on the read end of a pipe, each other end held by a child process of its
own.  parkwatch's "fd" of each
(JSON and the text dump's line) against `ss -tanpe` / `ss -xpe` (ends,
state, inodes, and the process holding the other end) and /proc (link
targets, epoll's fdinfo), the peers against the target's own record."""

import os
import re
import stat
import shutil
import subprocess

from pwtest import Fail, check
from pwtest import docs
from pwtest.parkwatch import dump_json, dump_text
from pwtest.procs import Target
from pwtest.runner import test

SS_TIMEOUT_S = 20
SS_HOLDER = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)')
SS_INODE = re.compile(r"\bino:(\d+)")
# ss's state names where they differ from the kernel's (tcp_states.h)
SS_STATES = {"ESTAB": "ESTABLISHED", "UNCONN": "CLOSE", "SYN-SENT": "SYN_SENT",
             "SYN-RECV": "SYN_RECV", "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2",
             "TIME-WAIT": "TIME_WAIT", "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK"}
ROLES = ("accept", "tcp_read", "unix_recv", "pipe_read", "pipe_write", "eventfd_read",
         "fifo_read", "epoll", "poll")
TEXT_WAIT = re.compile(r"^\twaiting on fd (\d+): (.*?)( \(idle: listening socket\))?"
                       r"(?:, other end held by process (\d+) \((.*)\))?$")


def ss(args):
    try:
        res = subprocess.run(["ss", "-H"] + args, capture_output=True, text=True,
                             timeout=SS_TIMEOUT_S)
    except FileNotFoundError:
        raise Fail("ss is not installed (make deps installs iproute2)") from None
    check(res.returncode == 0, f"ss {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout.splitlines()


def holders(line):
    return [(int(pid), int(fd)) for _, pid, fd in SS_HOLDER.findall(line)]


def ss_tcp():
    """`ss -tanpe`: [{state, local, peer, holders, inode}]."""
    socks = []
    for line in ss(["-tanpe"]):
        fields = line.split()
        inode = SS_INODE.search(line)
        socks.append({"state": SS_STATES.get(fields[0], fields[0]), "local": fields[3],
                      "peer": fields[4], "holders": holders(line),
                      "inode": int(inode.group(1)) if inode else None})
    return socks


def ss_unix():
    """`ss -xpe`: [{inode, peer_inode, path, holders}]."""
    socks = []
    for line in ss(["-xpe"]):
        fields = line.split()
        if len(fields) < 8 or not fields[5].isdigit() or not fields[7].isdigit():
            continue
        socks.append({"inode": int(fields[5]), "peer_inode": int(fields[7]),
                      "path": "" if fields[4] == "*" else fields[4], "holders": holders(line)})
    return socks


def held_by(socks, pid, fd, what):
    found = [s for s in socks if (pid, fd) in s["holders"]]
    check(len(found) == 1, f"ss lists {len(found)} sockets held by {pid} fd {fd} ({what})")
    return found[0]


def other_holder(socks, match, pid, what):
    """The one process other than PID that ss says holds the socket MATCH picks."""
    pids = {p for s in socks if match(s) for p, _ in s["holders"] if p != pid}
    check(len(pids) == 1, f"ss: {what}: other end held by {sorted(pids)}")
    return pids.pop()


def fd_link(pid, fd):
    return os.readlink(f"/proc/{pid}/fd/{fd}")


def expected(pid, record):
    """{role: (fd, type, text, listening, peer_pid)} from ss, /proc and the
    target's record, none of it from parkwatch."""
    tcp, unix = ss_tcp(), ss_unix()
    want = {}

    rec = record["accept"]
    sock = held_by(tcp, pid, rec["fd"], "accept")
    check(sock["state"] == "LISTEN" and sock["local"] == f"127.0.0.1:{rec['port']}",
          f"ss says the accept socket is {sock}, the target {rec}")
    check(sock["inode"] and fd_link(pid, rec["fd"]) == f"socket:[{sock['inode']}]",
          f"ss's inode {sock['inode']} is not /proc's {fd_link(pid, rec['fd'])}")
    want["accept"] = (rec["fd"], "tcp", f"TCP {sock['local']} LISTEN", True, None)

    rec = record["tcp_read"]
    sock = held_by(tcp, pid, rec["fd"], "tcp_read")
    check(sock["local"] == f"127.0.0.1:{rec['local_port']}"
          and sock["peer"] == f"127.0.0.1:{rec['remote_port']}",
          f"ss says the connection is {sock}, the target {rec}")
    peer = other_holder(tcp, lambda s: s["local"] == sock["peer"] and s["peer"] == sock["local"],
                        pid, "tcp_read")
    check(peer == rec["peer_pid"], f"ss: client end held by {peer}, the target says "
          f"{rec['peer_pid']}")
    want["tcp_read"] = (rec["fd"], "tcp", f"TCP {sock['local']} -> {sock['peer']} "
                        f"{sock['state']}", False, peer)

    rec = record["unix_recv"]
    sock = held_by(unix, pid, rec["fd"], "unix_recv")
    peer = other_holder(unix, lambda s: s["inode"] == sock["peer_inode"], pid, "unix_recv")
    check(peer == rec["peer_pid"], f"ss: UNIX peer held by {peer}, the target says "
          f"{rec['peer_pid']}")
    want["unix_recv"] = (rec["fd"], "unix", f"UNIX socket:[{sock['inode']}] -> "
                         f"socket:[{sock['peer_inode']}]", False, peer)

    for role in ("pipe_read", "pipe_write", "poll"):
        rec = record[role]
        link = fd_link(pid, rec["fd"])
        check(link.startswith("pipe:["), f"{role}: /proc says fd {rec['fd']} is {link}")
        want[role] = (rec["fd"], "pipe", link, False, rec["peer_pid"])

    rec = record["eventfd_read"]
    check(fd_link(pid, rec["fd"]) == "anon_inode:[eventfd]",
          f"eventfd_read: /proc says {fd_link(pid, rec['fd'])}")
    want["eventfd_read"] = (rec["fd"], "eventfd", "eventfd", False, None)

    rec = record["fifo_read"]
    check(fd_link(pid, rec["fd"]) == rec["path"]
          and stat.S_ISFIFO(os.stat(f"/proc/{pid}/fd/{rec['fd']}").st_mode),
          f"fifo_read: /proc says {fd_link(pid, rec['fd'])}, not the FIFO {rec['path']}")
    want["fifo_read"] = (rec["fd"], "fifo", rec["path"], False, rec["peer_pid"])

    rec = record["epoll"]
    with open(f"/proc/{pid}/fdinfo/{rec['fd']}") as f:
        watched = sum(line.startswith("tfd:") for line in f)
    check(watched == rec["watched"], f"epoll: fdinfo has {watched} tfd lines, the target "
          f"added {rec['watched']}")
    want["epoll"] = (rec["fd"], "epoll", f"epoll watching {watched} fds", False, None)
    return want


def comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().rstrip("\n")


def compare(label, got, want, errors):
    if got != want:
        errors.append(f"{label}: parkwatch says {got}, expected {want}")


def text_waits(out):
    """{tid: (fd, text, listening, peer_pid)} of the text dump's fd lines."""
    waits, tid = {}, None
    for line in out.splitlines():
        header = re.match(r'^thread (\d+) "', line)
        if header:
            tid = int(header.group(1))
            continue
        wait = TEXT_WAIT.match(line)
        if wait and tid is not None:
            waits[tid] = (int(wait.group(1)), wait.group(2), bool(wait.group(3)),
                          int(wait.group(4)) if wait.group(4) else None)
    return waits


@test
def test_fd_waits():
    """Every IO waiter's fd, type, ends, state and peer process, in JSON and
    in the text dump; listening true for the accept thread alone."""
    with Target("fdwait") as target:
        record = target.wait_ready()
        try:
            want = expected(target.pid, record)
            doc, _ = dump_json([target.pid])
            text = dump_text(target.pid)
            # the children still hold their ends: the peers are alive, with names
            peer_comms = {role: comm(w[4]) for role, w in want.items() if w[4]}
        finally:
            shutil.rmtree(os.path.dirname(record["fifo_read"]["path"]), ignore_errors=True)
        threads = docs.by_tid(doc)
        waits = text_waits(text)
        errors = []
        for role in ROLES:
            tid = record[role]["tid"]
            fd, kind, fd_text, listening, peer = want[role]
            unit = threads.get(tid)
            if unit is None:
                errors.append(f"{role}: thread {tid} absent from the JSON dump")
                continue
            on = unit.get("blocked_on") or {}
            desc = on.get("fd") or {}
            compare(f"{role} (JSON)", (on.get("kind"), desc.get("fd"), desc.get("type"),
                                       desc.get("text"), desc.get("listening"),
                                       desc.get("peer_pid"), desc.get("peer_comm")),
                    ("fd", fd, kind, fd_text, listening, peer, peer_comms.get(role)), errors)
            compare(f"{role} (text)", waits.get(tid), (fd, fd_text, listening, peer), errors)
        # the main thread waits in pause(): on no fd
        main = threads.get(target.pid, {})
        check(main.get("parked") and "blocked_on" not in main,
              f"main thread: {main.get('reason')}, blocked_on {main.get('blocked_on')}")
        print(f"  fd waits: {len(ROLES)} waiters ({', '.join(ROLES)}); "
              f"{len(errors)} differ from ss, /proc and the record", flush=True)
        check(not errors, "; ".join(errors))
