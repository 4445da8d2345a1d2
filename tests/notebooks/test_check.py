"""Tests for git_nbcollab.notebooks.check: the hub's notebook check, on real notebooks and on
what someone would push to break the hub, against nbformat (through `notebook.read`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import check, notebook
from tests.box import FIXTURES

SALES = json.loads((FIXTURES / "notebooks" / "sales.ipynb").read_bytes())
OLD = json.loads((FIXTURES / "notebooks" / "old_format.ipynb").read_bytes())


def _nbdime_notebooks() -> list[Path]:
    spec = find_spec("nbdime")
    assert spec and spec.submodule_search_locations, "nbdime ships real notebooks in its wheel"
    return sorted(
        Path(next(iter(spec.submodule_search_locations)), "tests", "files").glob("*.ipynb")
    )


REAL = sorted((FIXTURES / "notebooks").glob("*.ipynb")) + _nbdime_notebooks()


def nested(levels: int) -> Any:
    """A notebook whose metadata goes `levels` arrays and objects deep in all."""
    doc = copy.deepcopy(SALES)
    value: Any = []
    for _ in range(levels - 3):  # the notebook, its metadata and the key's list are 3
        value = [value]
    doc["metadata"]["deep"] = value
    return doc


def changed(base: dict[str, Any], edit: Callable[[dict[str, Any]], Any]) -> bytes:
    doc = copy.deepcopy(base)
    edit(doc)
    return json.dumps(doc).encode()


def code_cell(doc: dict[str, Any]) -> dict[str, Any]:
    cell: dict[str, Any] = doc["cells"][1]
    return cell


HOSTILE: dict[str, tuple[bytes, str]] = {
    "not json": (b"{not json", "not JSON"),
    "a json list": (b"[1,2,3]", "not a notebook"),
    "a json string": (b'"cells"', "not a notebook"),
    "empty": (b"", "empty"),
    "latin-1": ('{"cells": "é"}'.encode("latin-1"), "not UTF-8"),
    "nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, "nested more than"),
    "nested 5,000 deep in a notebook": (
        json.dumps(SALES)
        .replace('"metadata": {}', '"metadata": {"x": ' + "[" * 5000 + "]" * 5000 + "}", 1)
        .encode(),
        "nested more than",
    ),
    "one level too deep": (json.dumps(nested(check.MAX_DEPTH + 1)).encode(), "nested more than"),
    "nbformat 3": (changed(SALES, lambda d: d.update(nbformat=3)), "nbformat 3"),
    "minor is text": (changed(SALES, lambda d: d.update(nbformat_minor="5")), "not supported"),
    "cells is an object": (changed(SALES, lambda d: d.update(cells={})), "cells is not a list"),
    "cell is a number": (changed(SALES, lambda d: d["cells"].append(1)), "cells is not a list"),
    "missing cell id": (changed(SALES, lambda d: code_cell(d).pop("id")), "has no id"),
    "repeated cell id": (
        changed(SALES, lambda d: code_cell(d).update(id=d["cells"][0]["id"])),
        "repeats the cell id",
    ),
    "cell id with a space": (
        changed(SALES, lambda d: code_cell(d).update(id="a b")),
        "does not match",
    ),
    "cell id of 65 characters": (
        changed(SALES, lambda d: code_cell(d).update(id="a" * 65)),
        "too long",
    ),
    "code cell without outputs": (
        changed(SALES, lambda d: code_cell(d).pop("outputs")),
        "'outputs'",
    ),
    "unknown cell type": (
        changed(SALES, lambda d: code_cell(d).update(cell_type="shell")),
        "cells/1",
    ),
    "unknown output type": (
        changed(SALES, lambda d: code_cell(d)["outputs"][0].update(output_type="x")),
        "cells/1",
    ),
    "negative execution count": (
        changed(SALES, lambda d: code_cell(d).update(execution_count=-1)),
        "less than 0",
    ),
    "execution count true": (
        changed(SALES, lambda d: code_cell(d).update(execution_count=True)),
        "not of type",
    ),
    "execution count 1.0": (
        changed(SALES, lambda d: code_cell(d).update(execution_count=1.0)),
        "not of type",
    ),
    "source is a number": (changed(SALES, lambda d: code_cell(d).update(source=7)), "cells/1"),
    "extra cell property": (changed(SALES, lambda d: code_cell(d).update(shell="rm")), "'shell'"),
    "extra top-level property": (changed(SALES, lambda d: d.update(x=1)), "'x'"),
    "kernelspec without a name": (
        changed(SALES, lambda d: d["metadata"].update(kernelspec={"display_name": "P"})),
        "'name' is a required property",
    ),
    "repeated tags": (
        changed(SALES, lambda d: code_cell(d)["metadata"].update(tags=["a", "a"])),
        "repeated",
    ),
    "mime data not a string": (
        changed(SALES, lambda d: code_cell(d)["outputs"][0]["data"].update({"text/plain": 5})),
        "cells/1",
    ),
    "old format, missing metadata": (changed(OLD, lambda d: d.pop("metadata")), "'metadata'"),
}

VALID: dict[str, bytes] = {
    **{path.name: path.read_bytes() for path in REAL[:4]},
    "deep as allowed": json.dumps(nested(check.MAX_DEPTH)).encode(),
    "json output data": changed(
        SALES,
        lambda d: code_cell(d)["outputs"][0]["data"].update({"application/json": {"a": [1]}}),
    ),
    "a cell from a future minor": changed(
        SALES,
        lambda d: (
            d.update(nbformat_minor=9)
            or d["cells"].append({"cell_type": "new", "id": "n", "metadata": {}})
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_check_refuses_what_is_not_a_notebook_and_says_why(case: str) -> None:
    data, why = HOSTILE[case]
    reason = check.problem(data)
    assert reason is not None and why in reason, reason
    assert "\n" not in reason and len(reason) <= 160


@pytest.mark.parametrize("case", sorted(VALID))
def test_the_check_passes_notebooks(case: str) -> None:
    assert check.problem(VALID[case]) is None


def _nbformat_accepts(data: bytes) -> bool:
    try:
        notebook.read(data, "it")
    except UserError:
        return False
    return True


@pytest.mark.parametrize(
    "case",
    [f"hostile: {c}" for c in sorted(HOSTILE)]
    + [f"real: {p.name}" for p in REAL]
    + [f"valid: {c}" for c in sorted(VALID)],
)
def test_nbformat_agrees_with_the_check(case: str) -> None:
    """Differential: the check and nbformat (as `notebook.read` runs it) give the same answer."""
    kind, name = case.split(": ", 1)
    data = {
        "hostile": lambda: HOSTILE[name][0],
        "valid": lambda: VALID[name],
        "real": lambda: next(p for p in REAL if p.name == name).read_bytes(),
    }[kind]()
    assert (check.problem(data) is None) == _nbformat_accepts(data), check.problem(data)


def _keywords(node: Any, root: dict[str, Any], seen: set[str]) -> set[str]:
    """Every keyword used where a schema stands, following $refs (not property names)."""
    if not isinstance(node, dict):
        return set()
    found = set(node)
    ref = node.get("$ref")
    if ref and ref not in seen:
        seen.add(ref)
        target = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        found |= _keywords(target, root, seen)
    subs = [*node.get("properties", {}).values(), *node.get("patternProperties", {}).values()]
    subs += [node.get(key) for key in ("items", "not", "additionalProperties")]
    subs += node.get("oneOf", [])
    for sub in subs:
        found |= _keywords(sub, root, seen)
    return found


def test_nbformats_schema_files_use_only_the_keywords_the_check_knows() -> None:
    folder = Path(check._schema_folder())
    files = sorted(folder.glob("nbformat.v4*.schema.json"))
    assert len(files) >= 6
    for path in files:
        schema = json.loads(path.read_bytes())
        used = _keywords(schema, schema, set())
        assert used <= check.KEYWORDS | check.ANNOTATIONS, (path.name, used - check.KEYWORDS)


def test_the_check_does_not_import_nbformat() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from git_nbcollab.notebooks import check;"
        f" assert check.problem({VALID['sales.ipynb']!r}) is None;"
        " print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbformat', 'jsonschema')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
