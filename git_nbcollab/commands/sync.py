"""`git nbcollab sync`: commit your work, merge the others' cell by cell, push your branch.

Nothing is written unless the merge succeeds: your changes are committed through a
temporary index into staged objects, merged there, and only then do the branch, the index
and the files move to the result. What is committed: `client.snapshot`; notebooks saved from a
tab opened before the last sync: `client.savedover`.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, replace
from pathlib import Path

from git_nbcollab import proc, repo
from git_nbcollab.client import link, savedover, snapshot, workcopy
from git_nbcollab.client.snapshot import git
from git_nbcollab.errors import UserError
from git_nbcollab.names import branch_owner
from git_nbcollab.notebooks import treemerge
from git_nbcollab.notebooks.choices import CellConflict
from git_nbcollab.output import say

OWN_MESSAGE = "Work in progress (git nbcollab sync)"
SHOWN = 10
# How git says the branch moved on the hub: refused by the client, or found moved by the hub.
MOVED = (
    b"[rejected]",
    b"non-fast-forward",
    b"fetch first",
    b"but expected",
)  # untracked files named before "and N more"


def _sides(top: Path, me: str, branch: str) -> list[treemerge.Side]:
    """Your own branch as the hub has it (pushed from another machine, maybe), then each
    teammate's main branch."""
    refs = git(top, "for-each-ref", "--format=%(refname) %(objectname)", "refs/remotes/origin/u/")
    mine, others = [], []
    for line in refs.splitlines():
        ref, commit = line.split()
        head_ref = ref.replace("refs/remotes/origin/", "refs/heads/")
        owner = branch_owner(head_ref)
        if head_ref == branch:
            mine.append(
                treemerge.Side(f"your {branch.removeprefix('refs/heads/')} on the hub", commit)
            )
        elif owner and owner != me and ref.endswith("/main"):
            others.append(treemerge.Side(owner, commit))
    return mine + others


def _own(
    top: Path,
    gitdir: Path,
    staged: repo.Staging,
    head: str,
    *,
    message: str,
    take_saved: bool,
    resolve: treemerge.Resolve,
) -> tuple[snapshot.Snapshot, str, tuple[str, ...]]:
    """Your work as a commit, with notebooks saved from a stale tab merged (see savedover)."""
    snap = snapshot.take(top, gitdir, staged, head, message)
    last = savedover.load(gitdir)
    if take_saved or last is None or not _is_ancestor(top, last.merged, head):
        return snap, snap.commit, ()
    fixed = savedover.repair(
        staged.repo,
        last,
        snap.commit,
        head=head,
        message=message,
        author=link.author(),
        resolve=resolve,
    )
    if fixed.conflicts:
        raise savedover.stale_save_refused(fixed.conflicts)
    return snap, fixed.commit, fixed.notes


def _is_ancestor(top: Path, old: str, new: str) -> bool:
    found = proc.run("git", "merge-base", "--is-ancestor", old, new, cwd=str(top), check=False)
    return found.returncode == 0


def _push(hub: link.Client, top: Path, branch: str) -> None:
    env = {**os.environ, "GIT_SSH_COMMAND": shlex.join(hub.ssh_args())}
    short = branch.removeprefix("refs/heads/")
    pushed = proc.run(
        "git",
        "push",
        "--porcelain",
        "origin",
        f"{branch}:{branch}",
        cwd=str(top),
        env=env,
        check=False,
    )
    if pushed.returncode == 0:
        return
    said = pushed.stdout + pushed.stderr
    if any(sign in said for sign in MOVED):
        raise UserError(
            f"merged here, not pushed: the hub refused a non-fast-forward push of {short}"
            " (it moved since this sync fetched, e.g. a sync from another machine);"
            " run `git nbcollab sync` again to merge that in"
        )
    why = proc.reason(pushed.stderr)
    raise UserError(
        f"merged here, not pushed: git push to the hub failed: {why}; run `git nbcollab sync` again"
    )


def _listed(paths: tuple[str, ...]) -> str:
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


