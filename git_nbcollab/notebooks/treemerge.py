"""Merging authors' branches the way this tool does: notebooks cell by cell, other files as git.

git's `ort` merge (`git merge-tree --write-tree`) does the tree: renames are followed, and a
criss-cross history (several merge bases) is merged against a virtual base made by merging the
bases, recursively. Every notebook both sides changed goes through our merge driver
(`filemerge`), in the virtual base too, never through git's text merge, which can leave
conflict markers inside the JSON. What git leaves conflicted is settled here: notebooks cell by
cell against git's (virtual) base, `resolve` for deletions, other files named for the user.
Works on any repo (the hub's bare repos, a teammate's working copy); writes objects only (see
`repo.staging`), never refs or files.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from git_nbcollab import proc
from git_nbcollab.notebooks import choices, notebook
from git_nbcollab.notebooks.filemerge import Settings

if TYPE_CHECKING:
    import pygit2

# Notebooks merge through our driver (`git nbcollab merge-driver`), in working copies (plain git)
# and in the tree merge, never as text: git's text merge of a 20 MB notebook took 1.8 s, and can
# leave conflict markers inside the JSON.
DRIVER = "nbcollab"
ATTRIBUTES = f"*.ipynb merge={DRIVER}\n"
DRIVER_COMMAND = "git nbcollab merge-driver %O %A %B %P"  # as working copies register it
_PACKAGE_DIR = str(Path(__file__).resolve().parents[2])

Resolve = Literal["ours", "theirs", "both"] | None
Outputs = Literal["newer", "ours", "theirs"]
# Per-cell choices for notebooks that collide (the JupyterLab conflict panel):
# (theirs' name, path) -> cell index -> "mine" | "theirs" | "both"
Chosen = Mapping[tuple[str, str], Mapping[int, choices.Choice]]


@dataclass(frozen=True)
class Side:
    name: str  # whose work this is, as conflicts name it
    commit: str


@dataclass(frozen=True)
class Merged:
    """`commit` holds everyone's work, or is None and `conflicts` says (one line each) why;
    `notes` (one line each, starting with the path) say what the merge kept or dropped;
    `cells`, when asked for, the colliding notebook cells with both versions."""

    commit: str | None
    conflicts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    cells: tuple[choices.CellConflict, ...] = ()


@dataclass(frozen=True)
class Asked:
    """What a merge does beyond `resolve`: settle cells as chosen, or describe collisions."""

    chosen: Chosen = field(default_factory=dict)
    detail: bool = False
    found: list[choices.CellConflict] = field(default_factory=list)


def leave_notebooks_to_us(gitdir: Path) -> None:
    """Have git merge notebooks in this repo with our driver (`info/attributes`)."""
    attributes = gitdir / "info" / "attributes"
    attributes.parent.mkdir(exist_ok=True)
    if not attributes.exists() or attributes.read_text() != ATTRIBUTES:
        attributes.write_text(ATTRIBUTES)


def driver_config(command: str = DRIVER_COMMAND) -> dict[str, str]:
    """The git config that defines the driver `ATTRIBUTES` name."""
    return {
        f"merge.{DRIVER}.name": "notebooks cell by cell (git nbcollab)",
        f"merge.{DRIVER}.driver": command,
    }


def blob_data(repo: pygit2.Repository, oid: pygit2.Oid | str) -> bytes:
    """A blob's bytes, inflated once (`repo[oid].read_raw()` inflates a 20 MB notebook twice)."""
    return repo.odb.read(oid)[1]


def _newer(
    repo: pygit2.Repository, sides: tuple[Side, Side], outputs: Outputs
) -> Literal["ours", "theirs"]:
    import pygit2

    if outputs != "newer":
        return outputs
    ours, theirs = (repo.revparse_single(s.commit).peel(pygit2.Commit).commit_time for s in sides)
    return "ours" if ours >= theirs else "theirs"  # a tie: the one merging ran it last


Stages = dict[str, dict[int, tuple[int, str]]]  # path -> stage -> (mode, blob)


