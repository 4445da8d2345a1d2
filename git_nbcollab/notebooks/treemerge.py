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
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from git_nbcollab import proc
from git_nbcollab.notebooks import choices, deferred
from git_nbcollab.notebooks.filemerge import Settings
from git_nbcollab.notebooks.settling import Asked, Settling, Stages, settle
from git_nbcollab.notebooks.settling import blob_data as blob_data

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


def _newer(
    repo: pygit2.Repository, sides: tuple[Side, Side], outputs: Outputs
) -> Literal["ours", "theirs"]:
    import pygit2

    if outputs != "newer":
        return outputs
    ours, theirs = (repo.revparse_single(s.commit).peel(pygit2.Commit).commit_time for s in sides)
    return "ours" if ours >= theirs else "theirs"  # a tie: the one merging ran it last


def _git_env(gitdir: Path, quarantine: Path | None, scratch: Path | None = None) -> dict[str, str]:
    """git's environment for the repo at `gitdir`, writing objects to `quarantine` when given;
    with `scratch` (`deferred.scratch_git_dir`), git works there on the repo's objects."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_DIR"] = str(scratch or gitdir)
    readable = [] if scratch is None else [str(scratch / "objects")]
    if quarantine is not None or scratch is not None:
        env["GIT_OBJECT_DIRECTORY"] = str(quarantine or gitdir / "objects")
        readable += [str(gitdir / "objects")] if quarantine is not None else []
    if readable:
        env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = os.pathsep.join(readable)
    return env


def _deferred(
    repo: pygit2.Repository, sides: tuple[Side, Side], env: dict[str, str], folder: Path
) -> tuple[dict[str, deferred.Versions], bool]:
    """The notebooks git's merge of the two sides would read only to merge them (see
    `deferred`), and whether the history is a criss-cross (git merges merge bases)."""
    commits = (sides[0].commit, sides[1].commit)
    bases = deferred.bases(commits, env)
    if bases is None:
        return {}, False
    found = deferred.notebooks(repo, commits, bases)
    moved = deferred.moved(repo, commits, bases[0]) if len(bases) == 1 else None
    if moved is not None and all(deferred.alike(repo, move, env, folder) for move in moved[2]):
        found[moved[0]] = moved[1]
    return found, len(bases) > 1


def _merge_tree(
    repo: pygit2.Repository,
    sides: tuple[Side, Side],
    settings: Settings,
    quarantine: Path | None,
    later: Mapping[str, deferred.Versions],
    criss_cross: bool,
) -> tuple[str, Stages]:
    """git's own merge (`ort`: renames, a virtual base for criss-cross histories), notebooks
    through our driver, those in `later` left conflicted for `_settle`; the tree (conflicted
    files as git leaves them) and the conflicts."""
    gitdir = Path(repo.path)
    folder = Path(settings.notes).parent  # git writes the driver's temporary files here
    scratch = None
    if later:
        scratch = folder / "scratch.git"
        deferred.scratch_git_dir(scratch, gitdir / "config", later)
    env = _git_env(gitdir, quarantine, scratch) | settings.env() | {"PYTHONPATH": _PACKAGE_DIR}
    command = _driver_command(stand_ins=bool(later) and not criss_cross)
    # the repo's own info/attributes (`leave_notebooks_to_us`) wins over this file; the file
    # covers repos without one
    attributes = folder / "attributes"
    attributes.write_text(ATTRIBUTES)
    if scratch is not None and (gitdir / "info" / "attributes").is_file():
        (scratch / "info").mkdir(exist_ok=True)
        shutil.copyfile(gitdir / "info" / "attributes", scratch / "info" / "attributes")
    config = {**driver_config(command), "core.attributesFile": str(attributes)}
    options = [arg for key, value in config.items() for arg in ("-c", f"{key}={value}")]
    done = proc.run(
        "git",
        *options,
        "merge-tree",
        "--write-tree",
        "-z",
        "--no-messages",
        "--allow-unrelated-histories",
        sides[0].commit,
        sides[1].commit,
        env=env,
        cwd=str(folder),
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


def _driver_command(*, stand_ins: bool) -> str:
    """The driver's own entry point (not the CLI, whose parsers cost a driver run more than
    it); with `stand_ins`, a stand-in is left conflicted by the shell, as the driver would
    (`deferred.is_stand_in`), without starting Python for it. Not in a criss-cross history:
    what the driver writes for a virtual base is that base (`deferred.describe`)."""
    command = f"{shlex.quote(sys.executable)} -m git_nbcollab.commands.merge_driver %O %A %B %P"
    if not stand_ins:
        return command
    mark = shlex.quote(deferred.MARK.decode())
    return f'case "$(head -c {len(deferred.MARK)} %A)" in {mark}) exit 1;; esac; exec {command}'


def _where(repo: pygit2.Repository, commit: str) -> dict[str, str]:
    """blob -> its path in a commit's tree."""
    return {blob: path for path, (_mode, blob) in deferred.files(repo, commit).items()}