@dataclass(frozen=True)
class Synced:
    """What a sync did: `commit` is the merged commit now on `branch` (pushed), or None when
    cells collided (`conflicts`, one line each; `cells` when asked) and nothing was changed,
    or for a dry run. `head` is where the branch was before."""

    branch: str
    snap: snapshot.Snapshot
    notes: tuple[str, ...]
    others: tuple[treemerge.Side, ...]
    head: str
    commit: str | None
    conflicts: tuple[str, ...] = ()
    cells: tuple[CellConflict, ...] = ()


def run(
    top: Path,
    *,
    resolve: treemerge.Resolve = None,
    outputs: treemerge.Outputs = "newer",
    message: str = "",
    take_saved: bool = False,
    asked: treemerge.Asked | None = None,
    dry_run: bool = False,
) -> Synced:
    """Sync the working copy at `top` (see the module); with `dry_run`, merge but change
    nothing (to see what collides)."""
    branch = workcopy.branch(top)
    me = branch_owner(branch)
    if me is None:
        raise UserError(f"{branch} is not one of your u/<you>/ branches: switch to u/<you>/main")
    gitdir = Path(git(top, "rev-parse", "--absolute-git-dir").strip())
    workcopy.use_merge_driver(gitdir)  # copies made before the driver existed get it here
    author = link.author()  # before anything commits: one line if the identity is unset
    with workcopy.locked(gitdir), link.connect() as hub:
        repo.clear_quarantines(gitdir)  # left by a sync killed mid-way (we hold the lock)
        hub.git("fetch", "--quiet", "origin", cwd=str(top))
        head = git(top, "rev-parse", "HEAD").strip()
        with repo.staging(gitdir) as staged:
            snap, own, notes = _own(
                top,
                gitdir,
                staged,
                head,
                message=message or OWN_MESSAGE,
                take_saved=take_saved,
                resolve=resolve,
            )
            sides = [treemerge.Side(me, own), *_sides(top, me, branch)]
            merged = treemerge.merge(
                staged.repo,
                sides,
                author=author,
                resolve=resolve,
                outputs=outputs,
                quarantine=staged.quarantine,
                asked=asked,
            )
            done = Synced(branch, snap, (*notes, *merged.notes), tuple(sides[1:]), head, None)
            if merged.commit is None or dry_run:
                return replace(done, conflicts=merged.conflicts, cells=merged.cells)
            snapshot.check_landing(top, gitdir, staged, own, merged.commit)
            last = savedover.record(staged.repo, own, merged.commit, sides[1:])
            staged.keep()
        git(top, "update-ref", "-m", "git nbcollab sync", branch, merged.commit, head)
        git(top, "read-tree", "--reset", "-u", merged.commit)
        savedover.save(gitdir, last)
        workcopy.ignore_checkpoints(gitdir)  # working copies cloned before clone did it
        _push(hub, top, branch)
    return replace(done, commit=merged.commit)


def sync(
    *,
    resolve: treemerge.Resolve,
    outputs: treemerge.Outputs,
    message: str,
    take_saved: bool = False,
) -> int:
    done = run(
        workcopy.top(), resolve=resolve, outputs=outputs, message=message, take_saved=take_saved
    )
    if done.commit is None:
        raise UserError(treemerge.report(done.conflicts, stopped="sync stopped"))
    _report(done.branch, done.snap, list(done.notes), list(done.others))
    return 0


def _report(
    branch: str, snap: snapshot.Snapshot, notes: list[str], others: list[treemerge.Side]
) -> None:
    for line in notes:
        say(line)
    if snap.committed:
        say(f"committed {_listed(snap.committed)}")
    if snap.left_out:
        say(
            f"left out untracked files (not notebooks): {_listed(snap.left_out)};"
            " share one with `git add FILE && git nbcollab sync`"
        )
    merged_with = ", ".join(s.name for s in others) or "nobody else yet"
    short = branch.removeprefix("refs/heads/")
    say(f"synced {short}: your work, merged with {merged_with}, is pushed")
