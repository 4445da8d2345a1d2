"""What sync commits of a working copy: every change to a tracked file and every new notebook,
never other untracked files (a parquet or a results.csv stays on the user's machine)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

from git_nbcollab import proc, repo
from git_nbcollab.errors import UserError

CHECKPOINTS = ".ipynb_checkpoints"
SKIP = f":(exclude,glob)**/{CHECKPOINTS}/**"  # Jupyter's autosave copies are nobody's work


class Snapshot(NamedTuple):
    commit: str  # the working tree on top of HEAD; HEAD itself if nothing changed
    committed: tuple[str, ...]  # paths that differ from HEAD
    left_out: tuple[str, ...]  # untracked files that are not notebooks


def git(
    top: Path, *args: str, env: dict[str, str] | None = None, input: bytes | None = None
) -> str:
    """git in the working copy's top folder (whatever folder the command was run in)."""
    return proc.out("git", *args, cwd=str(top), env={**os.environ, **(env or {})}, input=input)


def _objects(gitdir: Path, staged: repo.Staging) -> dict[str, str]:
    """git sees the staged objects and the repo's own; what it writes stays staged."""
    return {
        "GIT_OBJECT_DIRECTORY": str(staged.quarantine),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(gitdir / "objects"),
    }


def take(
    top: Path,
    gitdir: Path,
    staged: repo.Staging,
    head: str,
    message: str,
    author: tuple[str, str],
) -> Snapshot:
    """Commit the working tree on top of HEAD into staged objects. The real index is left
    alone (a copy takes the `git add`)."""
    import pygit2

    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        if (gitdir / "index").exists():  # with its time: git compares file times in whole
            shutil.copy2(gitdir / "index", index)  # seconds, and an edit made in the second
            # the index was written is found only by comparing against the index's own time
        env = {"GIT_INDEX_FILE": str(index), **_objects(gitdir, staged)}
        git(top, "add", "--update", "--", ".", SKIP, env=env)
        untracked = git(top, "ls-files", "-z", "--others", "--exclude-standard", env=env)
        paths = [p for p in proc.zsplit(untracked) if CHECKPOINTS not in Path(p).parts]
        notebooks = [p for p in paths if p.endswith(".ipynb")]
        if notebooks:
            listed = "".join(f"{p}\0" for p in notebooks).encode()
            git(top, "add", "--pathspec-from-file=-", "--pathspec-file-nul", env=env, input=listed)
        tree = git(top, "write-tree", env=env).strip()
    left_out = tuple(p for p in paths if not p.endswith(".ipynb"))
    old = staged.repo.revparse_single(head).peel(pygit2.Commit)
    if tree == str(old.tree_id):
        return Snapshot(head, (), left_out)
    new = staged.repo[tree].peel(pygit2.Tree)
    committed = tuple(d.new_file.path for d in old.tree.diff_to_tree(new).deltas)
    who = pygit2.Signature(*author)
    commit = staged.repo.create_commit(None, who, who, f"{message}\n", new.id, [old.id])
    return Snapshot(str(commit), committed, left_out)


def check_landing(top: Path, staged: repo.Staging, own: str, merged: str) -> None:
    """Stop if a file the merge brings in would land on an untracked or ignored file (or
    folder) of the user's: git's checkout would overwrite it."""
    import pygit2

    trees = (staged.repo.revparse_single(c).peel(pygit2.Tree) for c in (own, merged))
    deltas = next(trees).diff_to_tree(next(trees)).deltas
    added = [d.new_file.path for d in deltas if d.status == pygit2.enums.DeltaStatus.ADDED]
    for path in added:
        parts = Path(path).parts
        for depth in range(1, len(parts) + 1):
            here = top.joinpath(*parts[:depth])
            last = depth == len(parts)
            if here.is_symlink() or (here.exists() and (last or not here.is_dir())):
                raise UserError(
                    f"sync stopped: a teammate's {path} would overwrite your untracked"
                    f" {here.relative_to(top)}; move it away (or `git add` it to share it),"
                    " then sync again (nothing was changed)"
                )
