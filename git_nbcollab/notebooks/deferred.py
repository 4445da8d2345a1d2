"""Notebooks both sides changed, merged by the tree merge after git's merge, not inside it.

`git merge-tree` reads the three versions of every file both sides changed, and holds them
while the merge driver runs: for an 80 MB notebook, git alone peaked at 4-6x the notebook
before the driver had read a byte. So where git needs a notebook only to merge its content,
git reads a stand-in instead: a `git replace` ref in a scratch git dir (the repo's objects as
alternates, so the repo gets no ref) swaps each version for `MARK <blob>`. That is where the
notebook is at one path, as a file, in every commit git's merge reads (ours, theirs and each
merge base, those of a criss-cross history's bases too), or added by both sides with one merge
base and nothing deleted on either side; and its versions are at no other path there: then no
rename git looks for can involve it. The merge driver, handed stand-ins, writes what it was
asked to merge (`describe`: `MARK merge <base> <ours> <theirs>`, a virtual base's description
when git merges merge bases) and leaves the path conflicted; git exits with the real blobs as
the path's stages, and the tree merge merges them cell by cell (`materialized`: a virtual base
merged as the driver would have). Renames keep git's whole merge: git finds them by content.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pygit2

MARK = b"nbcollab-deferred "  # a stand-in's first bytes: never a notebook's (it starts "{")
_MERGE = MARK + b"merge "  # a description's
Versions = frozenset[str]  # the blob ids of a notebook's versions in the commits git reads
Described = tuple[str | None, str, str]  # the blobs of base (None: none), ours and theirs
_FILES = (0o100644, 0o100755)


def is_stand_in(path: Path) -> bool:
    """Whether the merge driver was handed a stand-in or a description (of a virtual base)."""
    with path.open("rb") as file:
        return file.read(len(MARK)) == MARK


def _blob(path: Path) -> str:
    """The blob a driver's file is: the one a stand-in stands for, else its content's."""
    from git_nbcollab.notebooks import notebook

    with path.open("rb") as file:
        start = file.read(len(MARK) + 41)
    if start.startswith(MARK) and not start.startswith(_MERGE):
        return start[len(MARK) :].decode().strip()
    return notebook.blob_id(path)


def describe(base: Path | None, ours: Path, theirs: Path) -> bytes:
    """What a merge driver handed stand-ins writes: the blobs it was asked to merge."""
    blobs = ["-" if base is None else _blob(base), _blob(ours), _blob(theirs)]
    return _MERGE + " ".join(blobs).encode() + b"\n"


def described(repo: pygit2.Repository, blob: str) -> Described | None:
    """The merge a blob describes (see `describe`), or None for any other blob."""
    _kind, size = repo.odb.read_header(blob)
    if size > 200:
        return None
    data = repo.odb.read(blob)[1]
    fields = data[len(_MERGE) :].split() if data.startswith(_MERGE) else []
    if len(fields) != 3 or not all(re.fullmatch(rb"-|[0-9a-f]{40}", f) for f in fields):
        return None  # not one: a file of someone's that merely starts so
    base, ours, theirs = (f.decode() for f in fields)
    return (None if base == "-" else base), ours, theirs


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


def notebooks(
    repo: pygit2.Repository, sides: tuple[str, str], bases: Sequence[str]
) -> dict[str, Versions]:
    """path -> versions of each notebook git would read only to merge its content, given the
    two sides and every merge base git's merge reads (see the module's docstring)."""
    trees = [files(repo, commit) for commit in dict.fromkeys([*sides, *bases])]
    places: dict[str, set[str]] = defaultdict(set)
    for tree in trees:
        for path, (_mode, blob) in tree.items():
            places[blob].add(path)
    ours, theirs = trees[0], trees[1]
    found: dict[str, Versions] = {}
    for path in ours.keys() & theirs.keys():
        entries = [tree.get(path) for tree in trees]
        if not path.endswith(".ipynb") or ours[path][1] == theirs[path][1]:
            continue
        if any(e is not None and e[0] not in _FILES for e in entries):
            continue
        blobs = frozenset(e[1] for e in entries if e is not None)
        if not all(places[blob] == {path} for blob in blobs):
            continue
        if None not in entries and (len(bases) > 1 or len(blobs) == 3):
            found[path] = blobs
        elif len(bases) == 1 and entries[-1] is None and _nothing_deleted(trees):
            found[path] = blobs  # added by both
    return found


def _nothing_deleted(trees: Sequence[Mapping[str, tuple[int, str]]]) -> bool:
    """Whether both sides (the first two) hold every path of the merge base (the last)."""
    return trees[-1].keys() <= trees[0].keys() & trees[1].keys()


def scratch_git_dir(folder: Path, repo_config: Path, deferred: Mapping[str, Versions]) -> None:
    """Make `folder` a git dir whose replace refs swap each deferred version for its
    stand-in; its config includes the repo's (git merges there as it would in the repo).
    Only what git needs of a git dir (HEAD, objects, refs; the refs in `packed-refs`): every
    folder made here is removed after the merge, 3 ms each on a disk mounted with `discard`
    (`git init` and loose replace refs made 6 more)."""
    import pygit2

    objects = folder / "objects"
    objects.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "HEAD").write_text("ref: refs/heads/main\n")
    quoted = str(repo_config).replace("\\", "\\\\").replace('"', '\\"')
    (folder / "config").write_text(
        f'[core]\n\trepositoryformatversion = 0\n\tbare = true\n[include]\n\tpath = "{quoted}"\n'
    )
    odb = pygit2.Odb()
    odb.add_backend(pygit2.OdbBackendLoose(str(objects), 1, False), 1)
    blobs = sorted({b for versions in deferred.values() for b in versions})
    stand_ins = [odb.write(pygit2.enums.ObjectType.BLOB, MARK + b.encode() + b"\n") for b in blobs]
    refs = "".join(f"{s} refs/replace/{b}\n" for b, s in zip(blobs, stand_ins, strict=True))
    (folder / "packed-refs").write_text(f"# pack-refs with: peeled fully-peeled sorted \n{refs}")
