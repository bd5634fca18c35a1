# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""What goroutines wait on: channels and the runtime's semaphores.

tests/targets/go/chans parks goroutines on channels and semaphores whose
truth it knows, and prints it on its READY line once its own runtime.Stack
shows every one of them parked: each channel's address (%p), len, cap and
how many goroutines it started to send and to receive on it, the mutex's
and the WaitGroup's addresses and sizes, and how many goroutines each shape
function started.  `parkwatch -p PID --dump --format json` must say, for
every goroutine of each shape (told by its first main.* frame):

  * privateRecv (N goroutines, each on its own unbuffered channel): kind
    channel, one of the N addresses each, len 0, cap 0, recvq 1; their
    group has objects == N;
  * sharedRecv, sharedSend: the shared channel's address, its len and cap
    (empty; full, len == cap), sendq and recvq the goroutines started on
    it; their groups have objects == 1;
  * every channel's element type as %T names it (int, string, *main.job,
    struct {}), but in a stripped build: runtime.types is .symtab's;
  * nilRecv, nilSend, selectNone: kind channel, no address, never_wakes;
  * selectTwo: the channel of lower address of its two cases (the runtime's
    lock order, as the README says);
  * mutexHolder: its own channel; mutexWaiter: kind sema inside the mutex,
    owner unknown; wgWaiter: kind sema inside the WaitGroup, no owner.  A
    semaphore waiter's address before Go 1.26 comes from runtime.semtable,
    which a stripped build's runtime.semrelease1 names in its code.

On Go 1.19 and the newest release of the Makefile's GO_RELEASES, each with
DWARF, linked with -w (the layout tables) and stripped (-s -w).
"""

import os

from pwtest import check
from pwtest import docs, gotargets
from pwtest.parkwatch import parse_output, run_pw
from pwtest.procs import Target
from pwtest.runner import test

RELEASES = ("1.19", gotargets.RELEASES[-1])
FLAVOURS = ("", "-nodwarf", "-stripped")
PW_TIMEOUT = 120.0
READY_TIMEOUT = 60.0
CHANNEL_SHAPES = {"main.privateRecv", "main.sharedRecv", "main.sharedSend", "main.selectTwo",
                  "main.mutexHolder"}
NEVER_WAKES = {"main.nilRecv", "main.nilSend", "main.selectNone"}


def shape_of(frames):
    """The first main.* function of a goroutine's frames: its shape."""
    for f in frames:
        if f["function"].startswith("main.") and not f["function"].startswith("main.main"):
            return f["function"]
    return None


def expect_chan(what, on, chan, types_known):
    """ON (a blocked_on) is the channel CHAN of the READY line; its element
    type's name is read from runtime.types, which only .symtab names."""
    check(on and on["kind"] == "channel", f"{what}: blocked_on {on}")
    check(on.get("addr") == chan["addr"], f"{what}: addr {on.get('addr')}, the program says "
                                          f"{chan['addr']}")
    got = on.get("chan")
    want = {"len": chan["len"], "cap": chan["cap"], "closed": False, "sendq": chan["send"],
            "recvq": chan["recv"]}
    check(got and {k: got.get(k) for k in want} == want,
          f"{what}: chan {got}, the program says {want}")
    elem = chan["elem"] if types_known else None
    check(got.get("elem_type") == elem, f"{what}: elem_type {got.get('elem_type')!r}, "
                                        f"expected {elem!r}")
    check(not on["never_wakes"] and not on["owner_unknown"] and "owner_tid" not in on,
          f"{what}: {on}")


def expect_sema(what, on, obj, owner_unknown):
    check(on and on["kind"] == "sema", f"{what}: blocked_on {on}")
    check(on["owner_unknown"] == owner_unknown and not on["never_wakes"],
          f"{what}: owner_unknown {on['owner_unknown']}, expected {owner_unknown}")
    start = int(obj["addr"], 16)
    check("addr" in on and start <= int(on["addr"], 16) < start + obj["size"],
          f"{what}: semaphore {on.get('addr')}, not inside the object at {obj['addr']} "
          f"({obj['size']} bytes)")


