# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""What is shipped: make install and uninstall, the man page, bash
completion, the systemd unit, the Debian package and the static binary.

The oracles are the tools that consume them: man and mandoc for the page,
bash-completion for the completion, systemd-analyze for the unit, dpkg for
the package, readelf for a static binary, and for every installed or
packaged parkwatch a dump checked against the target's own READY record.
Each builds what it needs once with make (an up-to-date build is reused).
"""

import ctypes
import glob
import os
import re
import shutil
import subprocess
import tempfile

from pwtest import PARKWATCH, REPO, TARGETS, Fail, check, now, poll
from pwtest import docs, gotargets
from pwtest.parkwatch import basic, free_port, parse_output, pw_error, request
from pwtest.procs import LineReader, Target, spawn, stop
from pwtest.runner import test

MAKE_TIMEOUT = 600
RUN_TIMEOUT = 60
MAN_PAGE = os.path.join(REPO, "dist", "parkwatch.8")
COMPLETION = os.path.join(REPO, "dist", "parkwatch.bash")
MAN_SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "WAIT REASONS", "OUTPUT",
                "EXIT STATUS", "CAPABILITIES", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO")


def run(argv, timeout=RUN_TIMEOUT, **kw):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **kw)
    except subprocess.TimeoutExpired:
        raise Fail(f"{' '.join(argv)} did not finish within {timeout} s") from None


def make(*targets, **variables):
    argv = ["make", "-C", REPO, "--no-print-directory", "-s"] + list(targets) + \
        [f"{k}={v}" for k, v in variables.items()]
    cp = run(argv, timeout=MAKE_TIMEOUT)
    check(cp.returncode == 0, f"{' '.join(argv[4:])} failed: {cp.stderr.strip()[-600:]}")
    return cp


def makefile_version():
    with open(os.path.join(REPO, "Makefile")) as f:
        m = re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M)
    check(m, "no VERSION in the Makefile")
    return m.group(1)


def tree(root):
    """Every file and symlink under ROOT, as paths relative to it."""
    found = set()
    for dirpath, _, files in os.walk(root):
        for name in files:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def check_cond_dump(binary, target, tids, prefix=()):
    """BINARY -p TARGET --dump as JSON (run under PREFIX, e.g. chroot):
    every tid of the target's READY record parked in cond wait, in
    level_three."""
    argv = list(prefix) + [binary, "-p", str(target.pid), "--dump", "--format", "json",
                           "--min-park", "0"]
    cp = run(argv)
    check(cp.returncode == 0, f"{' '.join(argv)}: {pw_error(cp.returncode, cp.stderr)}")
    doc = parse_output(cp.stdout, f"{binary} --dump", docs.PICTURE)
    threads = docs.by_tid(doc)
    missing = [tid for tid in tids if tid not in threads]
    check(not missing, f"{binary}: {len(missing)} of the target's tids absent, e.g. {missing[:5]}")
    for tid in tids:
        th = threads[tid]
        check(th.get("reason") == "cond wait", f"{binary}: tid {tid}: reason {th.get('reason')!r}")
        names = docs.fnames(th.get("frames"))
        check("level_three" in names, f"{binary}: tid {tid}: no level_three frame in {names}")


# ---------------------------------------------------------------- man page

def help_options():
    """The long and short options `parkwatch --help` lists."""
    cp = run([PARKWATCH, "--help"])
    check(cp.returncode == 0, f"parkwatch --help: exit {cp.returncode}")
    found = set()
    for line in cp.stdout.splitlines():
        m = re.match(r"\s+(?:(-\S),\s+)?(--[a-z][a-z0-9-]*)", line)
        if m:
            found.update(o for o in m.groups() if o)
    check(len(found) > 10, f"--help lists only {sorted(found)}")
    return found


def man_options():
    """The options of the OPTIONS section of the page, as man renders them."""
    cp = run(["man", "-l", MAN_PAGE], env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="",
                                                  LC_ALL="C.UTF-8"))
    check(cp.returncode == 0, f"man -l: exit {cp.returncode}: {cp.stderr.strip()}")
    text = re.sub(r".\x08", "", cp.stdout)
    m = re.search(r"^OPTIONS\n(.*?)^\S", text, re.M | re.S)
    check(m, "no OPTIONS section in the rendered page")
    found = set()
    for line in m.group(1).splitlines():
        # a tagged paragraph's tag: 7 spaces, then the options
        tag = re.match(r" {7}(-\S.*)", line)
        if tag:
            for opt in re.findall(r"(?<![\w-])(--?[a-zA-Z?][a-z0-9-]*)", tag.group(1).split("  ")[0]):
                found.add(opt)
    return found


@test
def test_ship_man_options_match_help():
    in_help, in_man = help_options(), man_options()
    check(in_help <= in_man, f"options of --help missing from parkwatch(8): "
                             f"{sorted(in_help - in_man)}")
    check(in_man <= in_help, f"parkwatch(8) documents options --help lacks: "
                             f"{sorted(in_man - in_help)}")


@test
def test_ship_man_lint():
    cp = run(["mandoc", "-T", "lint", "-W", "style", MAN_PAGE])
    check(cp.returncode == 0 and not cp.stdout.strip() and not cp.stderr.strip(),
          f"mandoc -T lint: {cp.stdout.strip() or cp.stderr.strip()}")
    cp = run(["man", "--warnings", "-l", MAN_PAGE], env=dict(os.environ, MANWIDTH="80"))
    check(cp.returncode == 0, f"man -l: exit {cp.returncode}")
    check(not cp.stderr.strip(), f"man --warnings: {cp.stderr.strip()[:400]}")
    headers = set(re.findall(r"^([A-Z][A-Z ]+)$", re.sub(r".\x08", "", cp.stdout), re.M))
    missing = [s for s in MAN_SECTIONS if s not in headers]
    check(not missing, f"parkwatch(8) lacks the sections {missing}")
    # every exit status of the README's table has its entry
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    table = readme[readme.index("### Exit status"):readme.index("## How it works")]
    codes = re.findall(r"^\| (\d+) \|", table, re.M)
    with open(MAN_PAGE) as f:
        page = f.read()
    exit_section = page[page.index(".SH EXIT STATUS"):page.index(".SH CAPABILITIES")]
    in_page = re.findall(r"^\.TP\n\.B (\d+)$", exit_section, re.M)
    check(codes and codes == in_page, f"exit statuses: README {codes}, parkwatch(8) {in_page}")


@test
def test_ship_bash_completion():
    script = f"""
