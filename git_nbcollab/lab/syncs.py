"""Sync from JupyterLab: the CLI's sync, answered as what changed and whose cells came in;
and colliding cells shown with both versions and settled one by one (`notebooks.choices`)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from git_nbcollab import fsutil, proc
from git_nbcollab.client import link
from git_nbcollab.client import sync as syncing
from git_nbcollab.client.snapshot import git
from git_nbcollab.errors import UserError
from git_nbcollab.lab.actions import top_of
from git_nbcollab.names import branch_owner
from git_nbcollab.notebooks import choices, treemerge
from git_nbcollab.notebooks.choices import CHOICES, CellConflict


def _came_in(top: Path, old: str, new: str, path: str) -> list[int]:
    """Cells (counted from 1) of notebook `path` at `new` that `old` does not have as they are."""
    from git_nbcollab.notebooks import notebook

    def cells(commit: str) -> list[Any]:
        found = proc.run("git", "show", f"{commit}:{path}", cwd=str(top), check=False)
        if found.returncode != 0:
            return []
        nb = notebook.read(found.stdout, path)
        return [(c.cell_type, c.source) for c in nb.cells]

    had = Counter(cells(old))
    numbers = []
    for number, cell in enumerate(cells(new), start=1):
        if had[cell]:
            had[cell] -= 1
        else:
            numbers.append(number)
    return numbers


def _listed(numbers: list[int]) -> str:
    words = [str(n) for n in numbers]
    if len(words) == 1:
        return f"cell {words[0]}"
    return f"cells {', '.join(words[:-1])} and {words[-1]}"


def _summary(top: Path, done: syncing.Synced, changed: list[str]) -> str:
    """One line: whose work came in and where (`merged bob: cells 2 and 5`)."""
    if not changed:
        return "nothing new from your teammates; your work is pushed"
    authors = [s.name for s in done.others if not _contains(top, done.before, s.commit)]
    parts = []
    for path in changed:
        numbers = (
            _came_in(top, done.before, str(done.commit), path) if path.endswith(".ipynb") else []
        )
        where = _listed(numbers) if numbers else ""
        parts.append(where if len(changed) == 1 and where else f"{path} {where}".strip())
    return f"merged {', '.join(authors) or 'your other copy'}: {'; '.join(parts)}"


def _contains(top: Path, commit: str, other: str) -> bool:
    found = proc.run("git", "merge-base", "--is-ancestor", other, commit, cwd=str(top), check=False)
    return found.returncode == 0


def _result(top: Path, done: syncing.Synced) -> dict[str, Any]:
    if done.commit is None:
        return {
            "summary": f"sync stopped: {len(done.conflicts)} change(s) collide; nothing changed",
            "changed": [],
            "conflicts": list(done.conflicts),
            "notes": list(done.notes),
        }
    listing = git(top, "diff-tree", "-r", "-z", "--name-only", done.before, done.commit)
    changed = proc.zsplit(listing)
    return {
        "summary": _summary(top, done, changed),
        "changed": changed,
        "conflicts": [],
        "notes": list(done.notes),
        "committed": list(done.committed),
    }


def _left_by_git(top: Path) -> dict[str, list[CellConflict]]:
    """Notebooks a plain git merge here (`git pull`, `stash pop`) left conflicted, and their
    cells holding both versions; other conflicted files map to []."""
    listing = proc.zsplit(git(top, "ls-files", "-u", "-z"))
    found: dict[str, list[CellConflict]] = {}
    whose = _merging_with(top)
    for path in dict.fromkeys(entry.split("\t", 1)[1] for entry in listing):
        data = (top / path).read_bytes() if path.endswith(".ipynb") else b""
        cells = choices.marked_cells(data, path) if data else []
        found[path] = [replace(c, theirs_author=whose or c.theirs_author) for c in cells]
    return found


def _merging_with(top: Path) -> str | None:
    """Whose branch the merge in progress brings in (`git pull origin u/bob/main`), if known."""
    named = proc.run(
        "git",
        "name-rev",
        "--name-only",
        "--no-undefined",
        "--refs=refs/remotes/origin/u/*",
        "MERGE_HEAD",
        cwd=str(top),
        check=False,
    )
    ref = named.stdout.decode().strip().split("~")[0].split("^")[0]
    if named.returncode or "origin/" not in ref:
        return None
    return branch_owner("refs/heads/" + ref.split("origin/", 1)[1])


def _on_disk(top: Path) -> dict[str, tuple[int, int, int]]:
    """Each file of the working copy (tracked or not; ignored ones left out) by its inode,
    modification time and size: a file the sync writes changes at least one of them."""
    listing = git(top, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    found = {}
    for name in dict.fromkeys(proc.zsplit(listing)):
        try:
            st = os.lstat(top / name)
        except FileNotFoundError:
            continue
        found[name] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return found


def _noting_writes(top: Path, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`work`'s answer and `written`: the files it wrote, made or removed in the working copy
    (absolute paths): the documents JupyterLab must reload from disk."""
    before = _on_disk(top)
    answer = work()
    after = _on_disk(top)
    written = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    return answer | {"written": [str(top / name) for name in written]}


