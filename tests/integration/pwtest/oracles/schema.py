# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""The JSON Schema of parkwatch's JSON output (user/out/parkwatch.schema.json)
as an oracle: every document the tests read passes through validate(), and
a document that drifts from the schema fails its test with the schema's
complaint.

The schema's top level is a oneOf; each alternative is a $defs entry named in
KINDS.  validate() says which one a document is, so a test can insist on the
kind it expects.  Changing the documents means changing the schema file,
KINDS here and pwtest/docs.py (the kinds' names and the top-level keys the
tests read), nothing else in this module.

Needs python3-jsonschema (Debian 12 has 4.10; draft 2020-12).  A Python
other than Debian's (pyenv, a venv) that lacks the module gets Debian's copy
from /usr/lib/python3/dist-packages.
"""

import json
import os
import sys

from pwtest import REPO, Fail, check
from pwtest.docs import LEAK_REPORT, PICTURE

try:
    import jsonschema
except ImportError:  # not in this interpreter's path: Debian's package, if installed
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import jsonschema
    except ImportError:
        jsonschema = None

SCHEMA_PATH = os.path.join(REPO, "user", "out", "parkwatch.schema.json")

# kind -> the $defs entry of the schema that describes it
KINDS = {
    PICTURE: "picture",
    LEAK_REPORT: "leak_report",
}

_validators = None   # {kind: validator of that alternative}

# Items of arrays already found valid: (id of the items schema, the item as a
# hashable key).  A picture of 10,000 threads holds 130,000 frames, nearly all
# repeats, and jsonschema takes ~10 us a node: validating each distinct
# frame once cuts a 13 s validation to about 2 s.  Sound because the schema
# is context-free (no unevaluated*, no dynamic refs): an item equal to one
# that passed against the same subschema passes too.  Only flat objects
# (scalar values; the type is part of the key, so 1 and True stay apart) are
# remembered, and only when they passed.
_passed = set()
_PASSED_MAX = 200_000


def _flat_key(item):
    if not isinstance(item, dict):
        return None
    key = []
    for k, v in item.items():
        if isinstance(v, (dict, list)):
            return None
        key.append((k, type(v), v))
    return tuple(key)


def _extended(cls):
    """CLS with an "items" that skips items equal to one that passed."""
    plain = cls.VALIDATORS["items"]

    def items(validator, subschema, instance, schema):
        if not isinstance(instance, list) or not isinstance(subschema, dict) \
                or "prefixItems" in schema:
            yield from plain(validator, subschema, instance, schema)
            return
        for index, item in enumerate(instance):
            key = _flat_key(item)
            if key is not None and (id(subschema), key) in _passed:
                continue
            errors = list(validator.descend(item, subschema, path=index))
            if errors:
                yield from errors
            elif key is not None:
                if len(_passed) > _PASSED_MAX:
                    _passed.clear()
                _passed.add((id(subschema), key))

    return jsonschema.validators.extend(cls, {"items": items})


def _load():
    global _validators
    if _validators is not None:
        return _validators
    if jsonschema is None:
        raise Fail("python3-jsonschema is not installed (apt-get install python3-jsonschema, "
                   "or make deps): the JSON output can't be checked against its schema")
    try:
        with open(SCHEMA_PATH) as f:
            schema = json.load(f)
    except (OSError, ValueError) as e:
        raise Fail(f"{SCHEMA_PATH}: {e}") from None
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        raise Fail(f"{SCHEMA_PATH} is not a valid schema: {e.message}") from None
    cls = _extended(cls)
    check(set(schema) <= {"$schema", "$id", "title", "description", "oneOf", "$defs"},
          f"{SCHEMA_PATH}: the top level has more than a oneOf of the kinds: {sorted(schema)}")
    validators = {}
    alternatives = [alt.get("$ref") for alt in schema.get("oneOf", [])]
    for kind, name in KINDS.items():
        ref = f"#/$defs/{name}"
        if ref not in alternatives:
            raise Fail(f"{SCHEMA_PATH}: the top-level oneOf has no {ref}")
        # the alternative as the top level, with the $defs its refs point into
        validators[kind] = cls(dict(schema["$defs"][name], **{"$schema": schema["$schema"],
                                                             "$defs": schema["$defs"]}))
    _validators = validators
    return validators


def _where(error):
    path = "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in error.absolute_path)
    return f"document{path}" if path else "the document"


def _complaint(error):
    return f"{_where(error)}: {error.message}"[:600]


def validate(doc, what, kind=None):
    """The kind of DOC (a key of KINDS); Fail naming WHAT and where the
    document breaks the schema, or when it is not of KIND (if given)."""
    validators = _load()
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"unknown document kind {kind!r}")
        error = jsonschema.exceptions.best_match(validators[kind].iter_errors(doc))
        if error is not None:
            raise Fail(f"{what}: not a valid {kind} document per parkwatch.schema.json: "
                       f"{_complaint(error)}")
        return kind
    matched = [k for k in KINDS if validators[k].is_valid(doc)]
    if len(matched) == 1:  # the top level is that oneOf and nothing else: valid
        return matched[0]
    if matched:
        raise Fail(f"{what}: parkwatch.schema.json's oneOf matches {len(matched)} kinds "
                   f"({matched}): the schema needs fixing")
    # the kind it was meant to be is, most likely, the one it breaks deepest
    errors = [jsonschema.exceptions.best_match(validators[k].iter_errors(doc)) for k in KINDS]
    error = max(errors, key=lambda e: len(e.absolute_path))
    raise Fail(f"{what}: not valid per parkwatch.schema.json as any of "
               f"{', '.join(KINDS)}; {_complaint(error)}")