source /usr/share/bash-completion/bash_completion
source {COMPLETION}
complete_line() {{
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
    COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()
    _parkwatch parkwatch "${{COMP_WORDS[-1]}}" "${{COMP_WORDS[-2]}}" 2>/dev/null
    echo "${{COMPREPLY[*]}}"
}}
complete_line parkwatch --for
complete_line parkwatch --format ''
complete_line parkwatch -p {os.getpid()}
"""
    env = dict(os.environ, PATH=os.path.dirname(PARKWATCH) + ":" + os.environ.get("PATH", ""))
    cp = run(["bash", "-c", script], env=env)
    check(cp.returncode == 0, f"bash: {cp.stderr.strip()}")
    lines = cp.stdout.splitlines()
    check(len(lines) == 3, f"completion printed {lines}")
    check(lines[0].split() == ["--format="], f"--for completes to {lines[0]!r}")
    check(sorted(lines[1].split()) == ["folded", "json", "pprof", "text"],
          f"--format completes to {lines[1]!r}")
    check(str(os.getpid()) in lines[2].split(), f"-p {os.getpid()} completes to {lines[2]!r}")


# ---------------------------------------------------------------- install

def expected_install(prefix):
    """What make install must put under PREFIX, as the test reads dist/."""
    files = {f"{prefix}/sbin/parkwatch": PARKWATCH,
             f"{prefix}/share/man/man8/parkwatch.8": MAN_PAGE,
             f"{prefix}/share/bash-completion/completions/parkwatch": COMPLETION,
             f"{prefix}/lib/systemd/system/parkwatch.service": None}
    for kind in ("prometheus", "grafana"):
        for path in glob.glob(os.path.join(REPO, "dist", kind, "*")):
            files[f"{prefix}/share/parkwatch/{kind}/{os.path.basename(path)}"] = path
    return {p.lstrip("/"): src for p, src in files.items()}


@test
def test_ship_install_uninstall():
    with tempfile.TemporaryDirectory(prefix="pw-install-") as destdir:
        make("install", DESTDIR=destdir)
        want = expected_install("/usr/local")
        got = tree(destdir)
        check(got == set(want), f"make install: missing {sorted(set(want) - got)}, "
                                f"unexpected {sorted(got - set(want))}")
        for rel, src in want.items():
            if src:
                with open(os.path.join(destdir, rel), "rb") as a, open(src, "rb") as b:
                    check(a.read() == b.read(), f"installed {rel} differs from {src}")
        check(os.access(os.path.join(destdir, "usr/local/sbin/parkwatch"), os.X_OK),
              "the installed binary is not executable")
        with open(os.path.join(destdir, "usr/local/lib/systemd/system/parkwatch.service")) as f:
            exec_start = re.search(r"^ExecStart=(\S+)", f.read(), re.M)
        check(exec_start and exec_start.group(1) == "/usr/local/sbin/parkwatch",
              f"the unit runs {exec_start and exec_start.group(1)!r}")
        make("uninstall", DESTDIR=destdir)
        left = [os.path.relpath(os.path.join(d, n), destdir)
                for d, dirs, files in os.walk(destdir) for n in dirs + files]
        check(not left, f"make uninstall left {sorted(left)[:10]}")


@test
def test_ship_systemd_unit():
    """systemd-analyze verify on the unit as make install puts it, its
    ExecStart's binary and its man page where the unit says."""
    with tempfile.TemporaryDirectory(prefix="pw-unit-") as prefix:
        make("install", PREFIX=prefix)
        try:
            unit = os.path.join(prefix, "lib/systemd/system/parkwatch.service")
            cp = run(["systemd-analyze", "verify", unit], cwd=prefix,
                     env=dict(os.environ, MANPATH=os.path.join(prefix, "share/man")))
            check(cp.returncode == 0 and not cp.stderr.strip() and not cp.stdout.strip(),
                  f"systemd-analyze verify: {(cp.stderr or cp.stdout).strip()[:600]}")
        finally:
            make("uninstall", PREFIX=prefix)


