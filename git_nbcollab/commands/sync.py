"""`git nbcollab sync`: commit your work, merge the others' cell by cell, push your branch.

Nothing is written unless the merge succeeds: your changes are committed through a
temporary index into staged objects, merged there, and only then do the branch, the index
and the files move to the result.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from git_nbcollab import proc, repo
from git_nbcollab.client import link, workcopy
from git_nbcollab.errors import UserError
from git_nbcollab.names import branch_owner
from git_nbcollab.notebooks import treemerge
from git_nbcollab.output import say

OWN_MESSAGE = "Work in progress (git nbcollab sync)"
SKIP = ":(exclude).ipynb_checkpoints"  # Jupyter's autosave copies are nobody's work


def _git(*args: str, env: dict[str, str] | None = None) -> str:
    return proc.out("git", *args, env={**os.environ, **(env or {})}).strip()


def _snapshot(gitdir: Path, staged: repo.Staging, head: str, message: str) -> str:
    """A commit of the working tree on top of HEAD, in staged objects; HEAD if nothing changed.
    The real index is left alone (a copy takes the `git add`)."""
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        shutil.copy(gitdir / "index", index)
        env = {
            "GIT_INDEX_FILE": str(index),
            "GIT_OBJECT_DIRECTORY": str(staged.quarantine),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(gitdir / "objects"),
        }
        _git("add", "--all", "--", ".", SKIP, env=env)
        tree = _git("write-tree", env=env)
        if tree == _git("rev-parse", f"{head}^{{tree}}"):
            return head
        return _git("commit-tree", tree, "-p", head, "-m", message, env=env)


def _others(me: str) -> list[treemerge.Side]:
    refs = _git("for-each-ref", "--format=%(refname) %(objectname)", "refs/remotes/origin/u/")
    sides = []
    for line in refs.splitlines():
        ref, commit = line.split()
        owner = branch_owner(ref.replace("refs/remotes/origin/", "refs/heads/"))
        if owner and owner != me and ref.endswith("/main"):
            sides.append(treemerge.Side(owner, commit))
    return sides


def sync(*, resolve: treemerge.Resolve, outputs: treemerge.Outputs, message: str) -> int:
    if workcopy.current_collab() is None:
        raise UserError("not in a working copy: cd into one (git nbcollab clone makes one)")
    branch = _git("symbolic-ref", "HEAD")
    me = branch_owner(branch)
    if me is None:
        raise UserError(f"{branch} is not one of your u/<you>/ branches: switch to u/<you>/main")
    gitdir = Path(_git("rev-parse", "--absolute-git-dir"))
    workcopy.use_merge_driver(gitdir)  # copies made before the driver existed get it here
    with link.connect() as hub:
        hub.git("fetch", "--quiet", "origin")
        head = _git("rev-parse", "HEAD")
        with repo.staging(gitdir) as staged:
            own = _snapshot(gitdir, staged, head, message or OWN_MESSAGE)
            sides = [treemerge.Side(me, own), *_others(me)]
            merged = treemerge.merge(
                staged.repo,
                sides,
                author=link.author(),
                resolve=resolve,
                outputs=outputs,
                quarantine=staged.quarantine,
            )
            if merged.commit is None:
                raise UserError(treemerge.report(merged.conflicts, stopped="sync stopped"))
            staged.keep()
        _git("update-ref", "-m", "git nbcollab sync", branch, merged.commit, head)
        _git("read-tree", "--reset", "-u", merged.commit)
        try:
            hub.git("push", "--quiet", "origin", f"{branch}:{branch}")
        except UserError as e:
            raise UserError(
                f"merged here, not pushed: {e}; run `git nbcollab sync` again"
            ) from None
    others = ", ".join(s.name for s in sides[1:]) or "nobody else yet"
    say(f"synced {branch.removeprefix('refs/heads/')}: your work, merged with {others}, is pushed")
    return 0
