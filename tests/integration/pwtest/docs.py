# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The top-level key names of parkwatch's JSON documents, in one place.

user/out/parkwatch.schema.json says what the documents hold; tests read
their top levels only through these functions, so renaming or merging keys
there is a change here (and in the schema), not in every test.  Below the
top level (a thread's "reason", a frame's "function") the tests use the
names directly.
"""

# The kinds of document (the alternatives of the schema's oneOf).
THREADS = "threads"            # the picture of threads (and a live run's lines)
GOROUTINES = "goroutines"      # the goroutines of a Go program
LEAK_REPORT = "leak_report"    # --leaks


# ------------------------------------------------ the picture of threads

def threads(doc):
    return doc["threads"]


def by_tid(doc):
    return {t.get("tid"): t for t in doc.get("threads") or []}


def groups(doc):
    """Thread groups, or in a goroutine document goroutine groups."""
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


def threads_total(doc):
    return doc["threads_total"]


def parked_total(doc):
    return doc["parked_total"]


# ------------------------------------------------ goroutines of a Go program

def goroutines(doc):
    return doc["goroutines"]


def goroutines_total(doc):
    return doc["goroutines_total"]


def go_version(doc):
    return doc["go_version"]


def go_pid(doc):
    return doc["pid"]


def dropped(doc):
    return doc["dropped"]


# ------------------------------------------------ the --leaks report

def suspects(doc):
    return doc["suspects"]


def watched_ns(doc):
    return doc["watched_ns"]


# ------------------------------------------------ within any of them

def fnames(frames):
    """Function names of a frames array, leaf first ("" where unknown)."""
    return [f.get("function") or "" for f in frames or []]
