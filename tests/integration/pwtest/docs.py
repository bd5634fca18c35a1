# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The top-level key names of parkwatch's JSON documents, in one place.

user/out/parkwatch.schema.json says what the documents hold; tests read
their top levels only through these functions, so renaming or merging keys
there is a change here (and in the schema), not in every test.  Below the
top level (a unit's "reason", a frame's "function") the tests use the
names directly.
"""

# The kinds of document (the alternatives of the schema's oneOf).
PICTURE = "picture"            # threads and goroutines alike (and a live run's lines)
LEAK_REPORT = "leak_report"    # --leaks


# ------------------------------------------------ the picture

def units(doc):
    """Every unit, threads and goroutines."""
    return doc["units"]


def threads(doc):
    return [u for u in doc["units"] if u["kind"] == "thread"]


def by_tid(doc):
    return {u["id"]: u for u in threads(doc)}


def goroutines(doc):
    return [u for u in doc["units"] if u["kind"] == "goroutine"]


def groups(doc):
    return doc["groups"]


def processes(doc):
    return doc["processes"]


def process(doc, pid):
    """The entries of `processes` for PID (one, if all is well)."""
    return [p for p in doc["processes"] if p.get("pid") == pid]


def exited(doc):
    return doc.get("exited") or []


def states(doc):
    return doc["states"]


def units_total(doc):
    return doc["units_total"]


def parked_total(doc):
    return doc["parked_total"]


# ------------------------------------------------ a process shown by its goroutines

def go_process(doc):
    """The one process of a goroutine picture."""
    procs = [p for p in doc["processes"] if p["unit_kind"] == "goroutine"]
    if len(procs) != 1:
        raise KeyError(f"{len(procs)} goroutine processes in the picture")
    return procs[0]


def goroutines_total(doc):
    return go_process(doc)["units"]


def go_version(doc):
    return go_process(doc)["goroutine"]["go_version"]


def go_pid(doc):
    return go_process(doc)["pid"]


def dropped(doc):
    return go_process(doc)["goroutine"]["dropped"]


# ------------------------------------------------ the --leaks report

def suspects(doc):
    return doc["suspects"]


def watched_ns(doc):
    return doc["watched_ns"]


# ------------------------------------------------ within any of them

def fnames(frames):
    """Function names of a frames array, leaf first ("" where unknown)."""
    return [f.get("function") or "" for f in frames or []]
