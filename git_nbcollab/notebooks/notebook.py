"""Reading, writing and merging notebooks: the one module that imports nbformat and nbdime.

Both are imported inside the functions that need them, so importing this module stays cheap.
The merge rules themselves are pure Python in `git_nbcollab.notebooks.cellmerge`.
"""

from __future__ import annotations

import re
import sys
import uuid
import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import check
from git_nbcollab.notebooks.cellmerge import (
    Conflict,
    MergeResult,
    Options,
    merge_notebooks,
    with_unique_ids,
)

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = ["Conflict", "MergeResult", "dumps", "merge", "read"]


def _nbformat() -> ModuleType:
    """Import nbformat, without the grammar that makes the import cost a second and a half."""
    # jsonschema imports rfc3987_syntax (only for the "iri" format check, which the notebook
    # schema never uses) and that module compiles a lark grammar at import: ~1.3 s here.
    # A None entry in sys.modules makes that optional import fail fast, and jsonschema skips it.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import nbformat

    return nbformat


def _validation_reason(error: Any) -> str:
    path = "/".join(str(p) for p in getattr(error, "absolute_path", ()) or ())
    message = str(getattr(error, "message", "") or error).split("\n", 1)[0]
    return check.short(f"{path}: {message}" if path else message)


def _validate(nb: Any, what: str) -> None:
    nbformat = _nbformat()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise UserError(f"{what} is not a valid notebook: {_validation_reason(e)}") from None


def read(data: bytes, what: str) -> NotebookNode:
    """Parse and validate a v4 notebook; `what` names it in the one-line UserError if invalid."""
    try:
        doc = check.parse(data)
        check.check_cells(doc)
    except ValueError as e:
        raise UserError(f"{what} is not a valid notebook: {check.short(str(e))}") from None
    _validate(doc, what)
    return _nbformat().v4.to_notebook_json(doc)


def dumps(nb: Any) -> bytes:
    """Serialise as Jupyter does (nbformat's writer: sorted keys, indent 1, lines split), with the
    trailing newline Jupyter adds."""
    light, payloads = _swap_payloads(nb)
    text: str = _nbformat().v4.writes(_nbformat().from_dict(light))
    if payloads:  # put back the payloads, escaped as json would have: not at all (see below)
        text = _TOKEN.sub(lambda m: payloads.get(m.group(1), m.group(0)), text)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


# json's indenting encoder runs in Python and spends ~0.25 s on a 20 MB notebook escaping image
# payloads that need no escaping (base64 text). dumps swaps them for tokens that no notebook can
# contain (a NUL and a random hex), lets nbformat write the rest, and puts the payloads back.
_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")
_TOKEN = re.compile(r"\\u0000([0-9a-f]{32}-[0-9]+)")
_PAYLOAD_MIN = 1024


