#!/usr/bin/env python3
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Checks that user/ keeps its layers: every #include goes down, never up
or sideways, and no two modules include each other, directly or around a
cycle.

Usage: check_layers.py USER_DIR

A module is a .c file with its .h (proc/procs.c and proc/procs.h).  Each
folder of USER_DIR is a layer; main.c, at the top, may include anything.
Prints one line per violation and exits 1 if there is any.
"""
import os
import re
import sys

# Lowest first.  Folders of one rank are siblings and may not include each
# other, except for the pairs in SIDEWAYS.
RANKS = {
    "util": 0,
    "model": 1,
    "kernel": 2, "proc": 2, "go": 2,    # the sources: BPF, /proc + libdw, Go runtime memory
    "collect": 3,
    "trend": 4,
    "out": 5,
    "serve": 6,
    "cli": 7,
    "": 8,                              # main.c
}
SIDEWAYS = {("go", "proc")}             # the Go reader reads memory through proc/procmem
# Layers that see only the picture: never the sources or the collector.
NO_SOURCES = {"trend", "out", "serve"}
SOURCES = {"kernel", "proc", "go", "collect"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def modules(root):
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith((".c", ".h")):
                path = os.path.relpath(os.path.join(folder, name), root)
                yield path


def layer(path):
    return os.path.dirname(path)


def check_edge(src, dst, problems):
    a, b = layer(src), layer(dst)
    if a not in RANKS:
        problems.append(f"{src}: folder '{a}' is not a known layer")
        return
    if b not in RANKS:
        problems.append(f"{src}: includes {dst}, outside every layer")
        return
    if a == b:
        return
    if a in NO_SOURCES and b in SOURCES:
        problems.append(f"{src}: includes {dst}: {a}/ reads pictures only, never {b}/")
    elif RANKS[b] > RANKS[a]:
        problems.append(f"{src}: includes {dst}: {b}/ is above {a}/")
    elif RANKS[b] == RANKS[a] and (a, b) not in SIDEWAYS:
        problems.append(f"{src}: includes {dst}: {a}/ and {b}/ are siblings")


def find_cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        print("usage: check_layers.py USER_DIR", file=sys.stderr)
        return 2
    root = sys.argv[1]
    problems, graph, files = [], {}, set(modules(root))
    top_level_c = [f for f in files if not layer(f) and f.endswith(".c")]
    if len(top_level_c) > 1:
        problems.append(f"{root}: more than one .c at the top: {', '.join(sorted(top_level_c))}")
    for src in sorted(files):
        with open(os.path.join(root, src), encoding="utf-8") as f:
            text = f.read()
        for dst in INCLUDE.findall(text):
            if dst not in files:
                if "/" in dst:
                    problems.append(f"{src}: includes {dst}, which is not in {root}")
                continue  # park.h, generated headers
            check_edge(src, dst, problems)
            a, b = os.path.splitext(src)[0], os.path.splitext(dst)[0]
            # a folder's X_internal.h holds private types its modules share:
            # it belongs to the folder, not to one module
            if a != b and not a.endswith("_internal") and not b.endswith("_internal"):
                graph.setdefault(a, set()).add(b)
    for cycle in find_cycles(graph):
        problems.append("include cycle between modules: " + " <-> ".join(cycle))
    for line in problems:
        print(f"check_layers: {line}")
    print(f"check_layers: {len(files)} files, {sum(len(v) for v in graph.values())} "
          f"module edges, {len(problems)} problem{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
