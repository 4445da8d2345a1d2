"""Reading, writing and merging notebooks: the one module that imports nbformat and nbdime.

Both are imported inside the functions that need them, so importing this module stays cheap.
The merge rules themselves are pure Python in `git_nbcollab.notebooks.cellmerge`.
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import cellkeys, check, nbjson, payloads
from git_nbcollab.notebooks.cellmerge import Conflict, MergeResult, Options, merge_notebooks

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = ["Conflict", "MergeResult", "dumps", "merge", "read", "shareable"]


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


def read(
    data: bytes | str, what: str, hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> NotebookNode:
    """Parse and validate a v4 notebook, each JSON object through `hook` when given; `what`
    names it in the one-line UserError if invalid."""
    try:
        doc = check.parse(data, hook=hook)
        check.check_cells(doc)
    except ValueError as e:
        raise UserError(f"{what} is not a valid notebook: {check.short(str(e))}") from None
    _validate(doc, what)
    return _nbformat().v4.to_notebook_json(doc)


def shareable(data: bytes, what: str) -> tuple[bytes, str]:
    """The notebook as it enters a collaboration: nbformat 4.5, every cell with a unique, stable
    id, so that teammates' JupyterLabs do not each invent their own. Notebooks Jupyter opens
    (nbformat 3, 4.x without ids or with a stray one, repeated ids) are upgraded and repaired
    with nbformat's own upgrade and id repair. Returns the bytes (the same bytes when nothing
    needed doing) and one line saying what was done ("" for nothing)."""
    try:
        doc = check.parse(data, versions=(3, 4))
    except ValueError as e:
        raise UserError(f"{what} is not a valid notebook: {check.short(str(e))}") from None
    repair = _repair_needed(doc)
    if not repair:
        read(data, what)
        return data, ""
    nbformat = _nbformat()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
            if nb.nbformat_minor < 5:
                nb = nbformat.v4.upgrade(nb)
            nbformat.validator.normalize(nb)  # ids that are missing or repeat: new ones
        except (nbformat.ValidationError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise UserError(f"{what} is not a valid notebook: {_validation_reason(e)}") from None
    repaired = dumps(nb)
    read(repaired, what)
    return repaired, f"{what}: {repair} (as Jupyter does)"


def _repair_needed(doc: dict[str, Any]) -> str:
    """What `shareable` must do to a parsed notebook, in words ("" for nothing)."""
    version = f"{doc['nbformat']}.{doc['nbformat_minor']}"
    if doc["nbformat"] < 4:
        return f"upgraded from nbformat {version} to 4.5, with cell ids"
    cells = doc.get("cells")
    ids = [c.get("id") for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []
    if doc["nbformat_minor"] < 5:
        stray = " (its stray ids replaced)" if any(i is not None for i in ids) else ""
        return f"gave every cell an id{stray}: nbformat {version} to 4.5"
    bad = len(ids) - len({i for i in ids if isinstance(i, str)})
    return f"gave new ids to {bad} cells whose ids were missing or repeated" if bad else ""


def dumps(nb: Any) -> bytes:
    """Serialise as Jupyter does (nbformat's writer: sorted keys, indent 1, lines split), with the
    trailing newline Jupyter adds."""
    light, taken = payloads.swap(nb)
    return payloads.put_back(nbjson.writes(light), taken)


def _cell_keys(base: Any, ours: Any, theirs: Any) -> cellkeys.Keys:
    """A key per cell: its id when ids are identities, else one from aligning by content."""
    sides = (base.cells, ours.cells, theirs.cells)
    if cellkeys.ids_are_identities(*sides):
        return cellkeys.id_keys(sides)
    kb = [f"b{i}" for i in range(len(base.cells))]
    if not base.cells:  # no common version: align theirs to ours
        ko = [f"o{j}" for j in range(len(ours.cells))]
        return kb, ko, cellkeys.keyed(_align(ours, theirs, rewrites=False), ko, "t")
    return (
        kb,
        cellkeys.keyed(_align(base, ours), kb, "o"),
        cellkeys.keyed(_align(base, theirs), kb, "t"),
    )


def _skeleton(nb: Any) -> dict[str, Any]:
    """The cells' type and source only: what nbdime needs to align cells, without outputs."""
    cells = [
        {"cell_type": c.cell_type, "source": c.source, "metadata": {}}
        | ({"outputs": [], "execution_count": None} if c.cell_type == "code" else {})
        for c in nb.cells
    ]
    return {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells}


def _align(ref: Any, other: Any, *, rewrites: bool = True) -> list[int | None]:
    """For each of `other`'s cells, the index of the `ref` cell nbdime aligns it with, or None.

    nbdime sees a cell rewritten beyond its similarity threshold as removed and added at the same
    place; with `rewrites` such a cell is paired with the one it replaced (in order, same cell
    type), so that a rewrite is an edit: two rewrites of one cell conflict, and the other side's
    run is kept. (Without a base there is nothing to rewrite: only similar cells pair.)
    """
    _nbformat()
    from nbdime.diffing.notebooks import diff_notebooks

    diff = diff_notebooks(_skeleton(ref), _skeleton(other))
    ops: list[dict[str, Any]] = next((d["diff"] for d in diff if d["key"] == "cells"), [])
    at: dict[int, list[dict[str, Any]]] = {}
    for op in ops:
        at.setdefault(op["key"], []).append(op)
    matches: list[int | None] = []
    removed: set[int] = set()
    for k in range(len(ref.cells) + 1):
        added = [c for op in at.get(k, ()) if op["op"] == "addrange" for c in op["valuelist"]]
        gone = [range(k, k + op["length"]) for op in at.get(k, ()) if op["op"] == "removerange"]
        replaced = [i for r in gone for i in r]
        removed.update(replaced)
        for j, cell in enumerate(added):
            paired = (
                rewrites
                and j < len(replaced)
                and ref.cells[replaced[j]].cell_type == cell["cell_type"]
            )
            matches.append(replaced[j] if paired else None)
        if k < len(ref.cells) and k not in removed:
            matches.append(k)
    return matches


def _empty_like(nb: Any) -> Any:
    """The base for a file both sides added: no cells and no metadata.

    No metadata rather than ours': with ours' as the base, every key only ours has would read as
    deleted by theirs, and every key set differently would go to theirs whatever `newer` says.
    """
    empty = {"nbformat": 4, "nbformat_minor": nb.nbformat_minor, "metadata": {}, "cells": []}
    return nbjson.from_dict(empty)


Source = bytes | Path  # a notebook's bytes, or its file: read when needed, held no longer


def blob_id(source: Source) -> str:
    """git's id of a blob holding the notebook (a file is hashed as it is read)."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    found = hashlib.sha1(b"blob %d\0" % size)
    if isinstance(source, bytes):
        found.update(source)  # not `header + data`: a copy of an 80 MB notebook
        return found.hexdigest()
    with source.open("rb") as file:
        while chunk := file.read(2**20):
            found.update(chunk)
    return found.hexdigest()


def _same(one: Source, other: Source) -> bool:
    if isinstance(one, bytes) and isinstance(other, bytes):
        return one == other
    sizes = [len(s) if isinstance(s, bytes) else s.stat().st_size for s in (one, other)]
    return sizes[0] == sizes[1] and blob_id(one) == blob_id(other)


def _data(source: Source) -> bytes:
    return source if isinstance(source, bytes) else source.read_bytes()


def _side(source: Source, what: str, pool: payloads.Pool) -> Any:
    """A merge input, parsed and checked, its large outputs shared with the inputs read before
    it (`payloads.lifted`); a file's bytes are let go before it is parsed. A notebook that is
    not valid is read again as it is, for the error to say exactly where."""
    data = _data(source)
    try:
        text, values = payloads.lifted(data, pool)
    except UnicodeDecodeError:
        text, values = "", {}
    del data
    try:
        return _parsed(text, what, payloads.sharing(pool, values))
    except UserError:
        pass
    data = _data(source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        why = f"not UTF-8 text (byte {e.start})"  # as check.parse says it
        raise UserError(f"{what} is not a valid notebook: {why}") from None
    return read(text, what)


def _parsed(text: str, what: str, hook: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """`read(text, what, hook)`, without importing nbformat where `check` finds the notebook
    valid (the same schema: tests/notebooks/test_check.py); else `read` says why."""
    try:
        return nbjson.to_node(check.checked(text, hook))
    except ValueError:
        return read(text, what, hook)


def merge(
    base: Source | None,
    ours: Source,
    theirs: Source,
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
    Returns the merged file (validated, written as Jupyter writes; a side's own bytes when the
    result is that side) or, with no notebook, the conflicts; `notes` name what a side lost.
    Raises UserError if an input is not a valid notebook, or if the merge would not be.
    """
    pool: payloads.Pool = {}
    nb_ours = _side(ours, ours_name, pool)
    nb_theirs = _side(theirs, theirs_name, pool)
    if base is None:
        nb_base = _empty_like(nb_ours)
    else:
        nb_base = _side(base, "the merge base", pool)
        for side, other in ((ours, theirs), (theirs, ours)):
            if _same(base, side):  # one side unchanged: the other, as it is
                return MergeResult(_data(other), ())
    keys = _cell_keys(nb_base, nb_ours, nb_theirs)
    opts = Options(newer=newer, resolve=resolve, names=(ours_name, theirs_name))
    merged, outcome = merge_notebooks(nb_base, nb_ours, nb_theirs, keys, opts)
    if merged is None:
        return MergeResult(None, outcome.conflicts, outcome.notes)
    for side, source in ((nb_ours, ours), (nb_theirs, theirs)):
        if merged == side:  # a notebook that passes through unchanged keeps its bytes
            return MergeResult(_data(source), (), outcome.notes)
    return MergeResult(_written(merged), (), outcome.notes)


def _written(merged: dict[str, Any]) -> bytes:
    """The merged notebook as written, once valid. nbformat's validation is skipped where
    `check` finds it valid (then nbformat would change nothing: its validate gives cells
    without ids and repeated ids new ones, in place, and `check` refuses both)."""
    try:
        check.check_cells(merged)
        valid = check.schema_error(merged) is None
    except ValueError:
        valid = False
    if valid:
        return dumps(merged)
    merged_nb = _nbformat().from_dict(merged)
    try:
        _validate(merged_nb, "the merged result")
    except UserError as e:
        raise UserError(f"refusing to write the merge: {e}") from None
    return dumps(merged_nb)
