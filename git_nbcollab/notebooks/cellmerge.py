"""Three-way merge of notebooks as plain JSON dicts, cell by cell.

Pure Python on purpose: parsing, validation and cell alignment live in `notebooks.notebook`,
the one module that imports nbformat and nbdime. Here every cell carries a key (`cellkeys`: its
cell id when ids are identities, else a key from aligning the sides by content) and the rules
are applied per key:

- a cell changed on one side only takes that side; cells added anywhere are kept, after the
  cell they follow on their side (both sides adding after the same cell: ours first); the same
  cell added by both sides after the same cell comes out once;
- cell content (type, source, attachments) changed differently on both sides is a conflict,
  and so is one side deleting a cell whose content the other side changed (a deleted cell
  whose outputs or metadata alone changed on the other side is deleted quietly);
- `resolve` settles conflicts: "ours"/"theirs" keep that side's whole cell (or its deletion),
  "both" keeps ours' cell then theirs' with a fresh id, each tagged `from-<name>` (for a
  deletion: the edited cell);
- cells moved on one side are moved; a cell both sides moved to different places goes where
  `newer` put it, with a note;
- outputs and execution counts never conflict: one side's change wins, both changed: `newer`
  (a side that has not run a cell both added has no run: the other side's run wins);
- metadata merges key by key (`values.merge_dicts`: lists as sets, anything else both changed
  follows `newer`, with a note naming the key).
Cells keep ours' id; other ids that would repeat get fresh ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from git_nbcollab.notebooks.cellkeys import Keys, content, merge_order, unify_additions
from git_nbcollab.notebooks.values import merge_dicts, pick

Side = Literal["ours", "theirs"]
Resolve = Literal["ours", "theirs", "both"]
Json = Any
Cell = dict[str, Json]


def label(index: int, cell_id: str | None) -> str:
    """A cell as JupyterLab's status bar counts it (from 1), with its id."""
    return f"cell {index + 1}" + (f" (id {cell_id})" if cell_id else "")


@dataclass(frozen=True)
class Conflict:
    """A cell the two sides changed incompatibly.

    `index` is the cell's 0-based position in the merged notebook, as it would be built with every
    conflicting cell kept once at its place (shown from 1, as JupyterLab counts). `sides` names
    who collided: for kind "edited" both sides edited the content differently; for kind "deleted"
    `sides[0]` edited the cell and `sides[1]` deleted it. `first_line` is the first line of the
    cell's source in the base (or, for a cell both sides added, in ours); `cell_id` the id it
    has in ours (else theirs), if any.
    """

    index: int
    first_line: str
    sides: tuple[str, str]
    kind: Literal["edited", "deleted"] = "edited"
    cell_id: str | None = None

    def __str__(self) -> str:
        ident = f", id {self.cell_id}" if self.cell_id else ""
        where = f"cell {self.index + 1} ({self.first_line!r}{ident})"
        if self.kind == "deleted":
            return f"{where}: edited by {self.sides[0]} but deleted by {self.sides[1]}"
        return f"{where}: edited differently by {self.sides[0]} and {self.sides[1]}"


@dataclass(frozen=True)
class MergeResult:
    """`notebook` is the merged, validated notebook, or None when `conflicts` is not empty.
    `notes` say, one line each, what the merge chose where nothing was lost as a conflict
    (a metadata value both sides set, both sides' cell order, cells kept twice)."""

    notebook: bytes | None
    conflicts: tuple[Conflict, ...]
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Options:
    newer: Side
    resolve: Resolve | None
    names: tuple[str, str]

    @property
    def newer_whose(self) -> str:
        return whose(self.names[0] if self.newer == "ours" else self.names[1])


def whose(name: str) -> str:
    return name + ("'" if name.endswith("s") else "'s")


def _run(cell: Cell | None) -> tuple[Json, Json] | None:
    if cell is None or cell.get("cell_type") != "code":
        return None
    return (cell.get("outputs"), cell.get("execution_count"))


def first_line(cell: Cell) -> str:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    return text.split("\n", 1)[0]


def _merge_cell(b: Cell | None, o: Cell, t: Cell, newer: Side, dropped: list[str]) -> Cell | None:
    """Merge one cell present on both sides; None when the content conflicts."""
    cb, co, ct = content(b), content(o), content(t)
    if co == ct or ct == cb:
        body = o
    elif co == cb:
        body = t
    else:
        return None
    cell = {k: v for k, v in body.items() if k not in ("outputs", "execution_count", "id")}
    cell_id = o.get("id", t.get("id"))
    if cell_id is not None:
        cell["id"] = cell_id
    meta_b = (b or {}).get("metadata", {})
    cell["metadata"] = merge_dicts(meta_b, o["metadata"], t["metadata"], newer, dropped)
    if cell["cell_type"] == "code":
        run_b = _run(b) if b is not None else ([], None)  # added by both: not run is no run
        run = pick(run_b, _run(o), _run(t), newer) or _run(body) or ([], None)
        cell["outputs"], cell["execution_count"] = run
    return cell


def _tagged(cell: Cell, name: str) -> Cell:
    tag = "from-" + "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
    tags = [x for x in cell.get("metadata", {}).get("tags", []) if x != tag] + [tag]
    return {**cell, "metadata": {**cell.get("metadata", {}), "tags": tags}}


@dataclass
class _Step:
    """What one key becomes: the cells to emit, the first one ours', and what to report."""

    cells: list[Cell]
    from_ours: bool = False
    conflict: Conflict | None = None
    dropped: list[str] = field(default_factory=list)
    note: str = ""