def _swap_payloads(nb: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A shallow copy of nb whose large base64 image outputs are tokens; the payloads by token."""
    payloads: dict[str, str] = {}
    prefix = uuid.uuid4().hex
    cells = []
    for cell in nb["cells"]:
        outputs = [_swap_output(out, payloads, prefix) for out in cell.get("outputs", ())]
        cells.append({**cell, "outputs": outputs} if "outputs" in cell else cell)
    return {**nb, "cells": cells}, payloads


def _swap_output(output: Any, payloads: dict[str, str], prefix: str) -> Any:
    data = output.get("data")
    if not isinstance(data, dict):
        return output
    swapped = dict(data)
    for mime, value in data.items():
        # image/svg+xml is text that nbformat splits into lines: leave it to nbformat.
        if not mime.startswith("image/") or mime == "image/svg+xml" or not isinstance(value, str):
            continue
        if len(value) >= _PAYLOAD_MIN and _BASE64.fullmatch(value):
            key = f"{prefix}-{len(payloads)}"
            payloads[key] = value
            swapped[mime] = f"\0{key}"
    return {**output, "data": swapped}


def _cell_keys(base: Any, ours: Any, theirs: Any) -> tuple[list[str], list[str], list[str]]:
    """A matching key per cell: the cell ids when every cell has one, else an nbdime alignment."""
    sides = (base, ours, theirs)
    if all("id" in cell for nb in sides for cell in nb.cells):
        base_ids, ours_ids, theirs_ids = ([str(cell.id) for cell in nb.cells] for nb in sides)
        return base_ids, ours_ids, theirs_ids
    base_keys = [f"b{i}" for i in range(len(base.cells))]
    return base_keys, _align(base, ours, "o"), _align(base, theirs, "t")


def _skeleton(nb: Any) -> dict[str, Any]:
    """The cells' type and source only: what nbdime needs to align cells, without outputs."""
    cells = [
        {"cell_type": c.cell_type, "source": c.source, "metadata": {}}
        | ({"outputs": [], "execution_count": None} if c.cell_type == "code" else {})
        for c in nb.cells
    ]
    return {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells}


def _align(base: Any, other: Any, prefix: str) -> list[str]:
    """Keys for `other`'s cells: `b<i>` where nbdime matches base cell i, else `<prefix><j>`."""
    _nbformat()
    from nbdime.diffing.notebooks import diff_notebooks

    diff = diff_notebooks(_skeleton(base), _skeleton(other))
    ops: list[dict[str, Any]] = next((d["diff"] for d in diff if d["key"] == "cells"), [])
    keys: list[str] = []
    removed: set[int] = set()
    for k in range(len(base.cells) + 1):
        for op in (op for op in ops if op["key"] == k):
            if op["op"] == "addrange":
                keys += [f"{prefix}{len(keys) + j}" for j in range(len(op["valuelist"]))]
            elif op["op"] == "removerange":
                removed.update(range(k, k + op["length"]))
        if k < len(base.cells) and k not in removed:
            keys.append(f"b{k}")
    return keys


def _empty_like(nb: Any) -> Any:
    """The base for a file both sides added: no cells and no metadata.

    No metadata rather than ours': with ours' as the base, every key only ours has would read as
    deleted by theirs, and every key set differently would go to theirs whatever `newer` says.
    """
    empty = {"nbformat": 4, "nbformat_minor": nb.nbformat_minor, "metadata": {}, "cells": []}
    return _nbformat().from_dict(empty)


def merge(
    base: bytes | None,
    ours: bytes,
    theirs: bytes,
    *,
    newer: Literal["ours", "theirs"] = "theirs",
    resolve: Literal["ours", "theirs", "both"] | None = None,
    ours_name: str = "ours",
    theirs_name: str = "theirs",
) -> MergeResult:
    """Three-way merge of notebook files, cell by cell (the rules: `notebooks.cellmerge`).

    `base` None means both sides added the file: the base is then an empty notebook. `newer`
    says whose outputs and metadata win where both changed them; `resolve` settles cells whose
    content both sides changed (or one deleted); the names are used in conflicts and errors.
    Returns the merged file (validated, written as Jupyter writes) or, with no notebook, the
    conflicts. Raises UserError if an input is not a valid notebook, or if the merge would not be.
    """
    nb_ours = read(ours, ours_name)
    nb_theirs = read(theirs, theirs_name)
    nb_base = read(base, "the merge base") if base is not None else _empty_like(nb_ours)
    keys = _cell_keys(nb_base, nb_ours, nb_theirs)
    opts = Options(newer=newer, resolve=resolve, names=(ours_name, theirs_name))
    merged, conflicts = merge_notebooks(nb_base, nb_ours, nb_theirs, keys, opts)
    if merged is None:
        return MergeResult(None, conflicts)
    if merged["nbformat_minor"] >= 5:
        merged["cells"] = with_unique_ids(merged["cells"])
    merged_nb = _nbformat().from_dict(merged)
    _validate_merged(merged_nb)
    return MergeResult(dumps(merged_nb), ())


def _validate_merged(nb: Any) -> None:
    try:
        _validate(nb, "the merged result")
    except UserError as e:
        raise UserError(f"refusing to write the merge: {e}") from None
