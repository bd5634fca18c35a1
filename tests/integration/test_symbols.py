# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""C++ names, whole inline chains and tail-call frames: every parked
thread of the C++ and the tail-call targets against gdb, frame for frame,
and the mangled names pprof keeps against c++filt and the symbol table."""

import os
import subprocess
import tempfile

from pwtest import TARGETS, check, docs
from pwtest.oracles import gdb
from pwtest.oracles.profile_pb import decode_profile
from pwtest.parkwatch import dump_json, dump_text, pw_error, run_pw
from pwtest.procs import Target
from pwtest.runner import test


def parked_threads(doc, pid):
    return {tid: u for tid, u in docs.by_tid(doc).items() if u["pid"] == pid and u["parked"]}


def frame_kind(frame):
    if frame.get("tail_call"):
        return "tailcall"
    return "inline" if frame.get("inlined") else "normal"


def check_like_gdb(target, src_name):
    """Every parked thread of TARGET names gdb's functions in gdb's order,
    with gdb's kind of frame (inlined, tail call) and, in the target's own
    source, gdb's file and line.  Returns (threads compared, roles seen)."""
    roles = target.wait_ready()
    doc, _ = dump_json([target.pid])
    threads = parked_threads(doc, target.pid)
    stacks, _ = gdb.exact_backtraces(target.pid)
    role_tids = {tid for tids in roles.values() for tid in tids}
    missing = sorted(role_tids - set(threads))
    check(not missing, f"{target.name}: threads {missing} absent from the dump or not parked")
    errors = []
    for tid, unit in sorted(threads.items()):
        frames = unit.get("frames") or []
        if tid not in stacks:
            errors.append(f"tid {tid}: gdb has no stack")
            continue
        ok, why = gdb.compare_exact(frames, stacks[tid])
        if not ok:
            errors.append(f"tid {tid}: {why}")
            continue
        for i, g in enumerate(stacks[tid]):
            if g.kind == "other" or g.name.startswith("??"):
                break
            f = frames[i]
            if frame_kind(f) != g.kind:
                errors.append(f"tid {tid} frame {i} {g.name}: parkwatch's is {frame_kind(f)}, "
                              f"gdb's {g.kind}")
            if g.file and os.path.basename(g.file) == src_name and \
                    (os.path.basename(str(f.get("file"))) != src_name or f.get("line") != g.line):
                errors.append(f"tid {tid} frame {i} {g.name}: at {f.get('file')}:{f.get('line')}"
                              f", gdb says {g.file}:{g.line}")
    check(not errors, f"{target.name}: " + "; ".join(errors))
    return len(threads), threads


@test
def test_cpp_frames_like_gdb():
    """cppwait: mangled names, templates, lambdas run by std::thread and
    waits inside inlined helpers name gdb's frames, inlined ones included."""
    with Target("cppwait") as t:
        count, threads = check_like_gdb(t, "cppwait.cpp")
    names = [f.get("function") or "" for u in threads.values() for f in u.get("frames") or []]
    # the case: the wait inside the inlined helper, under its qualified name
    check(any(n == "svc::Mailbox<svc::Reply>::waitForReply()" for n in names),
          f"no frame of svc::Mailbox<svc::Reply>::waitForReply(): {names}")
    check(not [n for n in names if n.startswith("_Z")], f"mangled names shown: {names}")
    return f"{count} parked threads equal gdb's"


@test
def test_tail_call_frames_like_gdb():
    """tailcall: functions that end in a jump to a wait are rebuilt between
    the wait and their caller, marked as tail calls, as gdb rebuilds them."""
    with Target("tailcall") as t:
        count, threads = check_like_gdb(t, "tailcall.c")
        text = dump_text(t.pid)
    tail = {f.get("function") for u in threads.values() for f in u.get("frames") or []
            if f.get("tail_call")}
    for fn in ("read_reply", "wait_event", "wait_signal", "nap", "wait_readable"):
        check(fn in tail, f"no tail-call frame of {fn}: tail calls {sorted(tail)}")
        check(f"\n{fn}(...) [tail call]\n" in text,
              f"the text dump doesn't show {fn} as a tail call:\n{text[:1500]}")
    return f"{count} parked threads equal gdb's"


def demangle(names):
    cp = subprocess.run(["c++filt"], input="\n".join(names) + "\n", capture_output=True,
                        text=True, timeout=30)
    check(cp.returncode == 0, f"c++filt failed: {cp.stderr.strip()[:200]}")
    return cp.stdout.splitlines()


def elf_symbols(path):
    cp = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True,
                        timeout=30)
    check(cp.returncode == 0, f"nm {path} failed: {cp.stderr.strip()[:200]}")
    return {line.split()[-1] for line in cp.stdout.splitlines() if line.strip()}


@test
def test_pprof_system_names():
    """pprof's Function.system_name is the mangled name the binary writes,
    and Function.name what c++filt makes of it (less a template's return
    type, as gdb drops it), or for a function DWARF gives no linkage name
    (a lambda's std::thread state), the name gdb builds from DWARF."""
    binary = os.path.join(TARGETS, "cppwait")
    with Target("cppwait") as t, tempfile.TemporaryDirectory(prefix="pw-sym-") as d:
        t.wait_ready()
        path = os.path.join(d, "cpp.pb.gz")
        res = run_pw(["-p", t.pid, "--dump", "--format", "pprof", "--min-park", "0", "-o", path])
        check(res.rc == 0, pw_error(res.rc, res.err))
        prof = decode_profile(path)
        stacks, _ = gdb.exact_backtraces(t.pid)
    gdb_names = {gdb.strip_parameters(f.name) for frames in stacks.values() for f in frames}
    mangled = [(name, system) for name, _, system in prof["functions"].values()
               if system != name]
    check(mangled, "no function has a system_name apart from its name")
    bad = [(n, s) for n, s in mangled if not s.startswith("_Z")]
    check(not bad, f"system_names that are no mangled C++ names: {bad[:5]}")
    plain = demangle([s for _, s in mangled])
    wrong = [(n, s, p) for (n, s), p in zip(mangled, plain)
             if not (p == n or (p.endswith(" " + n) and "<" in n) or n in gdb_names)]
    check(not wrong, f"names that are not c++filt's: {wrong[:3]}")
    own = elf_symbols(binary)
    run = [s for _, s in mangled if s.startswith("_ZN3svc6Worker3run")]
    check(len(run) == 2 and all(s in own for s in run),
          f"svc::Worker::run's two overloads: system_names {run}, in {binary}'s symbols: "
          f"{[s in own for s in run]}")
    return f"{len(mangled)} mangled names"
