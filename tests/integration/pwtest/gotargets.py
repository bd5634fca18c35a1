# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The Go targets as the Makefile builds them: every program of
tests/targets/go/ by every release of its GO_RELEASES, in each flavour, as
build/targets/go/RELEASE/NAME[-FLAVOUR].  The Makefile's rules are the only
place a Go target is built: a test asks make for the binaries it runs, which
does nothing when `make targets go-matrix` already built them.

    RELEASES             the Makefile's GO_RELEASES: "1.19", "1.21", ...
    binary(release, n)   the path of build N ("leaky", "leaky-stripped-pie")
    make(paths)          make them, or Fail with make's reason
    toolchain(release)   the go command that builds them (the Makefile's
                         go_of: GO_1.19 or one under GO_TOOLCHAINS)
    version(release)     what that go command says it is: "go1.23.5"
"""

import functools
import os
import re
import subprocess

from pwtest import BUILD, REPO, Fail, check

MAKE_TIMEOUT = 3600.0      # a cold build of a release, its toolchain fetched


def makefile_list(name):
    """The words of `NAME := ...` in the Makefile."""
    with open(os.path.join(REPO, "Makefile")) as f:
        m = re.search(rf"^{name}\s*:=\s*(.*)$", f.read(), re.M)
    if not m:
        raise ValueError(f"Makefile has no {name} := line")
    return m.group(1).split()


RELEASES = makefile_list("GO_RELEASES")


def binary(release, name):
    return os.path.join(BUILD, "targets", "go", release, name)


def _run_make(args, timeout):
    # a make of its own, not a job of the make that may be running the tests
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    shown = f"make {' '.join(args)}"
    try:
        cp = subprocess.run(["make", "-s", "--no-print-directory"] + args, cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail(f"{shown}: not done within {timeout:.0f} s") from None
    check(cp.returncode == 0, f"{shown}: {cp.stderr.strip()[-400:]}")
    return cp.stdout


def make(paths):
    _run_make(["-j2"] + [os.path.relpath(p, REPO) for p in paths], MAKE_TIMEOUT)


@functools.lru_cache(maxsize=None)
def toolchain(release):
    check(release in RELEASES, f"Go {release}: not one of the Makefile's GO_RELEASES {RELEASES}")
    # make itself says which, GO_TOOLCHAINS and GO_1.19 overrides included
    go = _run_make(["--eval", f"pw-go-of: ; @echo $(call go_of,{release})", "pw-go-of"],
                   60.0).strip()
    check(os.access(go, os.X_OK), f"Go {release}: {go} missing (make go-toolchains)")
    return go


@functools.lru_cache(maxsize=None)
def version(release):
    go = toolchain(release)
    cp = subprocess.run([go, "version"], capture_output=True, text=True,
                        env=dict(os.environ, GOTOOLCHAIN="local", GOENV="off"))
    m = re.search(r"\bgo(1\.\d+)(\.\d+)?\b", cp.stdout)
    check(m and m.group(1) == release, f"{go} version: {cp.stdout.strip()!r}")
    return m.group(0)