# ---------------------------------------------------------------- Debian package

def dpkg_installed(package):
    cp = run(["dpkg-query", "-W", "-f", "${Status}", package])
    return cp.returncode == 0 and "installed" in cp.stdout.split()


@test
def test_ship_deb():
    version = makefile_version()
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    make("deb")
    deb = os.path.join(REPO, "build", f"parkwatch_{version}_{arch}.deb")
    check(os.path.exists(deb), f"make deb made no {deb}")
    check(not dpkg_installed("parkwatch"),
          "a parkwatch package is already installed here: dpkg -r parkwatch first")
    cp = run(["dpkg", "-i", deb], timeout=120)
    check(cp.returncode == 0, f"dpkg -i: {cp.stderr.strip()[-600:]}")
    try:
        listed = run(["dpkg", "-L", "parkwatch"]).stdout.split("\n")
        files = [p for p in listed if p and os.path.isfile(p)]
        for path in ("/usr/sbin/parkwatch", "/usr/share/man/man8/parkwatch.8.gz",
                     "/usr/share/bash-completion/completions/parkwatch",
                     "/usr/lib/systemd/system/parkwatch.service"):
            check(path in files, f"dpkg -L parkwatch lacks {path}: {files}")
        cp = run(["/usr/sbin/parkwatch", "--version"])
        check(cp.returncode == 0 and cp.stdout.strip() == f"parkwatch {version}",
              f"the installed parkwatch --version: {cp.stdout.strip()!r} (exit {cp.returncode})")
        cp = run(["man", "--warnings", "-w", "parkwatch"])
        check(cp.stdout.strip() == "/usr/share/man/man8/parkwatch.8.gz",
              f"man finds parkwatch(8) at {cp.stdout.strip()!r}")
        with Target("condwait", 8) as t:
            check_cond_dump("/usr/sbin/parkwatch", t, t.wait_ready()["cond"])
    finally:
        cp = run(["dpkg", "-r", "parkwatch"], timeout=120)
    check(cp.returncode == 0, f"dpkg -r: {cp.stderr.strip()[-600:]}")
    check(not dpkg_installed("parkwatch"), "parkwatch still installed after dpkg -r")
    left = [p for p in listed if p and os.path.lexists(p) and not os.path.isdir(p)]
    check(not left, f"dpkg -r left {left}")
    # the directories only the package made are gone too
    own_dirs = [p for p in listed if "parkwatch" in os.path.basename(p) and os.path.isdir(p)]
    check(not own_dirs, f"dpkg -r left the directories {own_dirs}")


