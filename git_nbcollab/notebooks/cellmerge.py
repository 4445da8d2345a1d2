"""Three-way merge of notebooks as plain JSON dicts, cell by cell.

Pure Python on purpose: parsing, validation and cell alignment live in `notebooks.notebook`,
the one module that imports nbformat and nbdime. Here every cell carries a key (its cell id, or
a key the notebook module made by aligning the sides) and the rules are applied per key:

- a cell changed on one side only takes that side; cells added anywhere are kept, after the
  cell they follow on their side (both sides adding after the same cell: ours first);
- cell content (type, source, attachments) changed differently on both sides is a conflict,
  and so is one side deleting a cell whose content the other side changed (a deleted cell
  whose outputs or metadata alone changed on the other side is deleted quietly);
- `resolve` settles conflicts: "ours"/"theirs" keep that side's whole cell (or its deletion),
  "both" keeps ours' cell then theirs' with a fresh id (for a deletion: the edited cell);
- the cells all sides have keep the order of the side that moved them (`newer` if both did);
- outputs and execution counts never conflict: one side's change wins, both changed: `newer`;
- metadata merges key by key (recursively); one key changed differently follows `newer`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Side = Literal["ours", "theirs"]
Resolve = Literal["ours", "theirs", "both"]
Json = Any
Cell = dict[str, Json]

_MISSING: Any = object()  # a value absent on one side; never ends up in a notebook
_CONTENT = ("cell_type", "source", "attachments")


@dataclass(frozen=True)
class Conflict:
    """A cell the two sides changed incompatibly.

    `index` is the cell's 0-based position in the merged notebook, as it would be built with every
    conflicting cell kept once at its place. `sides` names who collided: for kind "edited" both
    sides edited the content differently; for kind "deleted" `sides[0]` edited the cell and
    `sides[1]` deleted it. `first_line` is the first line of the cell's source in the base (or, for
    a cell both sides added under the same id, in ours).
    """

    index: int
    first_line: str
    sides: tuple[str, str]
    kind: Literal["edited", "deleted"] = "edited"

    def __str__(self) -> str:
        where = f"cell {self.index} ({self.first_line!r})"
        if self.kind == "deleted":
            return f"{where}: edited by {self.sides[0]} but deleted by {self.sides[1]}"
        return f"{where}: edited differently by {self.sides[0]} and {self.sides[1]}"


@dataclass(frozen=True)
class MergeResult:
    """`notebook` is the merged, validated notebook, or None when `conflicts` is not empty."""

    notebook: bytes | None
    conflicts: tuple[Conflict, ...]


@dataclass(frozen=True)
class Options:
    newer: Side
    resolve: Resolve | None
    names: tuple[str, str]


def pick(base: Json, ours: Json, theirs: Json, newer: Side) -> Json:
    """Three-way choice of an opaque value: the side that changed it, or `newer` if both did."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    return ours if newer == "ours" else theirs


def merge_dicts(
    base: dict[str, Json], ours: dict[str, Json], theirs: dict[str, Json], newer: Side
) -> dict[str, Json]:
    """Merge metadata key by key, recursing into dicts both sides changed."""
    out: dict[str, Json] = {}
    for key in [*ours, *(k for k in theirs if k not in ours)]:
        b, o, t = base.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING)
        if isinstance(o, dict) and isinstance(t, dict) and o != t:
            value = merge_dicts(b if isinstance(b, dict) else {}, o, t, newer)
        else:
            value = pick(b, o, t, newer)
        if value is not _MISSING:
            out[key] = value
    return out


def _content(cell: Cell | None) -> tuple[Json, ...] | None:
    return None if cell is None else tuple(cell.get(k) for k in _CONTENT)


def _run(cell: Cell | None) -> tuple[Json, Json] | None:
    if cell is None or cell.get("cell_type") != "code":
        return None
    return (cell.get("outputs"), cell.get("execution_count"))


def first_line(cell: Cell) -> str:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    return text.split("\n", 1)[0]


def _merge_cell(b: Cell | None, o: Cell, t: Cell, newer: Side) -> Cell | None:
    """Merge one cell present on both sides; None when the content conflicts."""
    cb, co, ct = _content(b), _content(o), _content(t)
    if co == ct or ct == cb:
        body = o
    elif co == cb:
        body = t
    else:
        return None
    cell = {k: v for k, v in body.items() if k not in ("outputs", "execution_count")}
    cell["id"] = o["id"] if "id" in o else body.get("id", _MISSING)
    if cell["id"] is _MISSING:
        del cell["id"]
    cell["metadata"] = merge_dicts(
        (b or {}).get("metadata", {}), o["metadata"], t["metadata"], newer
    )
    if cell["cell_type"] == "code":
        run = pick(_run(b), _run(o), _run(t), newer) or _run(body) or ([], None)
        cell["outputs"], cell["execution_count"] = run
    return cell


def _fresh_id(cell: Cell, taken: set[str]) -> Cell:
    if "id" not in cell:
        return cell
    new_id = uuid.uuid4().hex[:8]
    while new_id in taken:
        new_id = uuid.uuid4().hex[:8]
    taken.add(new_id)
    return {**cell, "id": new_id}


