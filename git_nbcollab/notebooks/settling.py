"""Paths git's merge left conflicted, settled by the tree merge: notebooks cell by cell (from
files git streams out, so a large notebook is held once, as it is parsed), or as chosen cell by
cell, or described; deletions as `resolve` says; anything else named for the user."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import choices, deferred, filemerge, notebook
from git_nbcollab.notebooks.filemerge import Settings

if TYPE_CHECKING:
    import pygit2

# Per-cell choices for notebooks that collide (the JupyterLab conflict panel):
# (theirs' name, path) -> cell index -> "mine" | "theirs" | "both"
Chosen = Mapping[tuple[str, str], Mapping[int, choices.Choice]]
Stages = dict[str, dict[int, tuple[int, str]]]  # path -> stage -> (mode, blob)


@dataclass(frozen=True)
class Asked:
    """What a merge does beyond `resolve`: settle cells as chosen, or describe collisions."""

    chosen: Chosen = field(default_factory=dict)
    detail: bool = False
    found: list[choices.CellConflict] = field(default_factory=list)


def blob_data(repo: pygit2.Repository, oid: pygit2.Oid | str) -> bytes:
    """A blob's bytes, inflated once (`repo[oid].read_raw()` inflates a 20 MB notebook twice)."""
    return repo.odb.read(oid)[1]


@dataclass(frozen=True)
class Settling:
    """What settling the paths git left conflicted needs."""

    repo: pygit2.Repository
    settings: Settings
    asked: Asked
    env: dict[str, str]  # git's, to read blobs (the quarantine's too)
    folder: Path  # where blobs are written to be merged from their files
    later: Mapping[str, str]  # the notebooks git left to us (see `deferred`) -> notes' name
    notes: list[str]  # what the merges kept or dropped, one line each


def _blob_file(work: Settling, stages: dict[int, tuple[int, str]], stage: int) -> Path | None:
    """A stage's blob in a file (see `_materialized`), or None."""
    return _materialized(work, stages[stage][1]) if stage in stages else None


def _materialized(work: Settling, blob: str) -> Path:
    """A blob in a file, streamed there by git (never held here); a description of a merge
    (a virtual base of deferred notebooks: `deferred.describe`) merged as git's driver run would
    have, whose file holds both versions of the cells that collide."""
    path = work.folder / f"blob-{blob}"
    if path.exists():
        return path
    merge = deferred.described(work.repo, blob)
    if merge is None:
        return deferred.streamed(work.repo, work.folder, blob, work.env)
    base, ours, theirs = (None if b is None else _materialized(work, b) for b in merge)
    assert ours is not None and theirs is not None
    try:
        data = filemerge.merge_file(base, ours, theirs, work.settings).data
    except UserError:  # the driver would have failed: git keeps ours as it was
        data = ours.read_bytes()
    path.write_bytes(data)
    return path


def settle(
    work: Settling, path: str, stages: dict[int, tuple[int, str]]
) -> tuple[int, str] | list[str] | None:
    """One path git left conflicted: (mode, blob) to keep, None to delete, or the conflicts."""
    ours, theirs = work.settings.names
    if 2 in stages and 3 in stages:
        if not path.endswith(".ipynb"):
            return [
                f"{path}: changed by both {ours} and {theirs}; not a notebook, so merge it with git"
            ]
        # both sides first: git reads them while nothing here is large (a virtual base is
        # merged here, and this process keeps some of what that took)
        sides_first = {n: _blob_file(work, stages, n) for n in (2, 3, 1)}
        files = [sides_first[n] for n in (1, 2, 3)]
        assert files[1] is not None and files[2] is not None
        result = notebook.merge(
            files[0],
            files[1],
            files[2],
            newer=work.settings.newer,
            resolve=work.settings.resolve,
            ours_name=ours,
            theirs_name=theirs,
        )
        if path in work.later:  # the driver noted the others' (`_notes`)
            work.notes.extend(f"{work.later[path]}: {n}" for n in result.notes)
        if result.notebook is None:
            base = files[0].read_bytes() if files[0] else None
            return _by_cell(work.repo, path, (base, stages), work.settings, work.asked) or [
                f"{path}: {c}" for c in result.conflicts
            ]
        return stages[2][0], str(work.repo.create_blob(result.notebook))
    if work.settings.resolve in ("ours", "theirs"):
        return stages.get(2 if work.settings.resolve == "ours" else 3)
    gone, kept = (ours, theirs) if 2 not in stages else (theirs, ours)
    return [f"{path}: deleted by {gone} but changed by {kept}"]


def _by_cell(
    repo: pygit2.Repository,
    path: str,
    sides: tuple[bytes | None, dict[int, tuple[int, str]]],
    settings: Settings,
    asked: Asked,
) -> tuple[int, str] | None:
    """A colliding notebook settled as chosen per cell, or (when asked) its cells described."""
    base, stages = sides
    chosen = asked.chosen.get((settings.names[1], path))
    if chosen is None and not asked.detail:
        return None
    ours, theirs = (blob_data(repo, stages[n][1]) for n in (2, 3))
    if chosen is not None:
        data = choices.apply(base, ours, theirs, settings.names, settings.newer, chosen, path)
        return stages[2][0], str(repo.create_blob(data))
    if asked.detail:
        found = choices.conflict_cells(path, base, ours, theirs, settings.names, settings.newer)
        asked.found.extend(found)
    return None