# ---------------------------------------------------------------- static binary

DAEMONSET = os.path.join(REPO, "dist", "kubernetes", "parkwatch-daemonset.yaml")
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
SERVE_TIMEOUT = 30.0


def daemonset_capabilities():
    """The capabilities the DaemonSet adds, as linux/capability.h numbers them."""
    with open(DAEMONSET) as f:
        text = f.read()
    m = re.search(r"^\s*add:\n((?:\s*- [A-Z_]+.*\n)+)", text, re.M)
    check(m, "no capabilities: add: list in the DaemonSet")
    names = re.findall(r"- ([A-Z_]+)", m.group(1))
    numbers = {}
    with open("/usr/include/linux/capability.h") as f:
        for line in f:
            d = re.match(r"#define CAP_([A-Z_]+)\s+(\d+)\s*$", line)
            if d:
                numbers[d.group(1)] = int(d.group(2))
    unknown = [n for n in names if n not in numbers]
    check(not unknown, f"the DaemonSet adds unknown capabilities {unknown}")
    return {numbers[n] for n in names}


def as_in_a_pod(root, caps):
    """A preexec function that does what a container runtime does for the
    DaemonSet: root is ROOT, uid 0 keeps only CAPS, no_new_privs."""
    def enter():
        libc = ctypes.CDLL(None, use_errno=True)
        os.chroot(root)
        os.chdir("/")
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
        for cap in range(last + 1):
            if cap not in caps and libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0):
                raise OSError(ctypes.get_errno(), f"dropping capability {cap}")
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "no_new_privs")
    return enter


def check_daemon_in_pod(root, target):
    """The image's command, run in ROOT as the DaemonSet runs it:
    /metrics and the target's goroutine profile behind basic auth, and the
    daemon itself nobody with no capability left."""
    os.makedirs(os.path.join(root, "etc", "parkwatch"))
    with open(os.path.join(root, "etc", "parkwatch", "users"), "w") as f:
        f.write("scraper:s3cret\n")
    port = free_port()
    errf = tempfile.TemporaryFile()
    # the image's command, but for the target alone: a first picture of every
    # process of a busy machine takes too long for a test
    proc = spawn(["/parkwatch", "--http", f"0.0.0.0:{port}", "--http-auth",
                  "/etc/parkwatch/users", "--interval", "500ms", "-p", str(target.pid)],
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf,
                 preexec_fn=as_in_a_pod(root, daemonset_capabilities()))
    try:
        auth = basic("scraper", "s3cret")

        profile = f"/debug/pprof/goroutine?pid={target.pid}&debug=1"

        def first_picture():
            if proc.poll() is not None:
                errf.seek(0)
                raise Fail(f"the daemon exited ({proc.returncode}): "
                           f"{errf.read().decode('utf-8', 'replace').strip()[-400:]}")
            try:
                status, _, text = request(port, profile, headers=auth, timeout=5)
            except Fail:
                return None  # not listening yet
            check(status in (200, 503), f"{profile}: {status} {text[:200]!r}")
            last[0] = text
            # the first pictures may come before its threads' stacks do
            # (--min-park): the stacks are what is checked
            return text if status == 200 and b"level_three" in text else None
        last = [b""]
        poll(first_picture, SERVE_TIMEOUT,
             lambda: f"level_three in the target's debug=1 profile: {last[0][:300]!r}")
        status, _, body = request(port, "/metrics", headers=auth)
        check(status == 200 and b"\nparkwatch_" in body, f"/metrics: {status}, {body[:200]!r}")
        st = proc_status(proc.pid)
        check(st.get("Uid", "").split()[:1] == [str(NOBODY)] and
              all(int(st.get(k, "1"), 16) == 0 for k in ("CapEff", "CapPrm", "CapBnd")),
              f"the daemon in the pod kept {st.get('Uid')!r}, CapEff {st.get('CapEff')}, "
              f"CapBnd {st.get('CapBnd')}")
    finally:
        stop(proc)
        errf.close()


