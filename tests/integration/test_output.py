# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""-o FILE as a shell's `>` would write it: device nodes, FIFOs and
symlinks are written through (never replaced), modes follow the umask or
the replaced file, a full disk says so, and no signal leaves a temporary
file behind or a partial file under the name.

Device nodes are made with mknod in a private directory first (the system's
/dev/null and /dev/stdout are only tried once the private node survives)."""

import json
import os
import random
import select
import signal
import stat
import subprocess
import tempfile

from pwtest import PARKWATCH, Fail, check, docs, now
from pwtest.parkwatch import bpf_failure, need_parkwatch, one_stderr_line, pw_error, run_pw
from pwtest.procs import Target, spawn, stop
from pwtest.runner import test

NULL_DEV = os.makedev(1, 3)
FULL_DEV = os.makedev(1, 7)


def dump_to(path, pid, extra=(), preexec=None):
    return run_pw(["-p", pid, "--dump", "--format", "json", "--min-park", "0", "-o", path]
                  + list(extra), timeout=60, preexec=preexec)


def expect_ok(res, what):
    check(res.rc == 0, f"{what}: {pw_error(res.rc, res.err)}")


def expect_char_device(path, rdev, what):
    st = os.lstat(path)
    check(stat.S_ISCHR(st.st_mode) and st.st_rdev == rdev,
          f"{what}: {path} is no longer the character device {os.major(rdev)}:"
          f"{os.minor(rdev)} (mode {st.st_mode:o})")


def no_temp_files(directory, what):
    left = [f for f in os.listdir(directory) if ".tmp." in f]
    check(not left, f"{what}: temporary files left in {directory}: {left}")


@test
def test_output_device_nodes():
    with tempfile.TemporaryDirectory(prefix="pw-out-") as d:
        node = os.path.join(d, "null")
        os.mknod(node, 0o666 | stat.S_IFCHR, NULL_DEV)
        res = dump_to(node, os.getpid())
        expect_ok(res, "-o a null device node")
        expect_char_device(node, NULL_DEV, "-o a null device node")
        link = os.path.join(d, "to-null")
        os.symlink(node, link)
        expect_ok(dump_to(link, os.getpid()), "-o a symlink to a device node")
        check(os.path.islink(link), "-o a symlink to a device node replaced the link")
        expect_char_device(node, NULL_DEV, "-o a symlink to a device node")
        check(sorted(os.listdir(d)) == ["null", "to-null"], f"files left: {os.listdir(d)}")
    # the private node survived: the system's may be tried
    expect_ok(dump_to("/dev/null", os.getpid()), "-o /dev/null")
    expect_char_device("/dev/null", NULL_DEV, "-o /dev/null")
    no_temp_files("/dev", "-o /dev/null")
    res = dump_to("/dev/stdout", os.getpid())
    expect_ok(res, "-o /dev/stdout")
    check(os.path.islink("/dev/stdout"), "-o /dev/stdout replaced the /dev/stdout link")
    no_temp_files("/dev", "-o /dev/stdout")
    doc = json.loads(res.out)
    check(docs.process(doc, os.getpid()), f"-o /dev/stdout: stdout has no picture of "
                                          f"pid {os.getpid()}: {res.out[:200]!r}")


@test
def test_output_fifo():
    with tempfile.TemporaryDirectory(prefix="pw-out-") as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        # no reader: one clear line at once, not a wait no signal ends
        res = dump_to(fifo, os.getpid())
        if res.rc != 1 and bpf_failure(res.rc, res.err):
            raise Fail(bpf_failure(res.rc, res.err))
        check(res.rc == 1, f"-o FIFO without a reader: exit {res.rc}, expected 1 "
                           f"(stderr {res.err.strip()[:200]!r})")
        line = one_stderr_line(res.err, "-o FIFO without a reader")
        check("reader" in line, f"-o FIFO without a reader: {line!r} does not say why")
        check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "-o FIFO replaced the FIFO")
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            pw = spawn([PARKWATCH, "-p", str(os.getpid()), "--dump", "--format", "json",
                        "-o", fifo], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
            # a FIFO's reader sees end-of-file only once a writer came and went;
            # before that, poll waits for data
            data = b""
            deadline = now() + 60
            poller = select.poll()
            poller.register(reader, select.POLLIN)
            while now() < deadline:
                if not poller.poll(max(1, int((deadline - now()) * 1000))):
                    continue
                chunk = os.read(reader, 65536)
                if not chunk:
                    break
                data += chunk
            try:
                _, err = pw.communicate(timeout=max(1, deadline - now()))
            except subprocess.TimeoutExpired:
                raise Fail("-o FIFO: parkwatch did not finish within 60 s") from None
        finally:
            stop(pw)
            os.close(reader)
        check(pw.returncode == 0, f"-o FIFO: {pw_error(pw.returncode, err.decode())}")
        doc = json.loads(data.decode())
        check(docs.process(doc, os.getpid()), "-o FIFO: the reader got no picture of our pid")
        check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "-o FIFO replaced the FIFO")
        check(os.listdir(d) == ["fifo"], f"files left: {os.listdir(d)}")


@test
def test_output_symlink_to_file():
    with tempfile.TemporaryDirectory(prefix="pw-out-") as d:
        os.mkdir(os.path.join(d, "real"))
        target = os.path.join(d, "real", "picture.json")
        with open(target, "w") as f:
            f.write("old")
        link = os.path.join(d, "picture.json")
        os.symlink("real/picture.json", link)
        expect_ok(dump_to(link, os.getpid()), "-o a symlink to a file")
        check(os.path.islink(link) and os.readlink(link) == "real/picture.json",
              "-o a symlink to a file replaced the link")
        with open(target) as f:
            doc = json.load(f)
        check(docs.process(doc, os.getpid()), "-o a symlink: the file it names has no picture")
        check(os.listdir(os.path.join(d, "real")) == ["picture.json"],
              f"files left: {os.listdir(os.path.join(d, 'real'))}")


@test
def test_output_modes():
    with tempfile.TemporaryDirectory(prefix="pw-out-") as d:
        new = os.path.join(d, "new.json")
        expect_ok(dump_to(new, os.getpid(), preexec=lambda: os.umask(0o027)), "-o, umask 027")
        mode = stat.S_IMODE(os.stat(new).st_mode)
        check(mode == 0o640, f"-o with umask 027 made mode {mode:o}, expected 640 "
                             "(0666 less the umask, as a shell's > would)")
        old = os.path.join(d, "old.json")
        with open(old, "w") as f:
            f.write("old")
        os.chmod(old, 0o600)
        os.chown(old, 4321, 4322)
        # owner and group can only be given away with CAP_CHOWN
        expect_ok(dump_to(old, os.getpid(), ["--keep-privileges"]), "-o an existing file")
        st = os.stat(old)
        check(stat.S_IMODE(st.st_mode) == 0o600,
              f"-o an existing 0600 file made it {stat.S_IMODE(st.st_mode):o}")
        check((st.st_uid, st.st_gid) == (4321, 4322),
              f"-o an existing file owned by 4321:4322 made it {st.st_uid}:{st.st_gid}")
        with open(old) as f:
            check(docs.process(json.load(f), os.getpid()), "-o an existing file: no picture")
        no_temp_files(d, "-o an existing file")


def expect_no_space(res, what):
    if res.rc != 1 and bpf_failure(res.rc, res.err):
        raise Fail(bpf_failure(res.rc, res.err))
    check(res.rc == 1, f"{what}: exit {res.rc}, expected 1 (stderr {res.err.strip()[:200]!r})")
    line = one_stderr_line(res.err, what)
    check(os.strerror(28) in line, f"{what}: {line!r} does not say {os.strerror(28)!r}")


@test
def test_output_no_space():
    with tempfile.TemporaryDirectory(prefix="pw-out-") as d:
        full = os.path.join(d, "full")
        os.mknod(full, 0o666 | stat.S_IFCHR, FULL_DEV)
        expect_no_space(dump_to(full, os.getpid()), "-o a full device node")
        expect_char_device(full, FULL_DEV, "-o a full device node")
        small = os.path.join(d, "small")
        os.mkdir(small)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small], check=True,
                       timeout=30)
        try:
            # 300 threads' stacks are far more than 64 KiB of JSON
            with Target("condwait", 300) as t:
                t.wait_ready()
                path = os.path.join(small, "picture.json")
                expect_no_space(dump_to(path, t.pid), "-o on a full filesystem")
            check(os.listdir(small) == [], f"-o on a full filesystem left {os.listdir(small)}")
        finally:
            subprocess.run(["umount", small], timeout=30)


@test
def test_output_signals():
    """SIGTERM, SIGINT or SIGKILL at random moments of runs that write a
    large picture over an old file: each time the file is the old one or a
    complete picture (whole, or cut short where the stop came) with the old
    file's mode, and no temporary file is left.  Bounded: 40 runs or 60 s."""
    need_parkwatch()
    with Target("condwait", 1000) as t, tempfile.TemporaryDirectory(prefix="pw-out-") as d:
        t.wait_ready()
        path = os.path.join(d, "picture.json")
        old = b"the old file\n"
        args = [PARKWATCH, "-p", str(t.pid), "--dump", "--format", "json", "--min-park", "0",
                "-o", path]
        t0 = now()
        expect_ok(dump_to(path, t.pid), "an unsignalled run")
        full_run = now() - t0
        rng = random.Random()
        seen = {"old": 0, "complete": 0}
        deadline = now() + 60
        for run in range(40):
            if now() > deadline:
                break
            with open(path, "wb") as f:
                f.write(old)
            os.chmod(path, 0o640)
            sig = rng.choice([signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGKILL])
            delay = rng.uniform(0, full_run * 1.2)
            pw = spawn(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
            try:
                try:
                    pw.wait(timeout=delay)  # the random moment, or the run ended first
                except subprocess.TimeoutExpired:
                    pw.send_signal(sig)
                pw.wait(timeout=60)
            except subprocess.TimeoutExpired:
                raise Fail(f"run {run}: parkwatch did not end within 60 s of {sig.name}") from None
            finally:
                stop(pw)
            what = f"run {run}, {sig.name} after {delay:.3f} s"
            no_temp_files(d, what)
            check(os.listdir(d) == ["picture.json"], f"{what}: files {os.listdir(d)}")
            with open(path, "rb") as f:
                data = f.read()
            if data == old:
                seen["old"] += 1
                continue
            try:
                doc = json.loads(data)
            except ValueError:
                raise Fail(f"{what}: {path} is neither the old file nor a complete picture "
                           f"({len(data)} bytes, ending {data[-60:]!r})") from None
            # a stop while the picture was taken ends it there, and it says so
            if doc.get("cut_short") != "stopped":
                check(docs.parked_total(doc) >= 1000, f"{what}: the picture has "
                                                      f"{docs.parked_total(doc)} parked threads")
            mode = stat.S_IMODE(os.stat(path).st_mode)
            check(mode == 0o640, f"{what}: the replaced file has mode {mode:o}, not 640")
            seen["complete"] += 1
        check(seen["old"] and seen["complete"], f"the signals never landed before and after "
                                                f"the write: {seen}")
