# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Who holds it: the owners of glibc locks and the findings of the wait-for
graph, against two truths parkwatch does not compute: the record
tests/targets/locks.c prints of which thread took which lock, and gdb
reading glibc's own structure in each waiter's lock frame (libc6-dbg).
Then healthy locking (tests/targets/hammer.c) watched for a minute: no
deadlock, self-deadlock or abandoned lock, ever."""

import os
import re
import subprocess

from pwtest import Fail, check, now
from pwtest import docs
from pwtest.oracles import gdb, proc
from pwtest.parkwatch import Live, parse_output, pw_error, run_pw
from pwtest.procs import Target
from pwtest.runner import test

STUCK_EXIT = 8              # --dump found a deadlock, self-deadlock or abandoned lock
STUCK = ("deadlock", "self-deadlock", "abandoned lock")
STUCK_HEADERS = {"deadlock": "DEADLOCK:", "self-deadlock": "SELF-DEADLOCK:",
                 "abandoned lock": "ABANDONED LOCK:"}
WATCH = "60s"               # the healthy targets are watched this long
DOC_GAP_S = 10.0            # the longest a live run may go without a document


class Record:
    """What tests/targets/locks.c says it did: its READY line."""

    def __init__(self, ready):
        self.scenario = ready["scenario"]
        self.pid = ready["pid"]
        self.locks = {lock["name"]: lock for lock in ready["locks"]}
        self.threads = ready["threads"]
        self.holder = {th["holds"]: th for th in self.threads if th["holds"]}

    def lock(self, thread):
        return self.locks[thread["waits"]]

    def addr(self, name):
        return int(self.locks[name]["addr"], 16)

    def owner(self, thread):
        """The thread holding what THREAD waits for."""
        return self.holder[thread["waits"]]

    def waiters(self):
        return [th for th in self.threads if th["waits"]]

    def pids(self):
        return sorted({self.pid} | {th["pid"] for th in self.threads if not th["exited"]})


def dump(pids, fmt):
    """parkwatch -p PID... --dump --format FMT --min-park 0, any exit status:
    its PwResult, Fail on a status that is neither 0 nor STUCK_EXIT."""
    args = []
    for pid in pids:
        args += ["-p", pid]
    res = run_pw(args + ["--dump", "--format", fmt, "--min-park", "0"])
    check(res.rc in (0, STUCK_EXIT), pw_error(res.rc, res.err))
    return res


# ------------------------------------------------------------ per waiter

def gdb_errors(rec, owners):
    """gdb's reading of each waiter's lock frame against the record: both
    truths agree before parkwatch is compared with them."""
    errors = []
    for th in rec.waiters():
        got = owners.get(th["tid"])
        want = (rec.lock(th)["kind"], rec.addr(th["waits"]), rec.owner(th)["tid"])
        if got is None:
            errors.append(f"gdb: {th['role']} {th['tid']} is in no lock call")
        elif (got.kind, got.addr, got.owner) != want:
            errors.append(f"gdb: {th['role']} {th['tid']}: {got.kind} {got.addr:#x} owner "
                          f"{got.owner} ({got.function}), the record says {want[0]} "
                          f"{want[1]:#x} owner {want[2]}")
    return errors


def blocked_on_errors(rec, threads):
    """Every waiter's blocked_on against the record (whose agreement with
    gdb gdb_errors checks)."""
    errors = []
    for th in rec.waiters():
        unit = threads.get(th["tid"])
        label = f"{th['role']} {th['tid']}"
        if unit is None:
            errors.append(f"{label}: not in the picture")
            continue
        on = unit.get("blocked_on") or {}
        lock, owner = rec.lock(th), rec.owner(th)
        want = {"kind": lock["kind"], "addr": hex(rec.addr(lock["name"])),
                "symbol": lock["name"] if lock["static"] else None,
                "owner_tid": owner["tid"], "owner_pid": owner["pid"],
                "owner_dead": owner["exited"], "owner_unknown": False, "never_wakes": False}
        got = {key: on.get(key) for key in want}
        if isinstance(got["addr"], str):
            got["addr"] = hex(int(got["addr"], 16))
        if not unit.get("parked") or got != want:
            diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
            errors.append(f"{label}: blocked_on (got, want) {diff}, parked {unit.get('parked')}"
                          f" (the lock's mapping: {lock['mapping']})")
    return errors


def holder_errors(rec, threads):
    """The holders that wait for no lock: parked where the record says,
    waiting for nobody."""
    errors = []
    for th in rec.threads:
        if th["waits"] or th["exited"]:
            continue
        unit = threads.get(th["tid"])
        label = f"{th['role']} {th['tid']}"
        if unit is None:
            errors.append(f"{label}: not in the picture")
            continue
        on = unit.get("blocked_on") or {}
        if not unit.get("parked") or "owner_tid" in on:
            errors.append(f"{label}: parked {unit.get('parked')}, blocked_on {on}")
        if th["parks"] != "read":
            continue
        if unit.get("reason") != "IO wait (pipe)":
            errors.append(f"{label}: in read(2) of a pipe, reason {unit.get('reason')!r}")
        inode = os.readlink(f"/proc/{th['pid']}/fd/{th['fd']}")  # "pipe:[81234]"
        fd = on.get("fd") or {}
        if (on.get("kind"), fd.get("fd"), fd.get("type")) != ("fd", th["fd"], "pipe") \
                or inode.split(":", 1)[1] not in (fd.get("text") or ""):
            errors.append(f"{label}: in read(2) of fd {th['fd']} ({inode}), blocked_on {on}")
    return errors


# ------------------------------------------------------------ findings

def cycle_errors(rec, cycle):
    """CYCLE (tids) in cycle order: each waits for what the next holds."""
    by_tid = {th["tid"]: th for th in rec.threads}
    for i, tid in enumerate(cycle):
        th = by_tid.get(tid)
        nxt = cycle[(i + 1) % len(cycle)]
        if th is None or not th["waits"] or rec.owner(th)["tid"] != nxt:
            return [f"cycle {cycle}: {tid} does not wait for a lock {nxt} holds"]
    return []


def expected_findings(rec):
    """[(kind, pid, addr, owner_tid, tids as a set, head or None)], the
    findings the record implies; the cycle's order is checked apart."""
    cycle = [th for th in rec.threads if th["holds"] and th["waits"]]
    if len(cycle) == 1:
        th = cycle[0]
        return [("self-deadlock", rec.pid, rec.addr(th["waits"]), None, {th["tid"]}, None)]
    if cycle:
        return [("deadlock", rec.pid, None, None, {th["tid"] for th in cycle}, None)]
    gone = [th for th in rec.threads if th["exited"]]
    if gone:
        lock = gone[0]["holds"]
        return [("abandoned lock", rec.pid, rec.addr(lock), gone[0]["tid"],
                 {th["tid"] for th in rec.waiters()}, None)]
    (head,) = [th for th in rec.threads if th["holds"]]
    return [("convoy", head["pid"], rec.addr(head["holds"]), head["tid"],
             {head["tid"]} | {th["tid"] for th in rec.waiters()}, head["tid"])]