@test
def test_ship_static_chroot():
    """make static's binary alone in an empty root, /proc and /sys bound
    read-only: a dump as root, then the image's daemon as the DaemonSet runs
    it; TLS refused in one line."""
    make("static")
    binary = os.path.join(REPO, "build", "static", "parkwatch")
    cp = run(["readelf", "--program-headers", "--dynamic", binary])
    check(cp.returncode == 0, f"readelf: {cp.stderr.strip()}")
    check("INTERP" not in cp.stdout and "NEEDED" not in cp.stdout,
          f"{binary} is not static: it has an interpreter or needs libraries")
    root = tempfile.mkdtemp(prefix="pw-chroot-")
    mounts = []
    try:
        # an image's root, which nobody (the dropped daemon) may search
        os.chmod(root, 0o755)
        shutil.copy2(binary, os.path.join(root, "parkwatch"))
        # the kernel's views, read-only: what parkwatch reads, nothing else
        for fs in ("proc", "sys"):
            os.mkdir(os.path.join(root, fs))
            for argv in (["mount", "--bind", f"/{fs}", f"{root}/{fs}"],
                         ["mount", "-o", "remount,bind,ro", f"{root}/{fs}"]):
                cp = run(argv)
                check(cp.returncode == 0, f"{' '.join(argv)}: {cp.stderr.strip()}")
                if argv[1] == "--bind":
                    mounts.append(f"{root}/{fs}")
        check(sorted(os.listdir(root)) == ["parkwatch", "proc", "sys"], "the chroot holds more")
        with Target("condwait", 8) as t:
            check_cond_dump("/parkwatch", t, t.wait_ready()["cond"], prefix=["chroot", root])
            check_daemon_in_pod(root, t)
        # capstone is linked in: a stripped Go binary's goroutines are read
        # with no libcapstone to load
        stripped = gotargets.binary("1.19", "leaky-stripped")
        gotargets.make([stripped])
        with Target("leaky", path=stripped) as t:
            t.wait_ready()
            cp = run(["chroot", root, "/parkwatch", "-p", str(t.pid), "--dump", "--format",
                      "json"])
            check(cp.returncode == 0, f"stripped Go: {pw_error(cp.returncode, cp.stderr)}")
            doc = parse_output(cp.stdout, "stripped Go --dump", docs.PICTURE)
            kinds = [p.get("unit_kind") for p in doc.get("processes", [])]
            check(kinds == ["goroutine"] and not cp.stderr.strip(),
                  f"stripped Go from the chroot: {kinds}, stderr {cp.stderr.strip()[:300]!r}")
        # TLS is the one thing it can't do, and says so at once
        cp = run(["chroot", root, "/parkwatch", "--http", "127.0.0.1:0", "--http-no-auth",
                  "--http-tls-cert", "/parkwatch", "--http-tls-key", "/parkwatch"])
        lines = cp.stderr.strip().splitlines()
        check(cp.returncode == 2 and len(lines) == 1 and lines[0].startswith("parkwatch: ") and
              "TLS" in lines[0], f"TLS in the static build: exit {cp.returncode}, {lines}")
    finally:
        for m in reversed(mounts):
            run(["umount", "--lazy", m])
        if not mounts or all(not os.path.ismount(m) for m in mounts):
            shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- capabilities

UNIT = os.path.join(REPO, "dist", "parkwatch.service")
NOBODY = 65534
# a uid of systemd's DynamicUser range, as the unit gets one: not nobody,
# whom parkwatch then becomes
DYNAMIC_UID = 61184
CAP_RUN_TIMEOUT = 30.0


