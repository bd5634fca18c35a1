# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Our own reader of pprof files: a decoder of the protobuf wire format (no
schema, no generated code) and of profile.proto's messages on top of it, so
the tests see exactly what parkwatch wrote, independently of its encoder."""

import gzip

from pwtest import Fail, check


def _pb_varint(buf, i):
    value = shift = 0
    while True:
        check(i < len(buf), "profile: truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _pb_fields(buf):
    """[(field number, wire type, value)] of one message: the wire format, no schema."""
    out, i = [], 0
    while i < len(buf):
        key, i = _pb_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _pb_varint(buf, i)
        elif wire == 1:
            value, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wire == 2:
            n, i = _pb_varint(buf, i)
            value, i = bytes(buf[i:i + n]), i + n
        elif wire == 5:
            value, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise Fail(f"profile: field {field} has wire type {wire}")
        out.append((field, wire, value))
    check(i == len(buf), "profile: message overruns its buffer")
    return out


def _pb_ints(fields, num, signed=False):
    """Every value of a repeated integer field, packed or not."""
    vals = []
    for field, wire, value in fields:
        if field != num:
            continue
        if wire == 2:
            j = 0
            while j < len(value):
                x, j = _pb_varint(value, j)
                vals.append(x)
        else:
            vals.append(value)
    if signed:
        vals = [v - (1 << 64) if v >= 1 << 63 else v for v in vals]
    return vals


def _pb_int(fields, num):
    vals = _pb_ints(fields, num, signed=True)
    return vals[-1] if vals else 0


def decode_profile(path):
    """A pprof profile (gzip'd profile.proto) as plain Python values; every
    string index and id reference is checked on the way."""
    with open(path, "rb") as f:
        raw = f.read()
    check(raw[:2] == b"\x1f\x8b", f"{path}: not gzip (starts {raw[:2]!r})")
    try:
        top = _pb_fields(gzip.decompress(raw))
    except (OSError, EOFError) as e:
        raise Fail(f"{path}: bad gzip: {e}") from None
    strings = [v.decode("utf-8") for f, w, v in top if f == 6]
    check(strings and strings[0] == "", f"string_table[0] is not empty: {strings[:1]}")

    def s(idx):
        check(0 <= idx < len(strings), f"string index {idx} outside the table ({len(strings)})")
        return strings[idx]

    def sub(num):
        return [_pb_fields(v) for f, w, v in top if f == num]

    def value_type(fs):
        return (s(_pb_int(fs, 1)), s(_pb_int(fs, 2)))

    prof = {"strings": strings, "sample_types": [value_type(fs) for fs in sub(1)]}
    period_types = sub(11)
    prof["period_type"] = value_type(period_types[-1]) if period_types else None
    for name, num in (("time_nanos", 9), ("duration_nanos", 10), ("period", 12)):
        prof[name] = _pb_int(top, num)
    prof["default_sample_type"] = s(_pb_int(top, 14))
    prof["comments"] = [s(i) for i in _pb_ints(top, 13, signed=True)]
    prof["functions"] = {}
    for fs in sub(5):
        prof["functions"][_pb_int(fs, 1)] = (s(_pb_int(fs, 2)), s(_pb_int(fs, 4)),
                                             s(_pb_int(fs, 3)))
    prof["mappings"] = []   # in file order: the first is the main binary
    for fs in sub(3):
        prof["mappings"].append({
            "id": _pb_int(fs, 1), "start": _pb_int(fs, 2), "limit": _pb_int(fs, 3),
            "file": s(_pb_int(fs, 5)), "build_id": s(_pb_int(fs, 6)),
            "flags": tuple(bool(_pb_int(fs, n)) for n in (7, 8, 9, 10))})
    mapping_ids = {m["id"] for m in prof["mappings"]}
    prof["locations"] = {}
    for fs in sub(4):
        lines = [(_pb_int(lf, 1), _pb_int(lf, 2))
                 for lf in (_pb_fields(v) for f, w, v in fs if f == 4)]
        loc = {"mapping": _pb_int(fs, 2), "address": _pb_int(fs, 3), "lines": lines}
        lid = _pb_int(fs, 1)
        check(lid and lid not in prof["locations"], f"location id {lid} zero or repeated")
        check(loc["mapping"] == 0 or loc["mapping"] in mapping_ids,
              f"location {lid}: mapping {loc['mapping']} does not exist")
        check(all(fid in prof["functions"] for fid, _ in lines),
              f"location {lid}: a function id of {lines} does not exist")
        prof["locations"][lid] = loc
    prof["samples"] = []
    for fs in sub(2):
        labels = {}
        for lf in (_pb_fields(v) for f, w, v in fs if f == 3):
            key, sidx = s(_pb_int(lf, 1)), _pb_int(lf, 2)
            labels[key] = s(sidx) if sidx else _pb_int(lf, 3)
        locs = _pb_ints(fs, 1)
        check(all(lid in prof["locations"] for lid in locs),
              f"a sample's location ids {locs} do not all exist")
        prof["samples"].append({"locations": locs, "values": _pb_ints(fs, 2, signed=True),
                                "labels": labels})
    return prof


def profile_names(prof, sample):
    """Function names of a sample, leaf first, inlined frames expanded innermost first."""
    names = []
    for lid in sample["locations"]:
        for fid, _ in prof["locations"][lid]["lines"]:
            names.append(prof["functions"][fid][0])
    return names