def _merge_tree(
    repo: pygit2.Repository, sides: tuple[Side, Side], settings: Settings, quarantine: Path | None
) -> tuple[str, Stages]:
    """git's own merge (`ort`: renames, a virtual base for criss-cross histories), notebooks
    through our driver; the tree (conflicted files as git leaves them) and the conflicts."""
    gitdir = Path(repo.path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= settings.env() | {"PYTHONPATH": _PACKAGE_DIR}
    if quarantine is not None:
        env |= {
            "GIT_OBJECT_DIRECTORY": str(quarantine),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(gitdir / "objects"),
        }
    command = f"{shlex.quote(sys.executable)} -m git_nbcollab merge-driver %O %A %B %P"
    # the repo's own info/attributes (`leave_notebooks_to_us`) wins over this file; the file
    # covers repos without one
    attributes = Path(settings.notes).with_name("attributes")
    attributes.write_text(ATTRIBUTES)
    config = {**driver_config(command), "core.attributesFile": str(attributes)}
    options = [arg for key, value in config.items() for arg in ("-c", f"{key}={value}")]
    done = proc.run(
        "git",
        f"--git-dir={gitdir}",
        *options,
        "merge-tree",
        "--write-tree",
        "-z",
        "--no-messages",
        "--allow-unrelated-histories",
        sides[0].commit,
        sides[1].commit,
        env=env,
        cwd=str(attributes.parent),  # git writes the driver's temporary files here
        check=False,
    )
    if done.returncode not in (0, 1):
        raise proc.ProcessError(["git", "merge-tree"], done.returncode, done.stdout, done.stderr)
    tree, *entries = done.stdout.decode().split("\0")
    stages: Stages = {}
    for entry in entries:
        if not entry:
            break
        info, path = entry.split("\t", 1)
        mode, blob, stage = info.split()
        stages.setdefault(path, {})[int(stage)] = (int(mode, 8), blob)
    return tree, stages


def _settle(
    repo: pygit2.Repository,
    path: str,
    stages: dict[int, tuple[int, str]],
    settings: Settings,
    asked: Asked,
) -> tuple[int, str] | list[str] | None:
    """One path git left conflicted: (mode, blob) to keep, None to delete, or the conflicts."""
    ours, theirs = settings.names
    if 2 in stages and 3 in stages:
        if not path.endswith(".ipynb"):
            return [
                f"{path}: changed by both {ours} and {theirs}; not a notebook, so merge it with git"
            ]
        base = blob_data(repo, stages[1][1]) if 1 in stages else None
        result = notebook.merge(
            base,
            blob_data(repo, stages[2][1]),
            blob_data(repo, stages[3][1]),
            newer=settings.newer,
            resolve=settings.resolve,
            ours_name=ours,
            theirs_name=theirs,
        )
        if result.notebook is None:
            return _by_cell(repo, path, (base, stages), settings, asked) or [
                f"{path}: {c}" for c in result.conflicts
            ]
        return stages[2][0], str(repo.create_blob(result.notebook))
    if settings.resolve in ("ours", "theirs"):
        return stages.get(2 if settings.resolve == "ours" else 3)
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
    ours, theirs = (blob_data(repo, stages[n][1]) for n in (2, 3))
    chosen = asked.chosen.get((settings.names[1], path))
    if chosen is not None:
        data = choices.apply(base, ours, theirs, settings.names, settings.newer, chosen, path)
        return stages[2][0], str(repo.create_blob(data))
    if asked.detail:
        found = choices.conflict_cells(path, base, ours, theirs, settings.names, settings.newer)
        asked.found.extend(found)
    return None


def _notes(repo: pygit2.Repository, sides: tuple[Side, Side], notes_file: Path) -> list[str]:
    """The notes of the driver runs that merged the two sides' own notebooks (the runs that made
    a virtual base for a criss-cross history merged older versions: theirs are left out)."""
    lines = notes_file.read_text().splitlines()
    if not lines:
        return []
    ours, theirs = (_notebook_blobs(repo, s.commit) for s in sides)
    kept: list[str] = []
    for record in map(json.loads, lines):
        if record["ours"] in ours and record["theirs"] in theirs:
            kept += [f"{ours[record['ours']]}: {n}" for n in record["notes"]]
    return kept


def _notebook_blobs(repo: pygit2.Repository, commit: str) -> dict[str, str]:
    """blob id -> path of every notebook in `commit`."""
    import pygit2

    found: dict[str, str] = {}
    trees = [("", repo.revparse_single(commit).peel(pygit2.Tree))]
    while trees:
        prefix, tree = trees.pop()
        for entry in tree:
            if entry.type_str == "tree":
                trees.append((f"{prefix}{entry.name}/", repo[entry.id].peel(pygit2.Tree)))
            elif entry.name and entry.name.endswith(".ipynb"):
                found[str(entry.id)] = prefix + entry.name
    return found


def _merge_two(
    repo: pygit2.Repository,
    sides: tuple[Side, Side],
    settings: Settings,
    who: pygit2.Signature,
    quarantine: Path | None,
    asked: Asked,
) -> Merged:
    import pygit2

    ours, theirs = sides
    if ours.commit == theirs.commit or repo.descendant_of(ours.commit, theirs.commit):
        return Merged(ours.commit)
    if repo.descendant_of(theirs.commit, ours.commit):
        return Merged(theirs.commit)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(settings.newer, settings.resolve, settings.names, f"{tmp}/notes")
        Path(settings.notes).touch()
        tree, conflicted = _merge_tree(repo, sides, settings, quarantine)
        notes = _notes(repo, sides, Path(settings.notes))
    conflicts: list[str] = []
    if conflicted:
        index = pygit2.Index()
        index.read_tree(repo[tree].peel(pygit2.Tree))
        for path, stages in sorted(conflicted.items()):
            settled = _settle(repo, path, stages, settings, asked)
            if isinstance(settled, list):
                conflicts += settled
            elif settled is None:
                index.remove(path)
            else:
                mode = pygit2.enums.FileMode(settled[0])
                index.add(pygit2.IndexEntry(path, pygit2.Oid(hex=settled[1]), mode))
        if conflicts:
            return Merged(None, tuple(conflicts), tuple(notes), tuple(asked.found))
        tree = str(index.write_tree(repo))
    message = f"Merge {theirs.name}'s work"
    parents = [ours.commit, theirs.commit]
    commit = repo.create_commit(None, who, who, message, pygit2.Oid(hex=tree), parents)
    return Merged(str(commit), (), tuple(notes))


def merge(
    repo: pygit2.Repository,
    sides: Sequence[Side],
    *,
    author: tuple[str, str],
    resolve: Resolve = None,
    outputs: Outputs = "newer",
    quarantine: Path | None = None,
    asked: Asked | None = None,
) -> Merged:
    """Merge each later side into the first, in order; the result is an (unreferenced) commit
    whose history holds every side, or the conflicts of the first pair that collided.

    git's `ort` merge does the work (renames; criss-cross histories merged against a virtual
    base), with notebooks merged cell by cell by our driver. The objects it writes go to
    `quarantine` when given (see `repo.staging`); `asked` settles colliding cells one by one, or
    describes them."""
    import pygit2

    who = pygit2.Signature(*author)
    current = sides[0]
    notes: list[str] = []
    for side in sides[1:]:
        pair = (current, side)
        settings = Settings(_newer(repo, pair, outputs), resolve, (current.name, side.name))
        merged = _merge_two(repo, pair, settings, who, quarantine, asked or Asked())
        notes += merged.notes
        if merged.commit is None:
            return Merged(None, merged.conflicts, tuple(notes), merged.cells)
        current = Side(current.name, merged.commit)
    return Merged(current.commit, (), tuple(notes))


def report(conflicts: Sequence[str], *, stopped: str) -> str:
    """The conflicts as a user reads them, with the ways out."""
    lines = [f"{stopped}: these changes collide (nothing was changed)"]
    lines += [f"  {c}" for c in conflicts]
    lines.append(
        "keep one side with `git nbcollab sync --ours` or `--theirs`, or both cells with"
        " `--both`, in a working copy"
    )
    return "\n".join(lines)
