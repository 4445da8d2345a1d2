"""Merging authors' branches the way this tool does: notebooks cell by cell, other files as git.

A text merge of two notebooks can leave conflict markers inside the JSON, or splice cells
wrongly while looking clean, so every `.ipynb` that both sides changed goes through the
cell-aware merge, whatever git's text merge thought of it. Works on any repo (the hub's bare
repos, a teammate's working copy); writes objects only (see `repo.staging`), never refs or files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from git_nbcollab.notebooks import notebook

if TYPE_CHECKING:
    import pygit2

# git's (and libgit2's) text merge of a 20 MB notebook took 1.8 s, only to be thrown away:
# marking notebooks binary for merges makes git leave them to us at once.
ATTRIBUTES = "*.ipynb merge=binary\n"

Resolve = Literal["ours", "theirs", "both"] | None
Outputs = Literal["newer", "ours", "theirs"]


@dataclass(frozen=True)
class Side:
    name: str  # whose work this is, as conflicts name it
    commit: str


@dataclass(frozen=True)
class Merged:
    """`commit` holds everyone's work, or is None and `conflicts` says (one line each) why."""

    commit: str | None
    conflicts: tuple[str, ...] = ()


def leave_notebooks_to_us(gitdir: Path) -> None:
    """Tell git not to text-merge notebooks in this repo (`info/attributes`)."""
    attributes = gitdir / "info" / "attributes"
    attributes.parent.mkdir(exist_ok=True)
    attributes.write_text(ATTRIBUTES)


def _tree(repo: pygit2.Repository, commit: str | None) -> pygit2.Tree:
    """A commit's tree; None (no common history) gives the empty tree."""
    import pygit2

    oid = repo.TreeBuilder().write() if commit is None else commit
    return repo.revparse_single(str(oid)).peel(pygit2.Tree)


def blob_data(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    """A blob's bytes, inflated once (`repo[oid].read_raw()` inflates a 20 MB notebook twice)."""
    return repo.odb.read(oid)[1]


def _blob(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> bytes | None:
    try:
        return blob_data(repo, tree[path].id)
    except KeyError:
        return None


def _changed(old: pygit2.Tree, new: pygit2.Tree) -> set[str]:
    deltas = list(old.diff_to_tree(new).deltas)
    return {d.new_file.path for d in deltas} | {d.old_file.path for d in deltas}


def _notebook_paths(index: pygit2.Index, trees: tuple[pygit2.Tree, ...]) -> set[str]:
    """Notebooks both sides touched: git's conflicts, and its 'clean' text merges of them."""
    base, ours, theirs = trees
    both = _changed(base, ours) & _changed(base, theirs)
    conflicted = {e.path for entries in (index.conflicts or ()) for e in entries if e is not None}
    return {p for p in both | conflicted if p.endswith(".ipynb")}


def _merge_notebook(
    repo: pygit2.Repository,
    path: str,
    trees: tuple[pygit2.Tree, ...],
    sides: tuple[Side, Side],
    resolve: Resolve,
    newer: Literal["ours", "theirs"],
) -> bytes | list[str] | None:
    """The merged file, None for "deleted", or the conflicts."""
    base, ours, theirs = (_blob(repo, tree, path) for tree in trees)
    if ours is None or theirs is None:
        if resolve in ("ours", "theirs"):
            return ours if resolve == "ours" else theirs
        gone, kept = (sides[0], sides[1]) if ours is None else (sides[1], sides[0])
        return [f"{path}: deleted by {gone.name} but changed by {kept.name}"]
    if ours == theirs:
        return ours
    result = notebook.merge(
        base,
        ours,
        theirs,
        newer=newer,
        resolve=resolve,
        ours_name=sides[0].name,
        theirs_name=sides[1].name,
    )
    return (
        result.notebook
        if result.notebook is not None
        else [f"{path}: {c}" for c in result.conflicts]
    )


def _merge_notebooks(
    repo: pygit2.Repository,
    index: pygit2.Index,
    trees: tuple[pygit2.Tree, ...],
    sides: tuple[Side, Side],
    resolve: Resolve,
    newer: Literal["ours", "theirs"],
) -> list[str]:
    """Put the cell-aware merge of every notebook both sides changed into `index`; returns the
    conflicts (one line each, starting with the path) of those that would not merge."""
    import pygit2

    conflicts: list[str] = []
    for path in sorted(_notebook_paths(index, trees)):
        merged = _merge_notebook(repo, path, trees, sides, resolve, newer)
        if isinstance(merged, list):
            conflicts += merged
            continue
        if index.conflicts is not None and path in index.conflicts:
            del index.conflicts[path]
        if merged is None:
            index.remove(path)
        else:
            index.add(pygit2.IndexEntry(path, repo.create_blob(merged), pygit2.enums.FileMode.BLOB))
    return conflicts


def _newer(
    repo: pygit2.Repository, sides: tuple[Side, Side], outputs: Outputs
) -> Literal["ours", "theirs"]:
    import pygit2

    if outputs != "newer":
        return outputs
    ours, theirs = (repo.revparse_single(s.commit).peel(pygit2.Commit).commit_time for s in sides)
    return "ours" if ours >= theirs else "theirs"  # a tie: the one merging ran it last


def _merge_two(
    repo: pygit2.Repository,
    sides: tuple[Side, Side],
    resolve: Resolve,
    outputs: Outputs,
    who: pygit2.Signature,
) -> Merged:

    ours, theirs = sides
    base = repo.merge_base(ours.commit, theirs.commit)
    if base is not None and str(base) == theirs.commit:
        return Merged(ours.commit)
    if base is not None and str(base) == ours.commit:
        return Merged(theirs.commit)
    trees = (
        _tree(repo, str(base) if base else None),
        _tree(repo, ours.commit),
        _tree(repo, theirs.commit),
    )
    index = repo.merge_trees(trees[0], trees[1], trees[2])
    conflicts = _merge_notebooks(repo, index, trees, sides, resolve, _newer(repo, sides, outputs))
    notebooks = {c.split(": ", 1)[0] for c in conflicts}
    for entries in index.conflicts or ():
        path = next(e.path for e in entries if e is not None)
        if path not in notebooks:
            conflicts.append(
                f"{path}: changed by both {ours.name} and {theirs.name}; not a notebook,"
                " so merge it with git"
            )
    if conflicts:
        return Merged(None, tuple(conflicts))
    tree = index.write_tree(repo)
    message = f"Merge {theirs.name}'s work"
    return Merged(
        str(repo.create_commit(None, who, who, message, tree, [ours.commit, theirs.commit]))
    )


def merge(
    repo: pygit2.Repository,
    sides: Sequence[Side],
    *,
    author: tuple[str, str],
    resolve: Resolve = None,
    outputs: Outputs = "newer",
) -> Merged:
    """Merge each later side into the first, in order; the result is an (unreferenced) commit
    whose history holds every side, or the conflicts of the first pair that collided."""
    import pygit2

    who = pygit2.Signature(*author)
    current = sides[0]
    for side in sides[1:]:
        merged = _merge_two(repo, (current, side), resolve, outputs, who)
        if merged.commit is None:
            return merged
        current = Side(current.name, merged.commit)
    return Merged(current.commit)


def report(conflicts: Sequence[str], *, stopped: str) -> str:
    """The conflicts as a user reads them, with the ways out."""
    lines = [f"{stopped}: these changes collide (nothing was changed)"]
    lines += [f"  {c}" for c in conflicts]
    lines.append(
        "keep one side with `git nbcollab sync --ours` or `--theirs`, or both cells with"
        " `--both`, in a working copy"
    )
    return "\n".join(lines)