def sync(path: Path) -> dict[str, Any]:
    top = top_of(path)
    return _noting_writes(top, lambda: _sync(top))


def _sync(top: Path) -> dict[str, Any]:
    left = _left_by_git(top)
    if left:  # a sync would commit the markers: settle the cells first
        lines = [
            f"{p}: cell {c.index + 1} holds both versions" for p, cs in left.items() for c in cs
        ]
        lines += [f"{p}: git left it conflicted" for p, cs in left.items() if not cs]
        return {
            "summary": "a git merge here stopped at colliding cells: settle them, then sync",
            "changed": [],
            "conflicts": lines,
            "notes": [],
        }
    return _result(top, syncing.sync(top))


def conflicts(path: Path) -> dict[str, Any]:
    """The colliding cells a sync would stop at now, with both versions (changes nothing);
    or those a plain git merge left in this working copy."""
    top = top_of(path)
    left = _left_by_git(top)
    if left:
        return {"conflicts": [c.to_json() for cs in left.values() for c in cs], "others": []}
    asked = treemerge.Asked(detail=True)
    done = syncing.sync(top, asked=asked, dry_run=True)
    return {"conflicts": [c.to_json() for c in done.cells], "others": list(done.conflicts)}


def resolve(path: Path, chosen: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Settle each colliding cell as chosen and finish the sync (commit, merge, push)."""
    top = top_of(path)
    return _noting_writes(top, lambda: _resolve(top, chosen))


def _resolve(top: Path, chosen: Sequence[dict[str, Any]]) -> dict[str, Any]:
    picks: dict[tuple[str, int], str] = {}
    for item in chosen:
        file, index, choice = item.get("file"), item.get("index"), item.get("choice")
        if not isinstance(file, str) or not isinstance(index, int) or choice not in CHOICES:
            raise UserError(
                'each choice is {"file": PATH, "index": N, "choice": "mine"|"theirs"|"both"}'
            )
        picks[(file, index)] = choice
    if _left_by_git(top):
        _settle_left(top, picks)
        return _result(top, syncing.sync(top))
    shown = syncing.sync(top, asked=treemerge.Asked(detail=True), dry_run=True)
    if not shown.cells:
        return _result(top, syncing.sync(top))  # nothing collides (any more): just sync
    author = shown.cells[0].theirs_author
    by_file: dict[tuple[str, str], dict[int, Any]] = {}
    for (file, index), choice in picks.items():
        by_file.setdefault((author, file), {})[index] = choice
    return _result(top, syncing.sync(top, asked=treemerge.Asked(chosen=by_file)))


def _settle_left(top: Path, picks: dict[tuple[str, int], str]) -> None:
    """Settle the cells a plain git merge left, stage them, and conclude that merge."""
    left = _left_by_git(top)
    stuck = [p for p, cells in left.items() if not cells]
    if stuck:
        raise UserError(f"{stuck[0]} is conflicted but not cell by cell: merge it with git first")
    link.author()  # the merge commit is yours: one line if git does not know who you are
    for path in left:
        chosen: dict[int, Any] = {i: c for (f, i), c in picks.items() if f == path}
        data = choices.settle_marked((top / path).read_bytes(), chosen, path)
        fsutil.atomic_write(top / path, data, (top / path).stat().st_mode & 0o777)
    git(top, "add", "--", *left)
    merging = proc.run(
        "git", "rev-parse", "-q", "--verify", "MERGE_HEAD", cwd=str(top), check=False
    )
    if merging.stdout.strip():
        git(top, "commit", "--quiet", "--no-edit", "--no-verify")