def finding_errors(rec, doc):
    errors = []
    got = doc.get("findings", [])
    want = expected_findings(rec)
    if len(got) != len(want):
        return [f"findings {got}, expected {len(want)}: {want}"]
    for f, (kind, pid, addr, owner_tid, tids, head) in zip(got, want):
        shown = f"{f.get('kind')} finding {f}"
        if f.get("kind") != kind or f.get("pid") != pid or set(f.get("tids", [])) != tids \
                or len(f.get("tids", [])) != len(tids):
            errors.append(f"{shown}: expected {kind} of pid {pid}, tids {sorted(tids)}")
        if addr is not None and int(f.get("addr", "0"), 16) != addr:
            errors.append(f"{shown}: expected addr {addr:#x}")
        if owner_tid is not None and f.get("owner_tid") != owner_tid:
            errors.append(f"{shown}: expected owner_tid {owner_tid}")
        if head is not None and f.get("tids", [None])[0] != head:
            errors.append(f"{shown}: the head {head} is not first")
        if kind == "deadlock" and f.get("tids"):
            errors += cycle_errors(rec, f["tids"])
            first = next(th for th in rec.threads if th["tid"] == f["tids"][0])
            if int(f.get("addr", "0"), 16) != rec.addr(first["waits"]):
                errors.append(f"{shown}: addr is not what {first['tid']} waits for")
    cycles = [sorted(t) for k, _, _, _, t, _ in want if k in ("deadlock", "self-deadlock")]
    if sorted(sorted(c) for c in doc.get("deadlocks", [])) != sorted(cycles):
        errors.append(f"deadlocks {doc.get('deadlocks')}, expected the cycles {cycles}")
    return errors


