# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Goroutines of stripped Go binaries, on every release, and of a release
newer than parkwatch.

For each Go release (1.19, Debian's golang-go, and 1.21 to 1.27 from
tools/go_toolchains.sh's cache, fetched when missing) the leaky target is
built four ways: with its symbols and DWARF, the same as PIE, and stripped
with -ldflags='-s -w', as an executable and as PIE.

  * go_stripped_vs_symtab: build/unit/go/test_govars reads every one of those
    binaries as a stripped one would be read: what runtime.allgadd's,
    waitReason.String's and isSystemGoroutine's code names must be the
    .symtab addresses of the non-stripped builds, .gopclntab's runtime
    functions and text start must be .symtab's, and the layout table's entry
    for the release must be the DWARF's runtime.g;
  * go_stripped_1.N: each stripped build (executable and PIE) runs once, and
    parkwatch's --dump is compared with the runtime's own debug=2 of the same
    moment: the leaked goroutines entry by entry (ids, reasons, frames with
    file:line, created by), every goroutine id but those serving the
    request, the counts per wait reason; and the Go version parkwatch reads
    from .go.buildinfo must be the toolchain's;
  * go_newer_release: a copy of go1.27's stripped build whose .go.buildinfo
    says go1.99 (same length, nothing else changed) is read with go1.27's
    layout after the checks on its goroutines, said once on stderr, and
    compared with the runtime's dump; copies of every release whose runtime.g
    differs from go1.27's, saying go1.99, are refused with one line each
    (WRONG_LAYOUTS): what a newer runtime with a changed runtime.g would
    look like.

PARKWATCH_GO_CACHE overrides the toolchain cache (~/.cache/parkwatch/go).
"""

import glob
import os
import re
import subprocess
import tempfile
import threading

from pwtest import BUILD, REPO, check
from pwtest import docs
from pwtest.oracles.goruntime import parse_debug2
from pwtest.parkwatch import parse_output, run_pw
from pwtest.runner import test
import test_go

RELEASES = (19, 21, 22, 23, 24, 25, 26, 27)
CACHE = os.environ.get("PARKWATCH_GO_CACHE") or os.path.expanduser("~/.cache/parkwatch/go")
SYSTEM_GO_119 = "/usr/lib/go-1.19/bin/go"
OUT = os.path.join(BUILD, "go_releases")
FLAVOURS = {"": [], "-pie": ["-buildmode=pie"], "-stripped": ["-ldflags=-s -w"],
            "-stripped-pie": ["-ldflags=-s -w", "-buildmode=pie"]}
STRIPPED = ("-stripped", "-stripped-pie")
NEWER = "go1.99"
GOVARS_TEST = os.path.join(BUILD, "unit", "go", "test_govars")

_toolchains, _built = {}, {}


def toolchain(minor):
    """The go command of release 1.MINOR and its version ("go1.24.4"),
    fetched into the cache when missing."""
    if minor in _toolchains:
        return _toolchains[minor]
    go = os.path.join(CACHE, f"go1.{minor}", "usr", "lib", f"go-1.{minor}", "bin", "go")
    if minor == 19 and os.access(SYSTEM_GO_119, os.X_OK):
        go = SYSTEM_GO_119
    if not os.access(go, os.X_OK):
        cp = subprocess.run([os.path.join(REPO, "tools", "go_toolchains.sh"), CACHE,
                             f"1.{minor}"], capture_output=True, text=True)
        check(cp.returncode == 0 and os.access(go, os.X_OK),
              f"go1.{minor}: tools/go_toolchains.sh: {cp.stderr.strip()[-300:]}")
    cp = subprocess.run([go, "version"], env=test_go.go_env(), capture_output=True, text=True)
    m = re.search(r"\bgo(1\.\d+(\.\d+)?)\b", cp.stdout)
    check(m and m.group(1).split(".")[1] == str(minor), f"{go} version: {cp.stdout.strip()!r}")
    _toolchains[minor] = (go, "go" + m.group(1))
    return _toolchains[minor]


def built(minor):
    """{flavour: path} of leaky built by release 1.MINOR, rebuilt only when
    older than its sources or the toolchain (the go build cache keeps the
    compiling cheap; these are links)."""
    if minor in _built:
        return _built[minor]
    go, _ = toolchain(minor)
    srcs = glob.glob(os.path.join(REPO, "tests", "targets", "go", "leaky", "*.go"))
    newest = max(os.path.getmtime(p) for p in srcs + [go])
    os.makedirs(os.path.join(OUT, f"go1.{minor}"), exist_ok=True)
    paths = {}
    for flavour, flags in FLAVOURS.items():
        path = os.path.join(OUT, f"go1.{minor}", "leaky" + flavour)
        if not os.path.exists(path) or os.path.getmtime(path) < newest:
            cmd = [go, "build"] + flags + ["-o", path, "./tests/targets/go/leaky"]
            cp = subprocess.run(cmd, cwd=REPO, env=test_go.go_env(), capture_output=True,
                                text=True)
            check(cp.returncode == 0, f"{' '.join(cmd)}: {cp.stderr.strip()[-400:]}")
        paths[flavour] = path
    _built[minor] = paths
    return paths


def dump(pid, *args):
    """parkwatch -p PID --dump ARGS: (stdout, stderr), exit 0 required."""
    res = run_pw(["-p", pid, "--dump"] + list(args), timeout=test_go.PW_TIMEOUT)
    check(res.rc == 0, f"parkwatch --dump {' '.join(args)}: exit {res.rc}: {res.err.strip()[:300]}")
    return res.out, res.err


def dump_with_runtime(target):
    """parkwatch's --dump and the runtime's debug=2, taken at the same
    moment: (runtime text, our text, our stderr)."""
    result = {}

    def fetch():
        try:
            result["runtime"] = target.text("/debug/pprof/goroutine?debug=2")
        except OSError as e:
            result["error"] = f"GET debug=2: {e}"

    thread = threading.Thread(target=fetch)
    thread.start()
    try:
        ours, err = dump(target.pid)
    finally:
        thread.join()
    check("error" not in result, result.get("error", ""))
    return result["runtime"], ours, err


def shape(entry):
    """A debug=2 entry's physical frames with their pc offsets, and its
    creator: what reading a stripped binary's goroutines decides.  Inlined
    frames and the file:line of a pc inside inlined code come from
    .gopclntab's inline tree, symbolization's part; the count of entries
    identical line for line is reported beside."""
    _, _, lines = entry
    frames = tuple((name, at[at.rindex(" +0x"):]) for name, at in zip(lines[0::2], lines[1::2])
                   if " +0x" in at and not name.startswith("created by"))
    created = tuple(re.sub(r" in goroutine \d+$", "", l) for l in lines
                    if l.startswith("created by"))
    return frames, created


def compare(target, what):
    """The leaked goroutines entry by entry (reason, frames, pc offsets,
    created by), every goroutine id, the counts per wait reason."""
    runtime_text, ours_text, err = dump_with_runtime(target)
    test_go.keep_texts(what, runtime_text, ours_text)
    theirs, ours = parse_debug2(runtime_text), parse_debug2(ours_text)
    check(ours, f"{what}: parkwatch printed no goroutine (stderr {err.strip()[:200]!r})")
    leaked_t = {g for g, e in theirs.items() if test_go.leaf_leak(e[1])}
    leaked_o = {g for g, e in ours.items() if test_go.leaf_leak(e[1])}
    check(leaked_o == leaked_t, f"{what}: leaked goids differ: {sorted(leaked_o ^ leaked_t)[:10]}")
    check(len(leaked_t) == sum(test_go.STARTUP_LEAKS.values()) + 2,
          f"{what}: the runtime shows {len(leaked_t)} leaked goroutines")
    for goid in sorted(leaked_o):
        check(ours[goid][:2] == theirs[goid][:2] and shape(ours[goid]) == shape(theirs[goid]),
              f"{what}: goroutine {goid}: {list(ours[goid][2])} vs runtime {list(theirs[goid][2])}")
    # the goroutines serving the runtime's own request may come after our read
    missing = sorted(set(theirs) - set(ours))
    check(len(missing) <= test_go.CHURN, f"{what}: goroutines {missing[:10]} missing")
    reasons_t = test_go.by_key(theirs.values(), lambda e: e[0])
    reasons_o = test_go.by_key(ours.values(), lambda e: e[0])
    churn = (sum(abs(reasons_o.get(r, 0) - reasons_t.get(r, 0))
                 for r in set(reasons_o) | set(reasons_t)) + 1) // 2
    check(churn <= test_go.CHURN,
          f"{what}: wait reasons differ by {churn}: {test_go.diff_text(reasons_o, reasons_t)}")
    same = sum(1 for g, e in ours.items() if theirs.get(g) == e)
    return theirs, ours, err, same


def check_stripped(minor):
    test_go.ensure_built()
    paths = built(minor)
    _, version = toolchain(minor)
    report = []
    for flavour in STRIPPED:
        what = f"{version}{flavour}"
        with test_go.GoTarget(binary=paths[flavour]) as t:
            t.leak(2)
            theirs, ours, err, same = compare(t, what)
            check(not err.strip(), f"{what}: stderr {err.strip()[:300]!r}")
            out, err = dump(t.pid, "--format", "json")
        doc = parse_output(out, f"{what} --format json", docs.PICTURE)
        check(docs.go_version(doc) == version,
              f"{what}: go_version {docs.go_version(doc)!r}, the toolchain says {version}")
        report.append(f"{flavour[1:]}: {len(ours)} goroutines vs runtime {len(theirs)}, "
                      f"{same} entries identical")
    return f"{version}: " + "; ".join(report)


def register(minor):
    test(f"go_stripped_1.{minor}")(lambda: check_stripped(minor))


for _minor in RELEASES:
    register(_minor)


@test("go_stripped_vs_symtab")
def test_vs_symtab():
    """The unit test of the decoders, on every release's binaries."""
    test_go.ensure_built()
    cp = subprocess.run(["make", "-s", os.path.relpath(GOVARS_TEST, REPO)], cwd=REPO,
                        capture_output=True, text=True)
    check(cp.returncode == 0, f"make test_govars: {cp.stderr.strip()[-400:]}")
    binaries = [p for minor in RELEASES for p in built(minor).values()]
    env = dict(os.environ, PARKWATCH_GO_BINARIES=":".join(binaries))
    cp = subprocess.run([GOVARS_TEST], cwd=REPO, env=env, capture_output=True, text=True)
    out = cp.stdout + cp.stderr
    check(cp.returncode == 0 and re.search(r"\[  PASSED  \] \d+ test", out) and
          "[  FAILED  ]" not in out,
          f"test_govars on every release: exit {cp.returncode}: {out.strip()[-800:]}")
    for path in binaries:
        check(f"  {path} (" in out, f"test_govars didn't read {path}")
    tables = re.findall(r"the table's (go1\.\d+) layout is its DWARF's", out)
    want = {f"go1.{m}" for m in RELEASES}
    check(set(tables) == want, f"layouts checked against DWARF: {sorted(set(tables))}")
    return (f"{len(binaries)} binaries of {len(RELEASES)} releases: variables as .symtab has "
            f"them, layouts as DWARF has them ({', '.join(sorted(want))})")


def claiming(path, claim, directory):
    """A copy of the binary at PATH whose .go.buildinfo version says CLAIM
    ("go1.99") instead of its own go1.N, the rest of the version and every
    other byte kept."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    at = data.find(b"\xff Go buildinf:")
    check(at >= 0 and data[at + 15] & 2, f"{path}: no inline .go.buildinfo")
    length = data[at + 32]
    version = data[at + 33:at + 33 + length].decode()
    m = re.match(r"^go1\.\d+", version)
    check(m and len(m.group(0)) == len(claim), f"{path}: version {version!r}")
    data[at + 33:at + 33 + len(claim)] = claim.encode()
    copy = os.path.join(directory, os.path.basename(path) + "-as-" + claim)
    with open(copy, "wb") as f:
        f.write(data)
    os.chmod(copy, 0o755)
    return copy, claim + version[len(claim):]


@test("go_newer_release")
def test_newer_release():
    test_go.ensure_built()
    with tempfile.TemporaryDirectory(prefix="pw-go-newer-") as d:
        binary, claimed = claiming(built(27)["-stripped"], NEWER, d)
        with test_go.GoTarget(binary=binary) as t:
            t.leak(2)
            theirs, ours, err, same = compare(t, "newer")
            lines = [l for l in err.splitlines() if l.strip()]
            want = (f"parkwatch: process {t.pid}: {claimed} is newer than this parkwatch knows; "
                    f"its goroutines read with go1.27's layout, which matched every check")
            check(lines == [want], f"stderr {err.strip()!r}, expected {want!r}")
    return f"{lines[0]}; {len(ours)} goroutines vs runtime {len(theirs)}, {same} identical"


# Every release whose runtime.g differs from go1.27's (1.26's is the same):
# in 1.23 and 1.24 status and goid sit 8 bytes further, in 1.19 to 1.22 and
# 1.25 gopc and startpc are elsewhere, which the goroutines' states alone
# don't show.  Which check fails first may vary with the moment.
WRONG_LAYOUTS = (19, 21, 22, 23, 24, 25)


@test("go_newer_release_wrong_layout")
def test_newer_release_wrong_layout():
    test_go.ensure_built()
    said = []
    with tempfile.TemporaryDirectory(prefix="pw-go-newer-") as d:
        for minor in WRONG_LAYOUTS:
            binary, claimed = claiming(built(minor)["-stripped"], NEWER, d)
            with test_go.GoTarget(binary=binary) as t:
                out, err = dump(t.pid)
            lines = [l for l in err.splitlines() if l.strip()]
            m = len(lines) == 1 and re.match(
                rf"^parkwatch: process {t.pid}: a Go program whose goroutines can't be read: "
                rf"{re.escape(claimed)} is newer than this parkwatch knows, and go1\.27's layout "
                r"of runtime\.g failed on its goroutines: (\S.*); showing its threads$", lines[0])
            check(m, f"go1.{minor} as {claimed}: stderr {err.strip()!r}, expected one line "
                     f"saying go1.27's layout failed")
            check(re.match(r"^parkwatch \S+: \d+ threads? in 1 process", out),
                  f"go1.{minor} as {claimed}: not the thread view: {out[:200]!r}")
            check("goroutine " not in out,
                  f"go1.{minor} as {claimed}: goroutines printed with a layout that failed")
            said.append(f"go1.{minor}: {m.group(1)}")
    return "refused, saying why: " + "; ".join(said)
