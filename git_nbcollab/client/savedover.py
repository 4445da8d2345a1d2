"""A notebook saved from a tab opened before the last sync (JupyterLab's "Overwrite").

Sync remembers, per working copy, what it last wrote: the user's pre-merge snapshot and the
merged commit it checked out (`.git/nbcollab-sync.json`). A notebook that now puts back, cell by
cell, what that merge brought in from teammates was saved from a stale tab: it is merged
three-way (base: the user's pre-merge version, ours: the saved file, theirs: the merged one),
which keeps the user's real edits and the teammates' cells.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import check, notebook, treemerge

if TYPE_CHECKING:
    import pygit2

STATE = "nbcollab-sync.json"


@dataclass(frozen=True)
class LastSync:
    before: str  # the user's own snapshot, before the merge
    merged: str  # what sync checked out
    teammates: dict[str, list[str]] = field(default_factory=dict)  # notebook -> who changed it


@dataclass(frozen=True)
class Repaired:
    commit: str  # the user's snapshot with the stale saves merged
    notes: tuple[str, ...]  # one line per notebook, for the user
    conflicts: tuple[str, ...] = ()


def load(gitdir: Path) -> LastSync | None:
    try:
        found = json.loads((gitdir / STATE).read_text())
        return LastSync(found["before"], found["merged"], found.get("teammates", {}))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no sync yet here, or a record we cannot trust: nothing to compare with


def save(gitdir: Path, last: LastSync) -> None:
    tmp = gitdir / f"{STATE}.tmp"
    tmp.write_text(json.dumps(asdict(last)))
    os.replace(tmp, gitdir / STATE)


def record(
    repo: pygit2.Repository, before: str, merged: str, others: Sequence[treemerge.Side]
) -> LastSync:
    """What this sync wrote, with who changed each notebook the merge brought in."""
    teammates: dict[str, list[str]] = {}
    for path in _changed_notebooks(repo, before, merged):
        for side in others:
            base = repo.merge_base(before, side.commit)
            if base is None or _blob(repo, str(base), path) != _blob(repo, side.commit, path):
                teammates.setdefault(path, []).append(side.name)
    return LastSync(before, merged, teammates)


def _tree(repo: pygit2.Repository, commit: str) -> pygit2.Tree:
    import pygit2

    return repo.revparse_single(commit).peel(pygit2.Tree)


def _blob(repo: pygit2.Repository, commit: str, path: str) -> bytes | None:
    try:
        return treemerge.blob_data(repo, _tree(repo, commit)[path].id)
    except KeyError:
        return None


def _changed_notebooks(repo: pygit2.Repository, old: str, new: str) -> list[str]:
    deltas = _tree(repo, old).diff_to_tree(_tree(repo, new)).deltas
    return [d.new_file.path for d in deltas if d.new_file.path.endswith(".ipynb")]


Cell = tuple[str, str]  # type and source


def _cells(data: bytes, what: str) -> list[Cell]:
    """Each cell's type and source; the notebook is checked as `notebook.read` checks it,
    without importing nbformat (most syncs go no further)."""
    try:
        cells = check.checked(data)["cells"]
    except ValueError as e:
        raise UserError(f"{what} is not a valid notebook: {check.short(str(e))}") from None
    joined = ("".join(s) if isinstance(s, list) else s for s in (c["source"] for c in cells))
    return [(c["cell_type"], source) for c, source in zip(cells, joined, strict=True)]


def _hunks(old: list[Cell], new: list[Cell]) -> list[tuple[list[Cell], list[int]]]:
    """What a merge changed, as (cells it replaced or removed, positions in `new` of the cells
    it brought in); a run of cells changed in place is one hunk per cell."""
    found = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            found += [([old[i1 + k]], [j1 + k]) for k in range(i2 - i1)]
        elif tag != "equal":
            found.append((old[i1:i2], list(range(j1, j2))))
    return found


def stale_cells(before: bytes, merged: bytes, saved: bytes, what: str) -> list[int]:
    """The cells (numbered from 1, as JupyterLab does, in the merged file) that the merge
    brought in, if `saved` was saved from a tab opened before it: it has none of what the
    merge brought in, and puts back at least one cell as it was before (a cell the user edited
    since is not a sign either way). Empty if not. Cells compare by type and source, so ids
    (none, random, positional) play no part."""
    old, new, now = (_cells(data, what) for data in (before, merged, saved))
    brought: list[int] = []
    put_back = False
    for went, came in _hunks(old, new):
        came = [j for j in came if new[j] not in old]
        if any(new[j] in now for j in came):
            return []  # the saved file has this part of the merge: not a stale tab
        went = [cell for cell in went if cell not in new]
        put_back = put_back or all(cell in now for cell in went)
        brought += [j + 1 for j in came]
    return brought if put_back else []


def repair(
    repo: pygit2.Repository,
    last: LastSync,
    own: str,
    *,
    head: str,
    message: str,
    author: tuple[str, str],
    resolve: treemerge.Resolve,
) -> Repaired:
    """Merge every notebook of `own` that was saved over the last sync's result from a stale
    tab; `own` itself if there is none."""
    import pygit2

    tree, notes, conflicts = _tree(repo, own), [], []
    index = pygit2.Index()
    index.read_tree(tree)
    for path in _changed_notebooks(repo, last.merged, own):
        before, merged = _blob(repo, last.before, path), _blob(repo, last.merged, path)
        saved = _blob(repo, own, path)
        if before is None or merged is None or saved is None or before == merged:
            continue
        cells = stale_cells(before, merged, saved, path)
        if not cells:
            continue
        who = " and ".join(last.teammates.get(path, [])) or "your teammates"
        result = notebook.merge(
            before,
            saved,
            merged,
            newer="ours",
            resolve=resolve,
            ours_name="your saved file",
            theirs_name=who,
        )
        if result.notebook is None:
            conflicts += [f"{path}: {c}" for c in result.conflicts]
            continue
        index.add(
            pygit2.IndexEntry(path, repo.create_blob(result.notebook), pygit2.enums.FileMode.BLOB)
        )
        numbers = ", ".join(map(str, cells))
        notes.append(
            f"{path} was saved from a tab opened before the last sync: kept your edits and"
            f" {who}'s cell{'s' if len(cells) > 1 else ''} {numbers}"
            " (reload it in JupyterLab: File > Reload Notebook from Disk)"
        )
    if conflicts or not notes:
        return Repaired(own, (), tuple(conflicts))
    who_sig = pygit2.Signature(*author)
    made = repo.create_commit(None, who_sig, who_sig, message, index.write_tree(repo), [head])
    return Repaired(str(made), tuple(notes))


def stale_save_refused(conflicts: Sequence[str]) -> UserError:
    return UserError(
        treemerge.report(conflicts, stopped="sync stopped")
        + "\n(a notebook was saved from a tab opened before the last sync; to commit it exactly"
        " as saved, use `git nbcollab sync --take-saved`)"
    )