def group_errors(rec, doc):
    """Each group's flags and distinct objects against the record: deadlocked
    when a member is in the cycle (a group with a waiter on an abandoned lock
    is not judged: the contract names deadlocks only), convoy when a member
    is in the convoy, and as many objects as the locks its members wait for
    when they all wait for one."""
    kind, _, _, _, tids, _ = expected_findings(rec)[0]
    by_tid = {th["tid"]: th for th in rec.threads}
    errors = []
    for group in docs.groups(doc):
        ids = set(group["ids"])
        label = f"group {sorted(ids)[:4]}{'...' if len(ids) > 4 else ''} ({group['reason']})"
        in_finding = bool(ids & tids)
        if kind != "abandoned lock" or not in_finding:
            want = in_finding and kind in ("deadlock", "self-deadlock")
            if group.get("deadlocked") != want:
                errors.append(f"{label}: deadlocked {group.get('deadlocked')}, expected {want}")
        want = in_finding and kind == "convoy"
        if group.get("convoy") != want:
            errors.append(f"{label}: convoy {group.get('convoy')}, expected {want}")
        if all(by_tid.get(i, {}).get("waits") for i in ids):
            locks = {by_tid[i]["waits"] for i in ids}
            if group.get("objects") != len(locks):
                errors.append(f"{label}: {group.get('objects')} objects, its members wait "
                              f"for {sorted(locks)}")
    return errors


# ------------------------------------------------------------ the text dump

def owner_words(rec, th):
    owner = rec.owner(th)
    if owner["exited"]:
        return f"held by thread {owner['tid']}, which has exited"
    words = f'held by thread {owner["tid"]} "{owner["role"]}"'
    if owner["pid"] != th["pid"]:
        words += f" in process {owner['pid']} ("
    return words


def text_errors(rec, text):
    """The line under each waiter's header, and the blocks the dump opens
    with (above the first process)."""
    errors = []
    lines = text.splitlines()
    for th in rec.waiters():
        lock = rec.lock(th)
        header = f'thread {th["tid"]} "{th["role"]}" ['
        at = [i for i, line in enumerate(lines) if line.startswith(header)]
        under = lines[at[-1] + 1] if at and at[-1] + 1 < len(lines) else None
        want = f"\twaiting for {lock['kind']} {lock['addr']}" + \
            (f" <{lock['name']}>" if lock["static"] else "") + f" {owner_words(rec, th)}"
        if under is None or not under.startswith(want):
            errors.append(f"text: under {header!r}: {under!r}, expected {want!r}...")
    first_process = next((i for i, line in enumerate(lines) if re.match(r"^process \d+ \(", line)),
                         len(lines))
    top = lines[:first_process]
    (kind, _, _, _, tids, head) = expected_findings(rec)[0]
    headers = [line for line in top if line.startswith(tuple(STUCK_HEADERS.values()))]
    if kind in STUCK:
        if len(headers) != 1 or not headers[0].startswith(STUCK_HEADERS[kind]):
            errors.append(f"text: finding headers {headers}, expected one {STUCK_HEADERS[kind]}")
        listed = {int(m.group(1)) for line in top
                  for m in [re.match(r'^thread (\d+) ".*" waits for ', line)] if m}
        if listed != tids:
            errors.append(f"text: the block lists threads {sorted(listed)}, expected {sorted(tids)}")
    else:
        convoy = [line for line in top if line.startswith("CONVOY:")]
        head_th = next(th for th in rec.threads if th["tid"] == head)
        want = f'CONVOY: {len(tids) - 1} threads wait behind thread {head} "{head_th["role"]}"'
        if headers or len(convoy) != 1 or not convoy[0].startswith(want):
            errors.append(f"text: findings {headers + convoy}, expected one {want!r}...")
    return errors


# ------------------------------------------------------------ the scenarios

