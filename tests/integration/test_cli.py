# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The command line: -h, -p lists, --comm (by name, new processes picked up
while running), --leaks shorter than --leak-min-span, and every error line
starting with "parkwatch:"; and make deps installing without starting a
service."""

import os
import re
import secrets
import shutil
import subprocess
import tempfile

from pwtest import PARKWATCH, TARGETS, check, docs, now, poll
from pwtest.parkwatch import (Live, bpf_failure, dump_json, one_stderr_line, parse_output,
                              pw_error, quiet, run_pw)
from pwtest.procs import Target
from pwtest.runner import test

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def named_copy(tmp, prefix):
    """build/targets/condwait under a fresh name (its comm), in TMP."""
    path = os.path.join(tmp, f"{prefix}{secrets.token_hex(4)}")
    shutil.copy(os.path.join(TARGETS, "condwait"), path)
    return path


def proc_comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().rstrip("\n")
    except OSError:
        return None


def named_now(name):
    """The oracle: pids whose /proc/PID/comm is NAME now."""
    return {int(p) for p in os.listdir("/proc") if p.isdigit() and proc_comm(p) == name}


def pids_in(doc):
    return {p["pid"] for p in docs.processes(doc)}


@test
def test_cli_comm_dump():
    """--dump --comm NAME holds exactly the processes /proc names NAME; none
    named so: exit 3 and one line."""
    with tempfile.TemporaryDirectory() as tmp:
        path = named_copy(tmp, "pwc")
        name = os.path.basename(path)
        decoy = named_copy(tmp, "pwd")
        with Target("condwait", 3, path=path) as a, Target("condwait", 3, path=path) as b, \
                Target("condwait", 3, path=decoy) as other:
            for t in (a, b, other):
                t.wait_ready()
            want = named_now(name)
            check(want == {a.pid, b.pid}, f"/proc names {name}: {want}, started {a.pid} {b.pid}")
            res = run_pw(["--comm", name, "--dump", "--format", "json", "--min-park", "0"])
            check(res.rc == 0, pw_error(res.rc, res.err))
            doc = parse_output(res.out, "--dump --comm", docs.PICTURE)
            check(pids_in(doc) == want, f"--comm {name}: processes {sorted(pids_in(doc))}, "
                                        f"/proc says {sorted(want)}")
        res = run_pw(["--comm", "pwnone" + secrets.token_hex(4), "--dump"])
        check(res.rc == 3, f"--comm of no process: exit {res.rc}, expected 3 ({res.err!r})")
        one_stderr_line(res.err, "--comm of no process")


@test
def test_cli_comm_picks_up_new():
    """A watch by name takes in a process that starts under the name while
    it runs, and never one of another name."""
    with tempfile.TemporaryDirectory() as tmp:
        path = named_copy(tmp, "pwc")
        name = os.path.basename(path)
        decoy = named_copy(tmp, "pwd")
        with Target("condwait", 2, path=decoy) as other, \
                Live(["--comm", name, "--format", "json", "--interval", "200ms",
                      "--min-park", "0"], kind=docs.PICTURE) as live:
            other.wait_ready()
            doc, _ = live.first_doc(timeout=60)
            check(not pids_in(doc), f"no {name} yet, but the picture holds {pids_in(doc)}")
            with Target("condwait", 4, path=path) as late:
                tids = set(late.wait_ready()["cond"])
                deadline = now() + 20
                seen = set()
                while now() < deadline:
                    doc, _ = live.next_doc(deadline)
                    check(doc is not None, pw_error(live.proc.poll(), live.stderr_text()))
                    check(other.pid not in pids_in(doc),
                          f"{os.path.basename(decoy)} ({other.pid}) is in a --comm {name} picture")
                    seen = {u["id"] for u in docs.threads(doc) if u.get("pid") == late.pid}
                    if tids <= seen:
                        break
                check(tids <= seen, f"{name} ({late.pid}) started after parkwatch: its waiting "
                                    f"threads {sorted(tids)} never all in a picture "
                                    f"(last {sorted(seen)})")
            one_stderr_line(live.stderr_text(), "--comm before any process has the name")


@test
def test_cli_pid_list_and_h():
    """-p A,B watches both; a bad list is a usage error; -h is --help."""
    with Target("condwait", 2) as a, Target("condwait", 2) as b:
        a.wait_ready()
        b.wait_ready()
        doc, _ = dump_json([f"{a.pid},{b.pid}"])
        check(pids_in(doc) == {a.pid, b.pid}, f"-p {a.pid},{b.pid}: processes {pids_in(doc)}")
        for bad in (f"{a.pid},", f"{a.pid},,{b.pid}", f"{a.pid},x"):
            res = run_pw(["-p", bad, "--dump"], timeout=10)
            check(res.rc == 2, f"-p {bad!r}: exit {res.rc}, expected 2")
            one_stderr_line(res.err, f"-p {bad!r}")
    short, long_ = run_pw(["-h"], timeout=10), run_pw(["--help"], timeout=10)
    check(short.rc == 0 and short.out == long_.out and "--comm" in short.out,
          f"-h: exit {short.rc}, {len(short.out)} bytes, --help {len(long_.out)} bytes")


@test
def test_cli_leaks_shorter_than_min_span():
    """--leaks ending before a group could be a suspect is refused at once;
    before, it watched and printed an empty report with exit 0."""
    t0 = now()
    res = run_pw(["-p", os.getpid(), "--leaks", "--duration", "3s"], timeout=20)
    check(res.rc == 2, f"--leaks --duration 3s: exit {res.rc}, expected 2 ({res.err!r})")
    line = one_stderr_line(res.err, "--leaks --duration 3s")
    check("--leak-min-span" in line and res.out == "" and now() - t0 < 3,
          f"--leaks --duration 3s: {line!r}, stdout {res.out[:80]!r}, {now() - t0:.1f} s")


# Every way parkwatch can fail that a test can provoke without breaking the
# machine: (args, environment, expected exit).  Each must say so in lines
# that all start with "parkwatch:".
def error_cases(tmp, pid):
    long_name = "x" * 16
    return [
        (["-p", f"{pid},,1"], None, 2),
        (["--comm", long_name], None, 2),
        (["--comm", ""], None, 2),
        (["--bogus"], None, 2),
        (["-p", pid, "--leaks", "--duration", "1s"], None, 2),
        (["-p", pid, "--dump", "--user", "pw-no-such-user"], None, 2),
        (["-p", pid, "--dump", "--cgroup", tmp], None, 2),
        (["-p", pid, "--dump", "-o", os.path.join(tmp, "no", "dir", "x")], None, 1),
        (["-p", pid, "--dump"], {"PARKWATCH_EXITED_CAPACITY": "lots"}, 2),
        (["-p", 999999999, "--dump"], None, 3),
        (["--comm", "pwnone" + secrets.token_hex(4), "--dump"], None, 3),
        (["--http", "127.0.0.1:1", "--http-auth", os.path.join(tmp, "missing")], None, 2),
    ]


@test
def test_cli_error_lines_prefixed():
    with tempfile.TemporaryDirectory() as tmp:
        for args, env, want in error_cases(tmp, os.getpid()):
            what = " ".join(map(str, args)) + (f" with {env}" if env else "")
            cp = subprocess.run([PARKWATCH] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=60, text=True,
                                env=dict(os.environ, **env) if env else None)
            if cp.returncode != want and bpf_failure(cp.returncode, cp.stderr):
                check(False, bpf_failure(cp.returncode, cp.stderr))
            check(cp.returncode == want, f"{what}: exit {cp.returncode}, expected {want} "
                                         f"({cp.stderr.strip()[:200]!r})")
            lines = [l for l in cp.stderr.splitlines() if l.strip()]
            check(lines, f"{what}: exit {want} without a word on stderr")
            bad = [l for l in lines if not l.startswith("parkwatch: ")]
            check(not bad, f"{what}: stderr lines without the prefix: {bad[:3]}")


@test
def test_cli_error_lines_in_source():
    """Every literal parkwatch writes to stderr starts with "parkwatch: " (a
    progress line with "\\r" first): the paths no test can provoke too."""
    call = re.compile(r'(fprintf\(\s*stderr\s*,|fputs\(|perror\(|warnx?\(|errx?\()\s*"((?:[^"\\]|\\.)*)"'
                      r'(?:\s*,\s*stderr)?', re.S)
    bad = []
    for root, _, files in os.walk(os.path.join(REPO, "user")):
        for f in files:
            if not f.endswith(".c"):
                continue
            src = open(os.path.join(root, f)).read()
            for m in call.finditer(src):
                kind, text = m.group(1), m.group(2)
                if kind.startswith("fputs") and ", stderr" not in m.group(0):
                    continue
                if kind.startswith(("perror", "warn", "err")) or \
                        not re.match(r"(\\r)?parkwatch: ", text):
                    line = src.count("\n", 0, m.start()) + 1
                    bad.append(f"{os.path.relpath(os.path.join(root, f), REPO)}:{line}: {text[:50]}")
    check(not bad, f"stderr writes without 'parkwatch: ': {bad[:5]}")


@test
def test_cli_deps_no_service_start():
    """tools/deps.sh (make deps) installs under a policy-rc.d that denies
    every service start, and puts the machine's own back, on success and on
    failure.  apt-get and dpkg-query are stand-ins that ask the policy as
    invoke-rc.d does (exit 101: forbidden)."""
    policy = "/usr/sbin/policy-rc.d"
    before = open(policy, "rb").read() if os.path.exists(policy) else None
    with tempfile.TemporaryDirectory() as tmp:
        record = os.path.join(tmp, "asked")
        for name, body in (
                ("dpkg-query", "#!/bin/sh\nexit 1\n"),
                ("apt-get", f"#!/bin/sh\n[ \"$1\" = update ] && exit 0\n"
                            f"{policy} redis-server start; echo $? >>{record}\n"
                            f"{policy} prometheus start; echo $? >>{record}\n"
                            f"exit ${{PW_APT_RC:-0}}\n")):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(body)
            os.chmod(os.path.join(tmp, name), 0o755)
        for apt_rc, want in ((0, 0), (100, 1)):
            open(record, "w").close()
            cp = subprocess.run(["tools/deps.sh", "redis-server", "prometheus"], cwd=REPO,
                                capture_output=True, text=True, timeout=30,
                                env=dict(os.environ, PATH=f"{tmp}:{os.environ['PATH']}",
                                         PW_APT_RC=str(apt_rc)))
            asked = open(record).read().split()
            check(cp.returncode == want, f"deps.sh with apt-get exit {apt_rc}: exit "
                                         f"{cp.returncode} ({cp.stderr.strip()!r})")
            check(asked == ["101", "101"], f"policy-rc.d answered {asked} to service starts "
                                           "during the install, expected 101 (forbidden)")
            after = open(policy, "rb").read() if os.path.exists(policy) else None
            check(after == before, f"{policy} not put back after the install")
            check(not os.path.exists(policy + ".parkwatch-saved"), "the saved policy left over")


# What parkwatch needs, as README's Requirements list it (measured by leaving
# each out of the bounding set in turn).
DOCUMENTED_CAPS = ("cap_bpf", "cap_perfmon", "cap_sys_ptrace", "cap_dac_read_search",
                   "cap_setuid", "cap_setgid", "cap_setpcap")


def run_with_caps(keep, args):
    """parkwatch ARGS as root with only KEEP in its bounding set."""
    out = subprocess.run(["capsh", "--print"], capture_output=True, text=True, check=True).stdout
    every = re.search(r"^Bounding set =(.*)$", out, re.M).group(1).split(",")
    drop = ",".join(c for c in every if c and c not in keep)
    return subprocess.run(["capsh", f"--drop={drop}", "--", "-c", 'exec "$0" "$@"', PARKWATCH] +
                          [str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)


@test
def test_cli_documented_capabilities():
    """The documented capabilities are enough for a whole dump of another
    user's process (before, without CAP_CHECKPOINT_RESTORE the broker died
    and the stacks were lost), and each is needed: without it, exit 4 and
    one line naming it (before, a missing CAP_SYS_PTRACE gave exit 0 and a
    dump without stacks)."""
    condwait = os.path.join(TARGETS, "condwait")
    with Target("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", condwait, 3,
                path=shutil.which("setpriv")) as t:
        tids = set(t.wait_ready()["cond"])
        res = run_with_caps(DOCUMENTED_CAPS, ["-p", t.pid, "--dump", "--format", "json",
                                              "--min-park", "0"])
        check(res.returncode == 0, pw_error(res.returncode, res.stderr))
        doc = parse_output(res.stdout, "--dump with the documented capabilities", docs.PICTURE)
        stacked = {u["id"] for u in docs.threads(doc)
                   if "level_three" in " ".join(docs.fnames(u["frames"]))}
        check(stacked == tids and quiet(res.stderr),
              f"with {', '.join(DOCUMENTED_CAPS)}: threads in level_three {sorted(stacked)}, "
              f"the target's {sorted(tids)}; stderr {res.stderr.strip()[:200]!r}")
        for cap in DOCUMENTED_CAPS:
            res = run_with_caps([c for c in DOCUMENTED_CAPS if c != cap],
                                ["-p", t.pid, "--dump"])
            check(res.returncode == 4, f"without {cap}: exit {res.returncode}, expected 4 "
                                       f"({res.stderr.strip()[:200]!r})")
            line = one_stderr_line(res.stderr, f"without {cap}")
            named = line.split(" missing")[0]
            check(named.endswith(cap.upper()), f"without {cap}: {line!r} doesn't name it "
                                               "(alone) as missing")
