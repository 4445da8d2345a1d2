"""Cells that collide, settled one by one: keep mine, keep theirs, or keep both.

The conflict panel in JupyterLab shows each colliding cell with both versions (the texts the
merge driver writes between `<<<<<<< ours`, `=======` and `>>>>>>> theirs`) and applies a choice
per cell. The rules live here, not in the browser: a choice picks whole cells (source, outputs,
metadata) from the merge that kept both (`resolve="both"`), so "theirs" keeps their outputs too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import notebook
from git_nbcollab.notebooks.cellmerge import Conflict

Choice = Literal["mine", "theirs", "both"]
CHOICES: tuple[Choice, ...] = ("mine", "theirs", "both")


@dataclass(frozen=True)
class CellConflict:
    """One colliding cell: `index` is its 0-based place in the merge with every colliding cell
    kept once (the CLI's "cell N" is index + 1); a side that deleted the cell has text ""."""

    file: str
    index: int
    mine: str
    theirs: str
    theirs_author: str
    kind: str  # "edited" by both, or "deleted" by one side

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "cell": self.index + 1,
            "index": self.index,
            "mine": self.mine,
            "theirs": self.theirs,
            "theirs_author": self.theirs_author,
            "kind": self.kind,
        }


def _text(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _merges(
    base: bytes | None, ours: bytes, theirs: bytes, names: tuple[str, str], newer: str
) -> tuple[tuple[Conflict, ...], list[dict[str, Any]], dict[str, Any]]:
    """The conflicts, and the merge that kept both cells of each (as a dict, and its cells)."""

    def run(resolve: Literal["both"] | None) -> notebook.MergeResult:
        return notebook.merge(
            base,
            ours,
            theirs,
            newer="ours" if newer == "ours" else "theirs",
            resolve=resolve,
            ours_name=names[0],
            theirs_name=names[1],
        )

    plain = run(None)
    both = run("both").notebook
    assert both is not None, "keeping both sides never conflicts"
    doc = json.loads(both)
    return tuple(sorted(plain.conflicts, key=lambda c: c.index)), list(doc["cells"]), doc


def _pairs(
    conflicts: tuple[Conflict, ...], cells: list[dict[str, Any]]
) -> list[tuple[Conflict, int, int]]:
    """Each conflict with where its cells start in the both-kept merge and how many there are
    (an edit against an edit keeps two cells, ours first; an edit against a deletion one)."""
    found, extra = [], 0
    for conflict in conflicts:
        width = 2 if conflict.kind == "edited" else 1
        found.append((conflict, conflict.index + extra, width))
        extra += width - 1
    assert not found or found[-1][1] + found[-1][2] <= len(cells)
    return found


def conflict_cells(
    path: str, base: bytes | None, ours: bytes, theirs: bytes, names: tuple[str, str], newer: str
) -> list[CellConflict]:
    """The colliding cells of one notebook, with both texts."""
    conflicts, cells, _ = _merges(base, ours, theirs, names, newer)
    found = []
    for conflict, at, width in _pairs(conflicts, cells):
        if width == 2:
            mine, other = _text(cells[at]), _text(cells[at + 1])
        else:  # sides[0] edited the cell, sides[1] deleted it
            edited = _text(cells[at])
            mine, other = (edited, "") if conflict.sides[0] == names[0] else ("", edited)
        found.append(CellConflict(path, conflict.index, mine, other, names[1], conflict.kind))
    return found


def _untagged(cell: dict[str, Any], name: str) -> dict[str, Any]:
    """The cell without the `from-<name>` tag that keeping both gave it."""
    tag = "from-" + "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
    metadata = dict(cell.get("metadata", {}))
    tags = [t for t in metadata.get("tags", []) if t != tag]
    if tags:
        metadata["tags"] = tags
    else:
        metadata.pop("tags", None)
    return {**cell, "metadata": metadata}


def _chosen(
    conflict: Conflict, cells: list[dict[str, Any]], choice: Choice, names: tuple[str, str]
) -> list[dict[str, Any]]:
    if conflict.kind == "edited":
        mine, other = cells
        if choice == "mine":
            return [_untagged(mine, names[0])]
        if choice == "theirs":  # their cell, under the id the cell had (it is the same cell)
            kept = {**other, **({"id": mine["id"]} if "id" in mine else {})}
            return [_untagged(kept, names[1])]
        return cells
    edited_by_me = conflict.sides[0] == names[0]
    keep = choice == "both" or (choice == "mine") == edited_by_me
    return cells if keep else []


def apply(
    base: bytes | None,
    ours: bytes,
    theirs: bytes,
    names: tuple[str, str],
    newer: str,
    choices: Mapping[int, Choice],
    path: str = "the notebook",
) -> bytes:
    """The notebook with each colliding cell settled as `choices` says (index -> choice).
    Refused in one line unless there is a choice for exactly the cells that collide (they
    change when a teammate syncs again after they were shown)."""
    conflicts, cells, doc = _merges(base, ours, theirs, names, newer)
    wanted = sorted(c.index for c in conflicts)
    if sorted(choices) != wanted:
        shown = ", ".join(str(i + 1) for i in wanted) or "none"
        raise UserError(
            f"{path}: the colliding cells are now {shown}, not the ones chosen;"
            " look at the conflicts again and choose for each"
        )
    out: list[dict[str, Any]] = []
    at = 0
    for conflict, start, width in _pairs(conflicts, cells):
        out += cells[at:start]
        out += _chosen(conflict, cells[start : start + width], choices[conflict.index], names)
        at = start + width
    out += cells[at:]
    merged = notebook.read(json.dumps({**doc, "cells": out}).encode(), f"{path} as chosen")
    return notebook.dumps(merged)


# Cells plain git left conflicted in a working copy (`git pull`, `stash pop`: the merge driver
# writes both versions into the cell between markers, see `filemerge`).
OURS_MARK, SPLIT, THEIRS_MARK = "<<<<<<< ", "=======", ">>>>>>> "


def _parse_marked(text: str) -> tuple[str, str, str] | None:
    """(mine, theirs, their name) of a cell holding both versions between markers."""
    lines = text.rstrip("\n").split("\n")
    if len(lines) < 3 or not lines[0].startswith(OURS_MARK) or SPLIT not in lines:
        return None
    if not lines[-1].startswith(THEIRS_MARK):
        return None
    split = lines.index(SPLIT)
    mine, theirs = "\n".join(lines[1:split]), "\n".join(lines[split + 1 : -1])
    return mine, theirs, lines[-1].removeprefix(THEIRS_MARK)


def marked_cells(data: bytes, path: str) -> list[CellConflict]:
    """The cells of a notebook file that hold both versions between markers; `index` is the
    cell's place in this file."""
    cells = json.loads(data).get("cells", [])
    found = []
    for index, cell in enumerate(cells):
        parsed = _parse_marked(_text(cell))
        if parsed is not None:
            found.append(CellConflict(path, index, parsed[0], parsed[1], parsed[2], "edited"))
    return found


def settle_marked(data: bytes, choices: Mapping[int, Choice], path: str) -> bytes:
    """The file with each marked cell settled: mine or theirs (a side that had deleted the
    cell drops it), or both as two cells, mine first."""
    import uuid

    doc = json.loads(data)
    wanted = [c.index for c in marked_cells(data, path)]
    if sorted(choices) != wanted:
        shown = ", ".join(str(i + 1) for i in wanted) or "none"
        raise UserError(
            f"{path}: the cells with both versions are {shown}, not the ones chosen;"
            " look at the conflicts again and choose for each"
        )
    out: list[dict[str, Any]] = []
    for index, cell in enumerate(doc["cells"]):
        if index not in choices:
            out.append(cell)
            continue
        mine, theirs, _ = _parse_marked(_text(cell)) or ("", "", "")
        texts = {"mine": [mine], "theirs": [theirs], "both": [mine, theirs]}[choices[index]]
        for n, text in enumerate(t for t in texts if t):
            copy: dict[str, Any] = {}  # the second of two: its own id, no run (it was mine)
            if n:
                copy = {"id": uuid.uuid4().hex[:8]} if "id" in cell else {}
                copy |= {"outputs": [], "execution_count": None} if "outputs" in cell else {}
            out.append({**cell, "source": text, **copy})
    settled = notebook.read(json.dumps({**doc, "cells": out}).encode(), f"{path} as chosen")
    return notebook.dumps(settled)