def check_scenario(scenario, also=None):
    """Runs the scenario; one --dump in JSON and one in text (each its own
    confirmation of the findings), then gdb: everything compared.  ALSO(rec)
    returns more errors, read while the target still runs."""
    with Target("locks", scenario) as t:
        rec = Record(t.wait_ready())
        for th in rec.threads:
            if th["exited"]:
                check(not os.path.exists(f"/proc/{th['pid']}/task/{th['tid']}"),
                      f"{th['role']} {th['tid']} exited, yet /proc still shows it")
        res = dump(rec.pids(), "json")
        doc = parse_output(res.out, "parkwatch --dump --format json", docs.PICTURE)
        text_res = dump(rec.pids(), "text")
        owners = gdb.lock_owners(rec.pid)  # stops the target: after parkwatch's reading

        stuck = expected_findings(rec)[0][0] in STUCK
        want_rc = STUCK_EXIT if stuck else 0
        threads = docs.by_tid(doc)
        errors = [f"--dump --format {fmt} exit {rc}, expected {want_rc}"
                  for fmt, rc in (("json", res.rc), ("text", text_res.rc)) if rc != want_rc]
        errors += gdb_errors(rec, owners)
        blocked = blocked_on_errors(rec, threads)
        errors += blocked
        errors += holder_errors(rec, threads)
        errors += finding_errors(rec, doc)
        errors += group_errors(rec, doc)
        errors += text_errors(rec, text_res.out)
        errors += also(rec) if also else []
    waiters = rec.waiters()
    print(f"locks {scenario}: blocked_on as the record and gdb say for "
          f"{len(waiters) - len(blocked)}/{len(waiters)} waiters; "
          f"findings {[f['kind'] for f in doc.get('findings', [])]}; exit {res.rc}", flush=True)
    check(not errors, "; ".join(errors[:6]) + (f" (+{len(errors) - 6} more)"
                                               if len(errors) > 6 else ""))


@test
def test_locks_abba():
    """Two threads, each holding the lock the other waits for: one deadlock
    of both, in cycle order, exit 8."""
    check_scenario("abba")


@test
def test_locks_cycle3():
    """Three threads in a cycle, and a bystander waiting for a lock in it:
    the cycle is the three alone."""
    check_scenario("cycle3")


@test
def test_locks_self_deadlock():
    """A thread locking its default mutex twice: a self-deadlock of it
    alone (not of the thread waiting behind it)."""
    check_scenario("self")


@test
def test_locks_abandoned():
    """The holder exited holding the mutex: its waiters name the gone owner,
    one abandoned-lock finding."""
    check_scenario("abandoned")


@test
def test_locks_rwlock_writer():
    """A write-locked rwlock: readers and writers name the writer
    (__cur_writer); one convoy behind it."""
    check_scenario("rwlock")


@test
def test_locks_pi_mutex():
    """A PTHREAD_PRIO_INHERIT mutex: the waiters (in FUTEX_LOCK_PI) name
    its owner."""
    check_scenario("pi")


@test
def test_locks_pshared():
    """A process-shared mutex held by another process: the waiters name the
    owner and its process, whether parkwatch watches both processes (one
    convoy, headed in the other process) or the waiters' alone (no finding:
    its head is not in the picture)."""
    def waiters_alone(rec):
        res = dump([rec.pid], "json")
        doc = parse_output(res.out, "parkwatch --dump --format json (waiters alone)",
                           docs.PICTURE)
        errors = [f"waiters alone: {e}" for e in blocked_on_errors(rec, docs.by_tid(doc))]
        if res.rc != 0 or doc["findings"] or doc["deadlocks"]:
            errors.append(f"waiters alone: exit {res.rc}, findings {doc['findings']}, "
                          f"deadlocks {doc['deadlocks']}: expected none")
        return errors
    check_scenario("pshared", waiters_alone)


@test
def test_locks_held_across_read():
    """A mutex held across a blocking read of a pipe: the waiters name the
    reader, the reader is in IO (its fd a pipe, when fds are known)."""
    check_scenario("heldio")


@test
def test_locks_convoy():
    """50 threads behind a holder in nanosleep: one convoy, the sleeper its
    head with all 50 behind it."""
    check_scenario("convoy")


