# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Waits as the kernel keeps them: restarted waits after a SIGSTOP/SIGCONT
(task->restart_block, against the target's READY list and /proc), the
pthread waits the frames refine (barrier, rwlock read/write), and --dump's
stacks of threads parked under a second (against gdb)."""

import os
import signal
import subprocess

from pwtest import NS, Fail, check, now, poll
from pwtest import docs
from pwtest.oracles import gdb, proc
from pwtest.parkwatch import Live, parse_output, pw_error, run_pw
from pwtest.procs import Target, spawn, stop
from pwtest.runner import test

RESTART_SYSCALL = 219
STATE_DEADLINE_S = 5.0

# role of tests/targets/restarts.c: (reason, timeout, the syscall it sleeps
# in, whether the kernel resumes it through restart_syscall after a stop).
RESTARTS_EXPECT = {
    "poll_forever": ("poll", "none", 7, True),
    "poll_timed": ("poll", "finite", 7, True),
    "nanosleep_raw": ("sleep", "finite", 35, True),
    "nanosleep_libc": ("sleep", "finite", 230, True),
    "cond_wait": ("cond wait", "none", 202, False),
    "cond_timedwait": ("cond wait", "finite", 202, True),
    "barrier": ("barrier", "none", 202, False),
    "rwlock_read": ("rwlock read", "none", 202, False),
    "rwlock_write": ("rwlock write", "none", 202, False),
    "rwlock_timedread": ("rwlock read", "finite", 202, True),
    "rwlock_timedwrite": ("rwlock write", "finite", 202, True),
    "main": ("signal wait", "none", 34, False),
}
# what the BPF side alone decides, without a stack to refine it
KERNEL_REASON = {"cond wait": "futex", "barrier": "futex", "rwlock read": "futex",
                 "rwlock write": "futex"}


def dump(pid, *extra):
    """One --dump --format json of PID, with parkwatch's own default
    --min-park unless EXTRA gives one: {tid: unit}."""
    res = run_pw(["-p", pid, "--dump", "--format", "json"] + list(extra))
    check(res.rc == 0, pw_error(res.rc, res.err))
    return docs.by_tid(parse_output(res.out, "parkwatch --dump --format json", docs.PICTURE))


def syscall_name(nr):
    return "restart_syscall" if nr == RESTART_SYSCALL else proc.SYSCALL_NAMES.get(nr, f"#{nr}")


def compare_waits(label, threads, expect, kernel_only=False):
    """Mismatches of a dump against {tid: (role, reason, timeout, syscall nr)}."""
    errors = []
    for tid, (role, reason, timeout, nr) in expect.items():
        th = threads.get(tid)
        if th is None:
            errors.append(f"{label}: {role} tid {tid} absent")
            continue
        if kernel_only:
            reason = KERNEL_REASON.get(reason, reason)
        got = (th.get("parked"), th.get("reason"), th.get("timeout"), th.get("syscall"))
        want = (True, reason, timeout, syscall_name(nr))
        if got != want:
            errors.append(f"{label}: {role} tid {tid}: parked/reason/timeout/syscall {got}, "
                          f"expected {want}")
        if not kernel_only and not th.get("frames"):
            errors.append(f"{label}: {role} tid {tid}: no frames")
    return errors


def task_states(pid, tids):
    return {tid: proc.syscall(pid, tid) for tid in tids}


@test
def test_restarted_waits_keep_reason():
    """poll(-1), poll with a timeout, raw and libc nanosleep, cond waits,
    a barrier and rwlocks, dumped, stopped with SIGSTOP and continued: every
    thread has the reason and timeout it had before the stop, also those the
    kernel resumed in restart_syscall, and the stackless dump of the BPF side
    alone agrees."""
    with Target("restarts") as t:
        roles = t.wait_ready()
        check(set(RESTARTS_EXPECT) <= set(roles),
              f"READY roles {sorted(roles)} lack {sorted(set(RESTARTS_EXPECT) - set(roles))}")
        role_of = {}
        for role in RESTARTS_EXPECT:
            check(len(roles[role]) == 1, f"READY lists {len(roles[role])} tids for {role}")
            role_of[roles[role][0]] = role
        tids = sorted(role_of)

        # the target saw each of its threads in its syscall; main may still be on its way
        def asleep():
            seen = task_states(t.pid, tids)
            return seen if all(seen[tid] == ("S", RESTARTS_EXPECT[role_of[tid]][2])
                               for tid in tids) else None
        poll(asleep, STATE_DEADLINE_S, "every thread asleep in its syscall")
        before_expect = {tid: (role_of[tid],) + RESTARTS_EXPECT[role_of[tid]][:3] for tid in tids}
        before = dump(t.pid)
        errors = compare_waits("before the stop", before, before_expect)

        stop_and_continue(t.pid, tids)

        # back asleep: in restart_syscall where the kernel restarted the wait
        after_nr = {tid: RESTART_SYSCALL if RESTARTS_EXPECT[role_of[tid]][3]
                    else RESTARTS_EXPECT[role_of[tid]][2] for tid in tids}

        def resumed():
            seen = task_states(t.pid, tids)
            return all(seen[tid] == ("S", after_nr[tid]) for tid in tids)
        poll(resumed, STATE_DEADLINE_S,
             lambda: f"every thread back asleep, restarted where expected: /proc "
                     f"{ {role_of[tid]: s for tid, s in task_states(t.pid, tids).items()} }")
        after_expect = {tid: (role_of[tid],) + RESTARTS_EXPECT[role_of[tid]][:2] + (after_nr[tid],)
                        for tid in tids}
        after = dump(t.pid)
        errors += compare_waits("after the stop", after, after_expect)
        # the same from the BPF side alone: no stack copied, nothing to guess from
        stackless = dump(t.pid, "--min-park", "1h")
        errors += compare_waits("after the stop, no stacks", stackless, after_expect,
                                kernel_only=True)
        kept = sum(1 for tid in tids
                   if (after.get(tid, {}).get("reason"), after.get(tid, {}).get("timeout"))
                   == (before.get(tid, {}).get("reason"), before.get(tid, {}).get("timeout"))
                   == RESTARTS_EXPECT[role_of[tid]][:2])
        restarted = sum(1 for tid in tids if after_nr[tid] == RESTART_SYSCALL)
        print(f"restarted waits: {kept}/{len(tids)} threads kept reason and timeout "
              f"({restarted} in restart_syscall); {len(errors)} mismatches", flush=True)
        check(restarted >= 6, f"only {restarted} threads were resumed in restart_syscall")
        check(not errors, "; ".join(errors[:6]) + (f" (+{len(errors) - 6} more)"
                                                   if len(errors) > 6 else ""))


def stop_and_continue(pid, tids):
    """SIGSTOP PID, wait until /proc shows every one of TIDS stopped, SIGCONT."""
    os.kill(pid, signal.SIGSTOP)
    try:
        poll(lambda: all(task_states(pid, tids)[tid][0] == "T" for tid in tids),
             STATE_DEADLINE_S, "every thread stopped (T)")
    finally:
        os.kill(pid, signal.SIGCONT)


@test
def test_restarted_parks_counted_by_reason():
    """The sched_switch side: poll_short's poll (2 s), stopped and
    continued, sleeps on in restart_syscall; when that park ends it is
    counted by the wait it resumed, and no park of the process's is counted
    as other (an undecoded restart_syscall would be)."""
    with Target("restarts") as t:
        roles = t.wait_ready()
        tid = roles.get("poll_short", [None])[0]
        check(tid, "READY lacks role poll_short")
        tids = [tid for tids in roles.values() for tid in tids]
        with Live(["-p", t.pid, "--format", "json", "--interval", "500ms", "--duration", "60s"],
                  kind=docs.PICTURE) as live:
            live.first_doc()  # the programs are attached
            for attempt in range(3):
                # stop it just after it starts a poll, which has 2 s to run then
                switches = int(proc.status(f"{t.pid}/task/{tid}")["voluntary_ctxt_switches"])
                poll(lambda: int(proc.status(f"{t.pid}/task/{tid}")["voluntary_ctxt_switches"])
                     > switches and task_states(t.pid, [tid])[tid] == ("S", 7),
                     STATE_DEADLINE_S, "poll_short asleep in a new poll")
                stop_and_continue(t.pid, tids)
                # the restarted park begins (unless the stop outlasted the poll:
                # then again), then ends when the poll times out
                try:
                    poll(lambda: task_states(t.pid, [tid])[tid][1] == RESTART_SYSCALL, 1.0,
                         "poll_short in restart_syscall after SIGCONT")
                    break
                except Fail:
                    check(attempt < 2, "poll_short was never seen in restart_syscall in 3 stops")
            poll(lambda: task_states(t.pid, [tid])[tid][1] == 7, STATE_DEADLINE_S,
                 "poll_short back in poll after its restarted wait")
            t_ended = now()
            totals = {}

            def counted():
                doc, t_doc = live.next_doc(now() + 5)
                check(doc is not None, "parkwatch ended early")
                totals.clear()
                totals.update({e["reason"]: e["count"] for e in doc.get("park_totals", [])
                               if e["pid"] == t.pid})
                # a picture taken after the park ended, and the stop in it
                return t_doc > t_ended + 0.6 and totals.get("stopped", 0) > 0
            poll(counted, 10, lambda: f"park totals with the stop in them: {totals}")
        print(f"restarted park totals: {totals}", flush=True)
        check(totals.get("poll", 0) > 0, f"no poll park counted: {totals}")
        check(not totals.get("other"), f"{totals.get('other')} parks counted as other "
                                       f"(an undecoded restart_syscall): {totals}")


def short_park_agreement(label, pid, must_tids, attempts=5):
    """--dump (no --min-park) of PID: every thread parked under a second has
    a stack, and those of MUST_TIDS are compared with gdb's.  A thread that
    woke between the dump and gdb's stop is tried again, up to ATTEMPTS
    times.  Returns how many of MUST_TIDS matched."""
    pending, problems = set(must_tids), []
    for _ in range(attempts):
        threads = dump(pid)
        short = {tid: th for tid, th in threads.items()
                 if th.get("pid") == pid and th.get("parked") and th.get("park_ns", NS) < NS}
        bare = [f"{tid} ({th.get('reason')}, {th.get('park_ns')} ns)"
                for tid, th in short.items() if not th.get("frames")]
        check(not bare, f"{label}: threads parked under 1 s without a stack: {bare}")
        stacks, _ = gdb.exact_backtraces(pid)
        problems = []
        for tid in sorted(pending & set(short)):
            frames = short[tid].get("frames")
            ok, why = gdb.compare_exact(frames, stacks.get(tid, []))
            if ok:
                pending.discard(tid)
            else:
                problems.append(f"tid {tid}: {why}")
        if not pending:
            break
    matched = len(must_tids) - len(pending)
    print(f"short parks {label}: {matched}/{len(must_tids)} threads parked under 1 s "
          f"match gdb", flush=True)
    check(not pending, f"{label}: threads {sorted(pending)} never parked under 1 s with gdb's "
                       f"frames in {attempts} dumps: " + "; ".join(problems[:3]))
    return matched


@test
def test_dump_short_parks_have_stacks():
    """--dump without --min-park: the ticker of mixed, which sleeps 200 ms at
    a time, has its stack, frame for frame gdb's."""
    with Target("mixed") as t:
        roles = t.wait_ready()
        check(roles.get("ticker"), "READY lacks role ticker")
        short_park_agreement("mixed", t.pid, roles["ticker"])


@test
def test_dump_short_parks_redis():
    """--dump without --min-park: redis-server's main thread, in epoll_wait
    for at most 100 ms at a time, has its stack, frame for frame gdb's."""
    sock_path = f"/tmp/pw-waits-redis-{os.getpid()}.sock"
    redis = None
    try:
        try:
            redis = spawn(["redis-server", "--port", "0", "--unixsocket", sock_path,
                           "--save", "", "--appendonly", "no"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            raise Fail("redis-server is not installed") from None

        def listening():
            check(redis.poll() is None, f"redis-server exited ({redis.returncode})")
            return os.path.exists(sock_path)
        poll(listening, 15, "redis-server did not create its socket")
        short_park_agreement("redis-server", redis.pid, [redis.pid])
    finally:
        stop(redis)
        try:
            os.unlink(sock_path)
        except OSError:
            pass
