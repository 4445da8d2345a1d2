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
merged as the driver would have).

A rename git finds by content. With one merge base, a notebook one side (or both alike) moved
to a new path is deferred too where that side deleted and added no other path, so the pair is
git's only candidate: whether git finds the two versions alike is asked first (`Move`: `git
diff --no-index -M` on the two files, a git that exits before the merge starts), and the
stand-ins of a notebook's versions share most of their bytes (`_stand_in`), so git pairs them
as it would the notebooks. Other renames (more candidates, a notebook moved apart by both)
keep git's whole merge.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from git_nbcollab import proc

if TYPE_CHECKING:
    import pygit2

MARK = b"nbcollab-deferred "  # a stand-in's first bytes: never a notebook's (it starts "{")
_MERGE = MARK + b"merge "  # a description's
Versions = frozenset[str]  # the blob ids of a notebook's versions in the commits git reads
Described = tuple[str | None, str, str]  # the blobs of base (None: none), ours and theirs
Move = tuple[str, str]  # a notebook's blob in the merge base, and at its new path on a side
# A blob up to this size is written out from here (`streamed`): a git to stream it costs more
# (3 ms, three per notebook merged) than holding it; git streams the larger ones.
HELD = 1 << 20
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


def bases(commits: tuple[str, str], env: dict[str, str]) -> list[str] | None:
    """Every merge base git's merge of `commits` reads: theirs, and for two (a criss-cross),
    those of the merge of the two that makes the virtual base, recursively; None when there
    is none, or more than two (whose order git merges them in would matter)."""
    done = proc.run("git", "merge-base", "--all", *commits, env=env, check=False)
    found = done.stdout.decode().split()
    if done.returncode not in (0, 1) or not 1 <= len(found) <= 2:
        return None
    deeper = [] if len(found) == 1 else bases((found[0], found[1]), env)
    return None if deeper is None else [*found, *deeper]


def notebooks(
    repo: pygit2.Repository, sides: tuple[str, str], bases: Sequence[str]
) -> dict[str, Versions]:
    """path -> versions of each notebook git would read only to merge its content, given the
    two sides and every merge base git's merge reads (see the module's docstring)."""
    trees = [files(repo, commit) for commit in dict.fromkeys([*sides, *bases])]
    places = _places(trees)
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


def moved(
    repo: pygit2.Repository, sides: tuple[str, str], base: str
) -> tuple[str, Versions, list[Move]] | None:
    """A notebook moved to a new path by one side (edited by the other) or by both alike, with
    one merge base `base`: its new path, its versions, and the pairs git must find alike for it
    to be deferred (see the module's docstring); None when there is none."""
    trees = [files(repo, commit) for commit in (*sides, base)]
    moves = set()
    for tree in trees[:2]:
        gone, new = trees[2].keys() - tree.keys(), tree.keys() - trees[2].keys()
        if len(gone) == len(new) == 1 and all(p.endswith(".ipynb") for p in gone | new):
            moves.add((*gone, *new))
    if len(moves) != 1:
        return None
    ((old, path),) = moves
    wanted = [path if path in tree and old not in tree else old for tree in trees]
    entries = [tree.get(want) for tree, want in zip(trees, wanted, strict=True)]
    if any(path in tree and want == old for tree, want in zip(trees, wanted, strict=True)):
        return None  # the other side made the new path too
    if any(e is None or e[0] not in _FILES for e in entries):
        return None  # a side kept the notebook as something else
    blobs = [e[1] for e in entries if e is not None]
    places = _places(trees)
    if len(set(blobs)) != 3 or any(places[b] != {w} for b, w in zip(blobs, wanted, strict=True)):
        return None
    pairs = [
        (blobs[2], blob) for blob, want in zip(blobs[:2], wanted, strict=False) if want == path
    ]
    return path, frozenset(blobs), pairs


def alike(repo: pygit2.Repository, move: Move, env: dict[str, str], folder: Path) -> bool:
    """Whether git finds a notebook's base and its moved version alike enough to pair them as
    a rename (its only candidate: see `moved`): asked of `git diff --no-index` on
    their files (streamed where the merge reads them after), a git that exits before the
    merge starts and reads the two as they are, outside any repo and any user's settings."""
    pair = folder / "pair"
    for side, blob in zip(("a", "b"), move, strict=True):
        (pair / side).mkdir(parents=True)  # a/a and b/b: two paths, one deleted, one added
        os.link(streamed(repo, folder, blob, env), pair / side / side)
    alone = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(pair)}
    alone |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    alone |= {"XDG_CONFIG_HOME": str(pair), "GIT_CEILING_DIRECTORIES": str(folder)}
    diff = ("git", "diff", "--no-index", "-M", "--name-status", "-z", "a", "b")
    done = proc.run(*diff, cwd=str(pair), env=alone, check=False)
    shutil.rmtree(pair)
    if done.returncode not in (0, 1):
        raise proc.ProcessError(list(diff), done.returncode, done.stdout, done.stderr)
    return done.stdout.startswith(b"R")


def streamed(repo: pygit2.Repository, folder: Path, blob: str, env: Mapping[str, str]) -> Path:
    """A blob of `repo` in a file in `folder`, once: streamed there by git (with `env`, never
    held here), or written from here if it is at most HELD bytes."""
    path = folder / f"blob-{blob}"
    if not path.exists():
        if repo.odb.read_header(blob)[1] <= HELD:
            path.write_bytes(repo.odb.read(blob)[1])
        else:
            proc.to_file("git", *proc.GIT_ONE_BLOB, "cat-file", "blob", blob, path=path, env=env)
    return path


def _places(trees: Sequence[Mapping[str, tuple[int, str]]]) -> dict[str, set[str]]:
    """blob -> every path it is at in the trees."""
    places: dict[str, set[str]] = defaultdict(set)
    for tree in trees:
        for path, (_mode, blob) in tree.items():
            places[blob].add(path)
    return places


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
    paths = {b: path for path, versions in deferred.items() for b in versions}
    refs = "".join(  # sorted by name, as packed-refs says
        f"{odb.write(pygit2.enums.ObjectType.BLOB, _stand_in(b, path))} refs/replace/{b}\n"
        for b, path in sorted(paths.items())
    )
    (folder / "packed-refs").write_text(f"# pack-refs with: peeled fully-peeled sorted \n{refs}")


def _stand_in(blob: str, path: str) -> bytes:
    """What git reads for a version of the notebook deferred at `path`: the blob it stands for,
    then lines shared by every version of that notebook and no other's, so that git, comparing
    contents to find a rename (`moved`), finds the stand-ins of a moved notebook 95% alike."""
    shared = hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()
    return MARK + blob.encode() + b"\n" + "".join(f"{shared} {n}\n" for n in range(32)).encode()