def check_build(release, flavour):
    path = gotargets.binary(release, "chans" + flavour)
    gotargets.make([path])
    what = f"go{release}{flavour}"
    with Target("chans", path=path) as t:
        truth = t.wait_ready(READY_TIMEOUT)
        res = run_pw(["-p", t.pid, "--dump", "--format", "json"], timeout=PW_TIMEOUT)
    check(res.rc == 0, f"{what}: parkwatch exit {res.rc}: {res.err.strip()[:300]}")
    doc = parse_output(res.out, f"{what} --format json", docs.PICTURE)
    by_shape = {}
    for g in docs.goroutines(doc):
        shape = shape_of(g.get("frames", []))
        if shape in truth["counts"]:
            by_shape.setdefault(shape, []).append(g)
    counts = {s: len(gs) for s, gs in by_shape.items()}
    check(counts == truth["counts"], f"{what}: goroutines per shape {counts}, the program "
                                     f"started {truth['counts']}")
    types_known = flavour != "-stripped"

    private = {c["addr"]: c for c in truth["private"]}
    seen = set()
    for g in by_shape["main.privateRecv"]:
        on = g.get("blocked_on") or {}
        check(on.get("addr") in private, f"{what}: goroutine {g['id']}: {on.get('addr')} is "
                                         f"none of the private channels")
        expect_chan(f"{what}: goroutine {g['id']}", on, private[on["addr"]], types_known)
        seen.add(on["addr"])
    check(seen == set(private), f"{what}: private channels {sorted(seen)} of {sorted(private)}")
    lowest = min(truth["select"], key=lambda c: int(c["addr"], 16))
    for shape, chan in (("main.sharedRecv", truth["shared_recv"]),
                        ("main.sharedSend", truth["shared_send"]),
                        ("main.selectTwo", lowest), ("main.mutexHolder", truth["holder"])):
        for g in by_shape[shape]:
            expect_chan(f"{what}: {shape} goroutine {g['id']}", g.get("blocked_on"), chan,
                        types_known)
    for shape in NEVER_WAKES:
        for g in by_shape[shape]:
            on = g.get("blocked_on") or {}
            check(on.get("kind") == "channel" and on["never_wakes"] and "addr" not in on
                  and "chan" not in on, f"{what}: {shape} goroutine {g['id']}: {on}")
    for g in by_shape["main.mutexWaiter"]:
        expect_sema(f"{what}: mutexWaiter {g['id']}", g.get("blocked_on"), truth["mutex"], True)
    for g in by_shape["main.wgWaiter"]:
        expect_sema(f"{what}: wgWaiter {g['id']}", g.get("blocked_on"), truth["waitgroup"],
                    False)

    objects = {}
    for group in docs.groups(doc):
        shape = shape_of(group.get("frames", []))
        if shape in truth["counts"]:
            objects[shape] = objects.get(shape, 0) + group["objects"]
    want = {"main.privateRecv": len(private), "main.sharedRecv": 1, "main.sharedSend": 1,
            "main.selectTwo": 1, "main.mutexHolder": 1, "main.nilRecv": 0, "main.nilSend": 0,
            "main.selectNone": 0, "main.mutexWaiter": 1, "main.wgWaiter": 1}
    check(objects == want, f"{what}: objects per group {objects}, expected {want}")
    return (f"{what}: {sum(counts.values())} goroutines as the program says "
            f"(objects: {len(private)} private, 1 shared)")


def register(release, flavour):
    name = f"go_chans_{release}{flavour.replace('-', '_')}"
    test(name)(lambda: check_build(release, flavour))


for _release in RELEASES:
    for _flavour in FLAVOURS:
        register(_release, _flavour)
