"""Notebooks both sides changed, merged by the tree merge after git's merge, not inside it.

`git merge-tree` reads the three versions of every file both sides changed, and holds them
while the merge driver runs: for an 80 MB notebook, git alone peaked at 4-6x the notebook
before the driver had read a byte. So where git needs a notebook only to merge its content
(one merge base; the notebook at the same path in the base and on both sides, changed by
both, and its blobs found nowhere else in the three trees, so no rename compares them), git
reads a stand-in instead: a `git replace` ref in a scratch git dir (the repo's objects as
alternates, so the repo gets no ref) swaps each version for `MARK <blob>`. The merge driver
leaves a stand-in conflicted, git exits with the real blobs as the path's stages, and the
tree merge merges them cell by cell, as it settles any notebook git left conflicted.
Renames, notebooks both sides added and criss-cross histories (whose virtual base merges
notebooks inside git) keep git's whole merge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pygit2

MARK = b"nbcollab-deferred "  # a stand-in's first bytes: never a notebook's (it starts "{")
Versions = tuple[str, str, str]  # the blob ids of base, ours and theirs
_FILES = (0o100644, 0o100755)


def is_stand_in(path: Path) -> bool:
    """Whether the merge driver was handed a stand-in (the tree merge will merge it)."""
    with path.open("rb") as file:
        return file.read(len(MARK)) == MARK


def files(repo: pygit2.Repository, commit: str) -> dict[str, tuple[int, str]]:
    """path -> (mode, id) of every entry (blobs, links, submodules) of a commit's tree."""
    import pygit2

    found: dict[str, tuple[int, str]] = {}
    trees = [("", repo.revparse_single(commit).peel(pygit2.Tree))]
    while trees:
        prefix, tree = trees.pop()
        for entry in tree:
            if entry.type_str == "tree":
                trees.append((f"{prefix}{entry.name}/", repo[entry.id].peel(pygit2.Tree)))
            else:
                found[f"{prefix}{entry.name}"] = (entry.filemode, str(entry.id))
    return found


def both_changed(repo: pygit2.Repository, base: str, ours: str, theirs: str) -> dict[str, Versions]:
    """path -> versions of each notebook git would read only to merge its content."""
    trees = [files(repo, commit) for commit in (base, ours, theirs)]
    uses = Counter(blob for tree in trees for _mode, blob in tree.values())
    found: dict[str, Versions] = {}
    for path in trees[0]:
        entries = [tree.get(path) for tree in trees]
        if not path.endswith(".ipynb") or any(e is None or e[0] not in _FILES for e in entries):
            continue
        blobs = tuple(e[1] for e in entries if e is not None)
        if len(set(blobs)) == 3 and all(uses[blob] == 1 for blob in blobs):
            found[path] = (blobs[0], blobs[1], blobs[2])
    return found


def scratch_git_dir(folder: Path, repo_config: Path, deferred: Mapping[str, Versions]) -> None:
    """Make `folder` a git dir whose replace refs swap each deferred version for its
    stand-in; its config includes the repo's (git merges there as it would in the repo)."""
    import pygit2

    scratch = pygit2.init_repository(str(folder), bare=True)
    quoted = str(repo_config).replace("\\", "\\\\").replace('"', '\\"')
    with (folder / "config").open("a") as config:
        config.write(f'[include]\n\tpath = "{quoted}"\n')
    for blob in {b for versions in deferred.values() for b in versions}:
        stand_in = scratch.create_blob(MARK + blob.encode() + b"\n")
        scratch.references.create(f"refs/replace/{blob}", stand_in)