def _notes(repo: pygit2.Repository, sides: tuple[Side, Side], notes_file: Path) -> list[str]:
    """The notes of the driver runs that merged the two sides' own notebooks (the runs that made
    a virtual base for a criss-cross history merged older versions: theirs are left out)."""
    lines = notes_file.read_text().splitlines()
    if not lines:
        return []
    ours, theirs = (_where(repo, s.commit) for s in sides)
    kept: list[str] = []
    for record in map(json.loads, lines):
        if record["ours"] in ours and record["theirs"] in theirs:
            kept += [f"{ours[record['ours']]}: {n}" for n in record["notes"]]
    return kept


def _named(
    repo: pygit2.Repository, ours: Side, later: Mapping[str, deferred.Versions]
) -> dict[str, str]:
    """Each deferred notebook's path in ours, which the driver's notes would name it by."""
    where = _where(repo, ours.commit) if later else {}
    return {path: where[b] for path, versions in later.items() for b in versions & where.keys()}


def _merge_two(
    repo: pygit2.Repository,
    sides: tuple[Side, Side],
    settings: Settings,
    who: pygit2.Signature,
    quarantine: Path | None,
    asked: Asked,
) -> Merged:
    ours, theirs = sides
    if ours.commit == theirs.commit or repo.descendant_of(ours.commit, theirs.commit):
        return Merged(ours.commit)
    if repo.descendant_of(theirs.commit, ours.commit):
        return Merged(theirs.commit)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(settings.newer, settings.resolve, settings.names, f"{tmp}/notes")
        Path(settings.notes).touch()
        env = _git_env(Path(repo.path), quarantine)
        later, criss_cross = _deferred(repo, sides, env, Path(tmp))
        tree, conflicted = _merge_tree(repo, sides, settings, quarantine, later, criss_cross)
        notes = _notes(repo, sides, Path(settings.notes))
        named = _named(repo, ours, later)
        work = Settling(repo, settings, asked, env, Path(tmp), named, notes)
        return _finish(work, sides, who, tree, conflicted)


def _finish(
    work: Settling, sides: tuple[Side, Side], who: pygit2.Signature, tree: str, conflicted: Stages
) -> Merged:
    """The merge commit of the tree git made, with the paths it left conflicted settled; or
    the conflicts."""
    import pygit2

    repo = work.repo
    conflicts: list[str] = []
    if conflicted:
        index = pygit2.Index()
        index.read_tree(repo[tree].peel(pygit2.Tree))
        for path, stages in sorted(conflicted.items()):
            settled = settle(work, path, stages)
            if isinstance(settled, list):
                conflicts += settled
            elif settled is None:
                index.remove(path)
            else:
                mode = pygit2.enums.FileMode(settled[0])
                index.add(pygit2.IndexEntry(path, pygit2.Oid(hex=settled[1]), mode))
        if conflicts:
            return Merged(None, tuple(conflicts), tuple(work.notes), tuple(work.asked.found))
        tree = str(index.write_tree(repo))
    message = f"Merge {sides[1].name}'s work"
    parents = [sides[0].commit, sides[1].commit]
    commit = repo.create_commit(None, who, who, message, pygit2.Oid(hex=tree), parents)
    return Merged(str(commit), (), tuple(work.notes))


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
