"""Is this blob a notebook? The first steps of `notebook.read`, and the whole check the hub's
pre-receive hook runs on every pushed `.ipynb`: JSON, nesting, cells, then nbformat's own v4
JSON schema (the file for the notebook's minor version, as nbformat picks it).

Without importing nbformat: its import (jsonschema, ~250 ms of CPU) would cost a push more than
the push itself. The schema files are read from nbformat's folder, and checked by the small
draft-04 subset below: the keywords those files use, with jsonschema's meaning (Python's `re`,
bools are neither integers nor numbers, `$ref` hides its siblings). tests/notebooks/test_check.py
checks that the files use no other keyword and that nbformat agrees on every case it tries.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from functools import cache
from importlib.util import find_spec
from typing import Any

MAX_DEPTH = 100  # arrays and objects inside each other; nbformat, nbdime and json all cope
_REASON_MAX = 160


def short(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= _REASON_MAX else line[: _REASON_MAX - 3] + "..."


def depth(doc: Any) -> int:
    """How many arrays and objects deep `doc` goes (a scalar is 0); without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend(
                (child, level + 1) for child in children if isinstance(child, (dict, list))
            )
    return deepest


def parse(
    data: bytes | str,
    versions: tuple[int, ...] = (4,),
    hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Decode the JSON of a notebook (its bytes, or its text) of one of `versions`, each object
    through `hook` when given; raises ValueError with a short reason."""
    if not data or data.isspace():
        raise ValueError("the file is empty")
    try:
        text = data if isinstance(data, str) else data.decode("utf-8")
        doc = json.loads(text, object_hook=hook)
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise ValueError(f"JSON nested more than {MAX_DEPTH} levels deep") from None
    except MemoryError:
        raise ValueError("too many JSON values to hold in memory") from None
    if depth(doc) > MAX_DEPTH:
        raise ValueError(f"JSON nested more than {MAX_DEPTH} levels deep")
    if not isinstance(doc, dict) or ("cells" not in doc and "worksheets" not in doc):
        raise ValueError("JSON, but not a notebook (no cells)")
    if doc.get("nbformat") not in versions or not isinstance(doc.get("nbformat_minor"), int):
        need = " or ".join(map(str, versions))
        raise ValueError(f"nbformat {doc.get('nbformat')!r} is not supported (need {need})")
    return doc


def check_cells(doc: dict[str, Any]) -> None:
    """Refuse what nbformat would trip over or silently repair: cells that are not objects, and
    missing or duplicate cell ids (nbformat 4.5+)."""
    cells = doc.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise ValueError("cells is not a list of objects")
    if doc["nbformat_minor"] < 5:
        return
    seen: set[Any] = set()
    for i, cell in enumerate(cells):
        cell_id = cell.get("id")
        if not isinstance(cell_id, str):
            raise ValueError(f"cell {i} has no id (nbformat 4.5 requires a string)")
        if cell_id in seen:
            raise ValueError(f"cell {i} repeats the cell id {cell_id!r}")
        seen.add(cell_id)


def checked(
    data: bytes | str, hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The parsed notebook (each JSON object through `hook` when given), if `notebook.read`
    accepts it; else ValueError with the reason."""
    doc = parse(data, hook=hook)
    check_cells(doc)
    if error := schema_error(doc):
        raise ValueError(error)
    return doc


def problem(data: bytes) -> str | None:
    """Why `data` is not a notebook that `notebook.read` accepts, in one short line; or None."""
    try:
        checked(data)
    except ValueError as e:
        return short(str(e))
    return None


# --- nbformat's schema, read from its files ---------------------------------------------------


def _schema_folder() -> str:
    spec = find_spec("nbformat")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("nbformat is not installed on the hub")
    return os.path.join(next(iter(spec.submodule_search_locations)), "v4")


def _load(folder: str, name: str) -> dict[str, Any]:
    with open(os.path.join(folder, name), "rb") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@cache
def schema(minor: int) -> dict[str, Any]:
    """The schema nbformat validates a v4.`minor` notebook with (nbformat.validator)."""
    folder = _schema_folder()
    names = (n.split(".") for n in os.listdir(folder))  # nbformat.v4.<minor>.schema.json
    known = sorted(int(n[2]) for n in names if len(n) == 5 and n[2].isdigit() and n[3] == "schema")
    if minor in known:
        return _load(folder, f"nbformat.v4.{minor}.schema.json")
    if minor < known[0]:
        raise ValueError(f"nbformat 4.{minor} is not supported")
    # A notebook from the future: nbformat relaxes the newest schema just so.
    newest = _load(folder, "nbformat.v4.schema.json")
    newest["definitions"]["cell"]["oneOf"].append({"$ref": "#/definitions/unrecognized_cell"})
    newest["definitions"]["output"]["oneOf"].append({"$ref": "#/definitions/unrecognized_output"})
    return _relaxed(newest)


def _relaxed(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: True if k == "additionalProperties" else _relaxed(v) for k, v in node.items()}
    return [_relaxed(v) for v in node] if isinstance(node, list) else node


def schema_error(doc: dict[str, Any]) -> str | None:
    """The first place `doc` breaks nbformat's schema for its version, as `path: why`."""
    root = schema(doc["nbformat_minor"])
    found = _error(root, doc, root, ())
    if found is None:
        return None
    path, why = found
    return f"{'/'.join(map(str, path))}: {why}" if path else why


# --- the draft-04 keywords nbformat's schema files use ----------------------------------------

KEYWORDS = {
    "$ref", "type", "enum", "not", "oneOf", "minimum", "maximum", "minLength", "maxLength",
    "pattern", "items", "uniqueItems", "required", "properties", "patternProperties",
    "additionalProperties",
}  # fmt: skip
# No effect on validity. "item", "source_hidden" and "outputs_hidden" are slips in nbformat's
# files (for "items", and outside "properties"): unknown keywords, which validators ignore.
ANNOTATIONS = {"$schema", "description", "definitions", "item", "source_hidden", "outputs_hidden"}

Path_ = tuple[Any, ...]
Found = tuple[Path_, str] | None

_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


_ENUM = " is not one of "


def _shown(value: Any) -> str:
    """A value as an error names it: short, and without copying a large one whole."""
    if isinstance(value, (dict, list)):
        return f"this {_kind(value)}"
    return repr(value[:40] + "...") if isinstance(value, str) and len(value) > 40 else repr(value)


def _kind(value: Any) -> str:
    return next(name for name, test in _TYPES.items() if name != "integer" and test(value))


def _error(schema: dict[str, Any], value: Any, root: dict[str, Any], path: Path_) -> Found:
    if "$ref" in schema:  # draft 4: a $ref replaces its siblings
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _error(target, value, root, path)
    types = schema.get("type")
    if types is not None:
        wanted = types if isinstance(types, list) else [types]
        if not any(_TYPES[t](value) for t in wanted):
            return path, f"{_kind(value)} is not of type {' or '.join(wanted)}"
    if "enum" in schema and not any(type(value) is type(e) and value == e for e in schema["enum"]):
        return path, f"{_shown(value)}{_ENUM}{schema['enum']}"
    if "not" in schema and _error(schema["not"], value, root, path) is None:
        return path, f"{_shown(value)} is not allowed here"
    if "oneOf" in schema:
        found = _one_of(schema["oneOf"], value, root, path)
        if found:
            return found
    return _scalar_error(schema, value, path) or _container_error(schema, value, root, path)


def _one_of(options: list[Any], value: Any, root: dict[str, Any], path: Path_) -> Found:
    errors = [_error(option, value, root, path) for option in options]
    passed = errors.count(None)
    if passed == 1:
        return None
    if passed > 1:
        return path, "matches more than one of the allowed forms"
    # Say why the closest form failed: the one whose kind (cell_type, output_type) matched, then
    # the one whose error lies deepest.
    return max((e for e in errors if e), key=lambda e: (_ENUM not in e[1], len(e[0])))


def _scalar_error(schema: dict[str, Any], value: Any, path: Path_) -> Found:
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return path, f"{_shown(value)} is too short"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return path, f"{_shown(value)} is too long"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return path, f"{_shown(value)} does not match {schema['pattern']!r}"
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            return path, f"{value} is less than {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return path, f"{value} is more than {schema['maximum']}"
    return None


def _container_error(
    schema: dict[str, Any], value: Any, root: dict[str, Any], path: Path_
) -> Found:
    if isinstance(value, list):
        if "items" in schema:
            for i, item in enumerate(value):
                found = _error(schema["items"], item, root, (*path, i))
                if found:
                    return found
        if schema.get("uniqueItems"):
            keys = [json.dumps(item, sort_keys=True) for item in value]
            if len(set(keys)) != len(keys):
                return path, "has repeated items"
    if isinstance(value, dict):
        missing = [key for key in schema.get("required", ()) if key not in value]
        if missing:
            return path, f"{missing[0]!r} is a required property"
        return _properties_error(schema, value, root, path)
    return None


def _properties_error(
    schema: dict[str, Any], value: dict[str, Any], root: dict[str, Any], path: Path_
) -> Found:
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        rules = [properties[key]] if key in properties else []
        rules += [rule for pattern, rule in patterns.items() if re.search(pattern, key)]
        if not rules and extra is False:
            return path, f"additional property {short(repr(key))} is not allowed"
        if not rules and isinstance(extra, dict):
            rules = [extra]
        for rule in rules:
            found = _error(rule, item, root, (*path, key))
            if found:
                return found
    return None
