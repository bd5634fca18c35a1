# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Goroutines of stripped Go binaries, on every release, and of a release
newer than parkwatch.

For each Go release of the Makefile's GO_RELEASES, leaky as `make go-matrix`
builds it four ways: build/targets/go/RELEASE/leaky with its symbols and
DWARF, -pie the same as PIE, and -stripped and -stripped-pie, stripped with
-ldflags='-s -w', as an executable and as PIE.

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

The tests ask make for the binaries (nothing to do after make go-matrix);
the version they expect is what the release's go command says it is.
"""

import os
import re
import subprocess
import tempfile
import threading

from pwtest import BUILD, REPO, check
from pwtest import docs, gotargets
from pwtest.oracles.goruntime import parse_debug2
from pwtest.parkwatch import parse_output, quiet, run_pw, stderr_lines
from pwtest.runner import test
import test_go

RELEASES = gotargets.RELEASES
FLAVOURS = ("", "-pie", "-stripped", "-stripped-pie")
STRIPPED = ("-stripped", "-stripped-pie")
NEWER = "go1.99"
GOVARS_TEST = os.path.join(BUILD, "unit", "go", "test_govars")

_made = []


def built(release):
    """{flavour: path} of leaky built by RELEASE; every release's made
    once per run."""
    paths = {r: {f: gotargets.binary(r, "leaky" + f) for f in FLAVOURS} for r in RELEASES}
    if not _made:
        gotargets.make([p for r in RELEASES for p in paths[r].values()])
        _made.append(True)
    return paths[release]


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


def check_stripped(release):
    test_go.ensure_built()
    paths = built(release)
    version = gotargets.version(release)
    report = []
    for flavour in STRIPPED:
        what = f"{version}{flavour}"
        with test_go.GoTarget(binary=paths[flavour]) as t:
            t.leak(2)
            theirs, ours, err, same = compare(t, what)
            check(quiet(err), f"{what}: stderr {err.strip()[:300]!r}")
            out, err = dump(t.pid, "--format", "json")
        doc = parse_output(out, f"{what} --format json", docs.PICTURE)
        check(docs.go_version(doc) == version,
              f"{what}: go_version {docs.go_version(doc)!r}, the toolchain says {version}")
        report.append(f"{flavour[1:]}: {len(ours)} goroutines vs runtime {len(theirs)}, "
                      f"{same} entries identical")
    return f"{version}: " + "; ".join(report)


def register(release):
    test(f"go_stripped_{release}")(lambda: check_stripped(release))


for _release in RELEASES:
    register(_release)


@test("go_stripped_vs_symtab")
def test_vs_symtab():
    """The unit test of the decoders, on every release's binaries."""
    test_go.ensure_built()
    cp = subprocess.run(["make", "-s", os.path.relpath(GOVARS_TEST, REPO)], cwd=REPO,
                        capture_output=True, text=True)
    check(cp.returncode == 0, f"make test_govars: {cp.stderr.strip()[-400:]}")
    binaries = [p for release in RELEASES for p in built(release).values()]
    env = dict(os.environ, PARKWATCH_GO_BINARIES=":".join(binaries))
    cp = subprocess.run([GOVARS_TEST], cwd=REPO, env=env, capture_output=True, text=True)
    out = cp.stdout + cp.stderr
    check(cp.returncode == 0 and re.search(r"\[  PASSED  \] \d+ test", out) and
          "[  FAILED  ]" not in out,
          f"test_govars on every release: exit {cp.returncode}: {out.strip()[-800:]}")
    for path in binaries:
        check(f"  {path} (" in out, f"test_govars didn't read {path}")
    tables = re.findall(r"the table's (go1\.\d+) layout is its DWARF's", out)
    want = {f"go{r}" for r in RELEASES}
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
        binary, claimed = claiming(built("1.27")["-stripped"], NEWER, d)
        with test_go.GoTarget(binary=binary) as t:
            t.leak(2)
            theirs, ours, err, same = compare(t, "newer")
            lines = stderr_lines(err)
            want = (f"parkwatch: process {t.pid}: {claimed} is newer than this parkwatch knows; "
                    f"its goroutines read with go1.27's layout, which matched every check")
            check(lines == [want], f"stderr {err.strip()!r}, expected {want!r}")
    return f"{lines[0]}; {len(ours)} goroutines vs runtime {len(theirs)}, {same} identical"


# Every release whose runtime.g differs from go1.27's (1.26's is the same):
# in 1.23 and 1.24 status and goid sit 8 bytes further, in 1.19 to 1.22 and
# 1.25 gopc and startpc are elsewhere, which the goroutines' states alone
# don't show.  Which check fails first may vary with the moment.
WRONG_LAYOUTS = ("1.19", "1.21", "1.22", "1.23", "1.24", "1.25")


@test("go_newer_release_wrong_layout")
def test_newer_release_wrong_layout():
    test_go.ensure_built()
    said = []
    with tempfile.TemporaryDirectory(prefix="pw-go-newer-") as d:
        for release in WRONG_LAYOUTS:
            binary, claimed = claiming(built(release)["-stripped"], NEWER, d)
            with test_go.GoTarget(binary=binary) as t:
                out, err = dump(t.pid)
            lines = stderr_lines(err)
            m = len(lines) == 1 and re.match(
                rf"^parkwatch: process {t.pid}: a Go program whose goroutines can't be read: "
                rf"{re.escape(claimed)} is newer than this parkwatch knows, and go1\.27's layout "
                r"of runtime\.g failed on its goroutines: (\S.*); showing its threads$", lines[0])
            check(m, f"go{release} as {claimed}: stderr {err.strip()!r}, expected one line "
                     f"saying go1.27's layout failed")
            check(re.match(r"^parkwatch \S+: \d+ threads? in 1 process", out),
                  f"go{release} as {claimed}: not the thread view: {out[:200]!r}")
            check("goroutine " not in out,
                  f"go{release} as {claimed}: goroutines printed with a layout that failed")
            said.append(f"go{release}: {m.group(1)}")
    return "refused, saying why: " + "; ".join(said)