# ------------------------------------------------------------ healthy locking

def voluntary_switches(pid, tids):
    return {tid: int(proc.status(f"{pid}/task/{tid}")["voluntary_ctxt_switches"])
            for tid in tids}


@test
def test_locks_no_false_findings():
    """8 threads hammering one mutex (~1 us critical sections) and a
    producer/consumer pool, watched for a minute, a document every 500 ms:
    the documents keep coming, none holds a deadlock, self-deadlock or
    abandoned lock, while the hammer threads were seen waiting for the mutex
    with an owner (the graph had edges to confirm), the pool's threads on
    its condvar or mutex, and /proc shows the hammer threads and the
    consumers parking and waking all along."""
    with Target("hammer") as t:
        roles = t.wait_ready()
        hammers, consumers = roles["hammer"], roles["consumer"]
        pool = roles["producer"] + consumers
        hammer_lock, pool_lock = int(roles["hammer_lock"], 16), int(roles["pool_lock"], 16)
        before = voluntary_switches(t.pid, hammers + consumers)
        args = ["-p", t.pid, "--format", "json", "--interval", "500ms", "--duration", WATCH,
                # every parked thread with a stack, so every one has a blocked_on
                "--min-park", "0"]
        times, false_findings, owned_waits, waits, pool_waits = [], [], 0, 0, 0
        with Live(args, kind=docs.PICTURE) as live:
            t0 = now()
            while True:
                doc, t_doc = live.next_doc(now() + DOC_GAP_S)
                if doc is None:
                    break
                times.append(t_doc - t0)
                check("deadlocks" in doc and "findings" in doc,
                      f"document {len(times)} has no deadlocks/findings arrays")
                stuck = [f for f in doc["findings"] if f["kind"] in STUCK]
                if stuck or doc["deadlocks"]:
                    false_findings.append((len(times), stuck, doc["deadlocks"]))
                threads = docs.by_tid(doc)
                for tid in hammers:
                    on = threads.get(tid, {}).get("blocked_on") or {}
                    if on.get("kind") == "mutex" and int(on.get("addr", "0"), 16) == hammer_lock:
                        waits += 1
                        owned_waits += on.get("owner_tid") in hammers
                for tid in pool:
                    on = threads.get(tid, {}).get("blocked_on") or {}
                    pool_waits += on.get("kind") == "condvar" or (
                        on.get("kind") == "mutex" and int(on.get("addr", "0"), 16) == pool_lock)
            try:
                rc = live.proc.wait(timeout=DOC_GAP_S)
            except subprocess.TimeoutExpired:
                raise Fail("parkwatch did not exit after its --duration") from None
            check(rc == 0, pw_error(rc, live.stderr_text()))
        after = voluntary_switches(t.pid, hammers + consumers)
    parks = {tid: after[tid] - before[tid] for tid in before}
    gaps = [b - a for a, b in zip(times, times[1:])]
    print(f"healthy locking: {len(times)} documents over {times[-1] if times else 0:.1f} s "
          f"(longest gap {max(gaps, default=0):.2f} s); hammer threads seen waiting for the "
          f"mutex {waits} times, {owned_waits} with an owner; pool threads seen waiting "
          f"{pool_waits} times; parks per hammer thread "
          f"{min(parks[tid] for tid in hammers)}..{max(parks[tid] for tid in hammers)}, per "
          f"consumer {min(parks[tid] for tid in consumers)}..{max(parks[tid] for tid in consumers)}; "
          f"{len(false_findings)} documents with a stuck finding", flush=True)
    check(not false_findings, f"false findings (document, findings, deadlocks): "
                              f"{false_findings[:3]}")
    check(len(times) >= 60 and times[-1] - times[0] >= 50,
          f"{len(times)} documents over {times[-1] - times[0] if times else 0:.1f} s: "
          f"expected one every 500 ms for {WATCH}")
    check(all(parks[tid] >= 100 for tid in before),
          f"threads that hardly parked (voluntary switches): {parks}")
    check(owned_waits > 0, f"no hammer thread was ever seen waiting for hammer_lock with an "
                           f"owner ({waits} waits without): nothing was put to the test")
    check(pool_waits > 0, "no pool thread was ever seen waiting for its condvar or pool_lock")