Outcome = tuple[list[Cell], Conflict | None]


def _resolved(
    o: Cell | None, t: Cell | None, edited: Cell, opts: Options, taken: set[str]
) -> list[Cell]:
    """Cells kept for a conflict under `opts.resolve` (a deleted side is None)."""
    if opts.resolve == "ours":
        return [o] if o is not None else []
    if opts.resolve == "theirs":
        return [t] if t is not None else []
    if o is not None and t is not None:
        return [o, _fresh_id(t, taken)]
    return [edited]


def _outcome(
    b: Cell | None, o: Cell | None, t: Cell | None, opts: Options, taken: set[str]
) -> Outcome:
    """What one key becomes: the cells to emit, and the conflict if it is unresolved."""
    ours_name, theirs_name = opts.names
    first = first_line(b if b is not None else o if o is not None else t or {})
    if o is not None and t is not None:
        cell = _merge_cell(b, o, t, opts.newer)
        if cell is not None:
            return [cell], None
        conflict = Conflict(-1, first, (ours_name, theirs_name), "edited")
        edited = o
    elif o is None and t is None:
        return [], None
    else:
        kept, sides = (o, opts.names) if o is not None else (t, opts.names[::-1])
        assert kept is not None
        if b is None:
            return [kept], None
        if _content(kept) == _content(b):
            return [], None
        conflict = Conflict(-1, first, (sides[0], sides[1]), "deleted")
        edited = kept
    if opts.resolve is None:
        return [edited], conflict
    return _resolved(o, t, edited, opts, taken), None


def _anchored(keys: Sequence[str], skeleton: set[str]) -> dict[str | None, list[str]]:
    """Group each side-only key under the nearest skeleton key before it (None: the start)."""
    groups: dict[str | None, list[str]] = {None: []}
    anchor: str | None = None
    for key in keys:
        if key in skeleton:
            anchor = key
            groups.setdefault(key, [])
        else:
            groups[anchor].append(key)
    return groups


def merge_order(kb: Sequence[str], ko: Sequence[str], kt: Sequence[str], newer: Side) -> list[str]:
    """Order of all keys of ours and theirs: the common cells in the order of the side that moved
    them (`newer` if both did), each side's other cells after the cell they follow there, ours
    first."""
    common = set(kb) & set(ko) & set(kt)
    sb, so, st = ([k for k in keys if k in common] for keys in (kb, ko, kt))
    if so == sb:
        skeleton = st
    elif st in (sb, so):
        skeleton = so
    else:
        skeleton = so if newer == "ours" else st
    after_o, after_t = _anchored(ko, common), _anchored(kt, common)
    order: list[str] = []
    for anchor in [None, *skeleton]:
        if anchor is not None:
            order.append(anchor)
        order += after_o.get(anchor, []) + after_t.get(anchor, [])
    return list(dict.fromkeys(order))  # a cell both sides added (same id) comes once, as ours


def merge_cells(
    sides: tuple[Sequence[Cell], Sequence[Cell], Sequence[Cell]],
    keys: tuple[Sequence[str], Sequence[str], Sequence[str]],
    opts: Options,
) -> tuple[list[Cell], tuple[Conflict, ...]]:
    """Merge the cell lists of base, ours and theirs, matched by `keys` (one per cell)."""
    by_key = [dict(zip(k, cells, strict=True)) for k, cells in zip(keys, sides, strict=True)]
    taken = {str(c["id"]) for cells in sides for c in cells if "id" in c}
    cells: list[Cell] = []
    conflicts: list[Conflict] = []
    for key in merge_order(*keys, newer=opts.newer):
        b, o, t = (side.get(key) for side in by_key)
        emitted, conflict = _outcome(b, o, t, opts, taken)
        if conflict is not None:
            conflicts.append(
                Conflict(len(cells), conflict.first_line, conflict.sides, conflict.kind)
            )
        cells += emitted
    return cells, tuple(conflicts)


def merge_notebooks(
    base: Json,
    ours: Json,
    theirs: Json,
    keys: tuple[Sequence[str], Sequence[str], Sequence[str]],
    opts: Options,
) -> tuple[Json, tuple[Conflict, ...]]:
    """Merge three notebook dicts; the merged dict is None when conflicts remain."""
    cells, conflicts = merge_cells((base["cells"], ours["cells"], theirs["cells"]), keys, opts)
    if conflicts:
        return None, conflicts
    merged = {
        "nbformat": 4,
        "nbformat_minor": max(ours["nbformat_minor"], theirs["nbformat_minor"]),
        "metadata": merge_dicts(base["metadata"], ours["metadata"], theirs["metadata"], opts.newer),
        "cells": cells,
    }
    return merged, ()


def with_unique_ids(cells: Iterable[Cell]) -> list[Cell]:
    """Give every cell a unique id (for nbformat >= 4.5 results built from older sides)."""
    cells = list(cells)
    taken = {str(c["id"]) for c in cells if "id" in c}
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        if "id" not in cell or cell["id"] in seen:
            cells[i] = _fresh_id({**cell, "id": ""}, taken)
        seen.add(str(cells[i]["id"]))
    return cells