def unit_capabilities():
    """The unit's AmbientCapabilities, as setpriv names them (bpf, ...)."""
    with open(UNIT) as f:
        text = f.read()
    ambient = re.search(r"^AmbientCapabilities=(.*)$", text, re.M)
    bounding = re.search(r"^CapabilityBoundingSet=(.*)$", text, re.M)
    check(ambient and bounding, "the unit has no AmbientCapabilities or CapabilityBoundingSet")
    caps = ambient.group(1).split()
    check(sorted(caps) == sorted(bounding.group(1).split()),
          "the unit's ambient and bounding capabilities differ")
    return [c.removeprefix("CAP_").lower() for c in caps]


def run_with_caps(caps, target, tids):
    """parkwatch as a user of its own with CAPS ambient, as the unit runs it, taking
    JSON pictures of TARGET: what works, as a set of the names of what went
    right, plus its stderr."""
    spec = "-all" + "".join(f",+{c}" for c in caps)
    argv = ["setpriv", f"--reuid={DYNAMIC_UID}", f"--regid={DYNAMIC_UID}", "--clear-groups",
            f"--inh-caps={spec}", f"--ambient-caps={spec}", f"--bounding-set={spec}",
            PARKWATCH, "-p", str(target.pid), "--kernel-stacks", "--min-park", "0",
            "--format", "json", "--interval", "300ms"]
    errf = tempfile.TemporaryFile()
    proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf)
    went_right = set()
    try:
        try:
            line = LineReader(proc.stdout, "parkwatch").readline(now() + CAP_RUN_TIMEOUT)
        except Fail:
            line = None
        if line:
            # the main process, as it runs from now on
            st = proc_status(proc.pid)
            if (st.get("Uid", "").split()[:1] == [str(NOBODY)] and
                    all(int(st.get(k, "1"), 16) == 0 for k in ("CapEff", "CapPrm", "CapBnd"))):
                went_right.add("dropped everything")
            doc = parse_output(line, "parkwatch --format json", docs.PICTURE)
            threads = docs.by_tid(doc)
            if all(t in threads and "level_three" in docs.fnames(threads[t].get("frames"))
                   for t in tids):
                went_right.add("stacks")
            if all(t in threads and all(docs.fnames(threads[t].get("kernel_frames")))
                   and threads[t].get("kernel_frames") for t in tids):
                went_right.add("kernel frames named")
    finally:
        stop(proc)
        errf.seek(0)
        err = errf.read().decode("utf-8", "replace").strip()
        errf.close()
    if not err:
        went_right.add("nothing on stderr")
    return went_right, err


def proc_status(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    except OSError:
        return {}


@test
def test_ship_unit_capabilities():
    """The unit's capabilities are the least that works: with all of them a
    non-root parkwatch reads every stack (a deleted binary's too), names
    kernel frames and drops every capability; without any one of them,
    something of that is lost."""
    caps = unit_capabilities()
    everything = {"dropped everything", "stacks", "kernel frames named", "nothing on stderr"}
    # a binary replaced while it runs (deleted under it) is read through
    # /proc/PID/map_files, which takes CAP_CHECKPOINT_RESTORE
    with tempfile.TemporaryDirectory() as d:
        binary = os.path.join(d, "condwait")
        shutil.copy2(os.path.join(TARGETS, "condwait"), binary)
        t = Target("condwait", 4, path=binary)
    with t:
        tids = t.wait_ready()["cond"]
        check(os.readlink(f"/proc/{t.pid}/exe").endswith(" (deleted)"),
              f"/proc/{t.pid}/exe: its binary is still there")
        got, err = run_with_caps(caps, t, tids)
        check(got == everything, f"with the unit's capabilities {caps}: only {sorted(got)}; "
                                 f"stderr {err[:300]!r}")
        for cap in caps:
            got, _ = run_with_caps([c for c in caps if c != cap], t, tids)
            check(got != everything, f"without {cap} everything still works: the unit "
                                     f"needn't grant it")