def _resolved(o: Cell | None, t: Cell | None, edited: Cell, opts: Options) -> _Step:
    """Cells kept for a conflict under `opts.resolve` (a deleted side is None)."""
    if opts.resolve == "ours":
        return _Step([o] if o is not None else [], from_ours=True)
    if opts.resolve == "theirs":
        return _Step([t] if t is not None else [])
    if o is not None and t is not None:
        ours_name, theirs_name = opts.names
        note = (
            f"kept both versions: {whose(ours_name)}, then {whose(theirs_name)} as a new cell"
            f" (tagged from-{ours_name} and from-{theirs_name})"
        )
        fresh = {k: v for k, v in t.items() if k != "id"}  # unique_ids gives it one
        cells = [_tagged(o, ours_name), _tagged(fresh, theirs_name)]
        return _Step(cells, from_ours=True, note=note)
    return _Step([edited], from_ours=edited is o)


def _step(b: Cell | None, o: Cell | None, t: Cell | None, opts: Options) -> _Step:
    ours_name, theirs_name = opts.names
    first = first_line(b if b is not None else o if o is not None else t or {})
    cell_id = (o or t or {}).get("id")
    if o is not None and t is not None:
        dropped: list[str] = []
        cell = _merge_cell(b, o, t, opts.newer, dropped)
        if cell is not None:
            return _Step([cell], from_ours=True, dropped=dropped)
        conflict = Conflict(-1, first, (ours_name, theirs_name), "edited", cell_id)
        edited = o
    elif o is None and t is None:
        return _Step([])
    else:
        kept, sides = (o, opts.names) if o is not None else (t, opts.names[::-1])
        assert kept is not None
        if b is None:
            return _Step([kept], from_ours=kept is o)
        if content(kept) == content(b):
            return _Step([])
        conflict = Conflict(-1, first, (sides[0], sides[1]), "deleted", kept.get("id"))
        edited = kept
    if opts.resolve is None:
        return _Step([edited], from_ours=edited is o, conflict=conflict)
    return _resolved(o, t, edited, opts)


def _fresh(taken: set[str]) -> str:
    new_id = uuid.uuid4().hex[:8]
    while new_id in taken:
        new_id = uuid.uuid4().hex[:8]
    taken.add(new_id)
    return new_id


def unique_ids(cells: list[Cell], from_ours: Sequence[bool], taken: set[str]) -> list[Cell]:
    """Every cell with a unique id: ours' cells keep theirs first, others get fresh ones when
    they would repeat one (or have none); `taken` holds every id of the inputs."""
    seen: set[str] = set()
    out = list(cells)
    for first in (True, False):
        for i, cell in enumerate(cells):
            if from_ours[i] != first:
                continue
            cell_id = cell.get("id")
            if not isinstance(cell_id, str) or cell_id in seen:
                cell_id = _fresh(taken)
                out[i] = {**cell, "id": cell_id}
            seen.add(cell_id)
    return out


@dataclass(frozen=True)
class Merged:
    cells: list[Cell]
    conflicts: tuple[Conflict, ...]
    notes: tuple[str, ...]


def merge_cells(
    sides: tuple[Sequence[Cell], Sequence[Cell], Sequence[Cell]], keys: Keys, opts: Options
) -> Merged:
    """Merge the cell lists of base, ours and theirs, matched by `keys` (one per cell)."""
    keys = (keys[0], keys[1], unify_additions(keys, sides[1], sides[2]))
    by_key = [dict(zip(k, cells, strict=True)) for k, cells in zip(keys, sides, strict=True)]
    order, clash = merge_order(keys, opts.newer)
    cells: list[Cell] = []
    from_ours: list[bool] = []
    conflicts: list[Conflict] = []
    notes = [f"both moved the same cells; kept {opts.newer_whose} order"] if clash else []
    for key in order:
        b, o, t = (side.get(key) for side in by_key)
        step = _step(b, o, t, opts)
        where = label(len(cells), (step.cells[0] if step.cells else {}).get("id"))
        if step.conflict is not None:
            c = step.conflict
            conflicts.append(Conflict(len(cells), c.first_line, c.sides, c.kind, c.cell_id))
        if step.dropped:
            what = ", ".join(repr(d) for d in step.dropped)
            notes.append(f"{where}: metadata {what} changed by both; kept {opts.newer_whose}")
        if step.note:
            notes.append(f"{where}: {step.note}")
        cells += step.cells
        from_ours += [step.from_ours] + [False] * (len(step.cells) - 1)
    if any("id" in c for side in sides for c in side):
        taken = {str(c["id"]) for side in sides for c in side if "id" in c}
        cells = unique_ids(cells, from_ours, taken)
    return Merged(cells, tuple(conflicts), tuple(notes))


def merge_notebooks(
    base: Json, ours: Json, theirs: Json, keys: Keys, opts: Options
) -> tuple[Json, Merged]:
    """Merge three notebook dicts; the merged dict is None when conflicts remain."""
    merged = merge_cells((base["cells"], ours["cells"], theirs["cells"]), keys, opts)
    if merged.conflicts:
        return None, merged
    dropped: list[str] = []
    metadata = merge_dicts(base["metadata"], ours["metadata"], theirs["metadata"], opts.newer,
                           dropped)  # fmt: skip
    notes = merged.notes
    if dropped:
        what = ", ".join(repr(d) for d in dropped)
        notes += (f"notebook metadata {what} changed by both; kept {opts.newer_whose}",)
    minor = max(ours["nbformat_minor"], theirs["nbformat_minor"])
    cells = merged.cells
    if minor < 5:  # both sides are nbformat 4.4 or older, where cells carry no ids
        cells = [{k: v for k, v in cell.items() if k != "id"} for cell in cells]
    notebook = {"nbformat": 4, "nbformat_minor": minor, "metadata": metadata, "cells": cells}
    return notebook, Merged(cells, (), notes)
