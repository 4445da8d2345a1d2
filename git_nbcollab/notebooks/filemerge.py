"""One notebook file merged as a git merge driver must merge it: the result is always a notebook.

git runs `git nbcollab merge-driver %O %A %B %P` for every notebook both sides changed (working
copies register it for `git pull`, `stash pop`, `rebase`; the tree merge gives it to
`git merge-tree`). Where cells collide, the file still opens in Jupyter: each conflicting cell
holds both versions between markers, as nbdime's inline merge writes them, and the merge says
it conflicted (exit 1). The settings travel from the tree merge to the driver in the
environment (`Settings.env`), since git starts the driver.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from git_nbcollab.notebooks import notebook

Newer = Literal["ours", "theirs"]
Resolve = Literal["ours", "theirs", "both"] | None
_ENV = "NBCOLLAB_MERGE_"


@dataclass(frozen=True)
class Settings:
    """How a driver run merges: whose outputs win, how collisions are settled, who is who;
    `notes` is a file the driver appends what it kept or dropped to (one JSON line a merge)."""

    newer: Newer = "theirs"
    resolve: Resolve = None
    names: tuple[str, str] = ("ours", "theirs")
    notes: str = ""

    def env(self) -> dict[str, str]:
        return {
            f"{_ENV}NEWER": self.newer,
            f"{_ENV}RESOLVE": self.resolve or "",
            f"{_ENV}OURS": self.names[0],
            f"{_ENV}THEIRS": self.names[1],
            f"{_ENV}NOTES": self.notes,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        newer: Newer = "ours" if env.get(f"{_ENV}NEWER") == "ours" else "theirs"
        resolve = env.get(f"{_ENV}RESOLVE", "")
        names = (env.get(f"{_ENV}OURS") or "ours", env.get(f"{_ENV}THEIRS") or "theirs")
        return cls(
            newer=newer,
            resolve=resolve if resolve in ("ours", "theirs", "both") else None,  # type: ignore[arg-type]
            names=names,
            notes=env.get(f"{_ENV}NOTES", ""),
        )


@dataclass(frozen=True)
class FileMerge:
    data: bytes  # the merged notebook; with conflicts, both versions of each conflicting cell
    conflicts: tuple[str, ...]
    notes: tuple[str, ...]


def merge_file(
    base: notebook.Source | None, ours: notebook.Source, theirs: notebook.Source, settings: Settings
) -> FileMerge:
    """Merge one notebook (its bytes, or its files); `base` None when both sides added it."""

    def run(resolve: Resolve) -> notebook.MergeResult:
        return notebook.merge(
            base,
            ours,
            theirs,
            newer=settings.newer,
            resolve=resolve,
            ours_name=settings.names[0],
            theirs_name=settings.names[1],
        )

    result = run(settings.resolve)
    notes = result.notes
    if result.notebook is not None:
        return FileMerge(result.notebook, (), notes)
    both = run("both").notebook
    assert both is not None, "keeping both sides never conflicts"
    marked = _marked(json.loads(both), result.conflicts, settings.names)
    return FileMerge(marked, tuple(str(c) for c in result.conflicts), notes)


def write_note(settings: Settings, ours: str, theirs: str, notes: Sequence[str]) -> None:
    """Append a driver run's notes where the tree merge collects them, with the blob ids of
    the two sides it merged."""
    if settings.notes and notes:
        line = {"ours": ours, "theirs": theirs, "notes": list(notes)}
        with open(settings.notes, "a") as out:
            out.write(json.dumps(line) + "\n")
            out.flush()
            os.fsync(out.fileno())


def _text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _markers(ours: str, theirs: str, names: tuple[str, str]) -> str:
    lines = [f"<<<<<<< {names[0]}", ours, "=======", theirs, f">>>>>>> {names[1]}"]
    return "\n".join(line for line in lines if line != "") + "\n"


def _marked(
    both: dict[str, Any], conflicts: Sequence[notebook.Conflict], names: tuple[str, str]
) -> bytes:
    """The merge that kept both cells of every conflict, each pair made one cell with markers.

    A conflict's `index` counts every conflicting cell once; keeping both adds a cell (theirs,
    right after ours) for each edit/edit conflict before it."""
    cells: list[dict[str, Any]] = list(both["cells"])
    out: list[dict[str, Any]] = []
    at = 0
    extra = 0
    for conflict in sorted(conflicts, key=lambda c: c.index):
        where = conflict.index + extra
        out += cells[at:where]
        cell = cells[where]
        if conflict.kind == "edited":
            ours, theirs = _text(cell), _text(cells[where + 1])
            at, extra = where + 2, extra + 1
        else:
            edited, at = _text(cell), where + 1
            ours, theirs = (edited, "") if conflict.sides[0] == names[0] else ("", edited)
        out.append({**cell, "source": _markers(ours, theirs, names)})
    out += cells[at:]
    return notebook.dumps({**both, "cells": out})
