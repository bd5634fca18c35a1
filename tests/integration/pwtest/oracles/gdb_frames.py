# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Run inside gdb (`gdb -x gdb_frames.py`) after attaching: prints every
thread's frames, innermost first, one line each:

    PWFRAME <tid> <kind> <name>\t<file>\t<line>

kind is normal, inline, tailcall or other (signal trampolines, ...); name is
gdb's print name (demangled) or ?? ; file and line are empty when gdb has
no line for the frame.  Read by gdb.exact_backtraces."""

import gdb  # noqa: F401 (provided by gdb)

MAX_FRAMES = 4096
KINDS = {gdb.NORMAL_FRAME: "normal", gdb.INLINE_FRAME: "inline",
         gdb.TAILCALL_FRAME: "tailcall"}


def frames_of(thread):
    thread.switch()
    frame = gdb.newest_frame()
    count = 0
    while frame is not None and count < MAX_FRAMES:
        name = frame.name() or "??"
        sal = frame.find_sal()
        path = sal.symtab.fullname() if sal and sal.symtab else ""
        line = sal.line if sal and sal.symtab else 0
        yield KINDS.get(frame.type(), "other"), name, path, line
        count += 1
        try:
            frame = frame.older()
        except gdb.error:
            break


for thread in gdb.selected_inferior().threads():
    tid = thread.ptid[1]
    try:
        for kind, name, path, line in frames_of(thread):
            print(f"PWFRAME {tid} {kind} {name}\t{path}\t{line}")
    except gdb.error as e:
        print(f"PWERROR {tid} {e}")
