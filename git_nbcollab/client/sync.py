"""Sync a working copy: commit your work, merge the others' cell by cell, push your branch.

Nothing is written unless the merge succeeds: your changes are committed through a
temporary index into staged objects, merged there, and only then do the branch, the index
and the files move to the result. What is committed: `client.snapshot`; notebooks saved from a
tab opened before the last sync: `client.savedover`. Returns what it did (`Synced`); the
command (`commands.sync`) and the JupyterLab extension say it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from git_nbcollab import proc, repo
from git_nbcollab.client import link, snapshot, workcopy
from git_nbcollab.client.snapshot import git
from git_nbcollab.errors import UserError
from git_nbcollab.names import branch_owner

if TYPE_CHECKING:  # imported where used, while the fetch runs: a sync waits on the network
    from git_nbcollab.client import savedover
    from git_nbcollab.notebooks import treemerge
    from git_nbcollab.notebooks.choices import CellConflict

OWN_MESSAGE = "Work in progress (git nbcollab sync)"
REMOTE = "refs/remotes/origin/u/"  # the hub's author branches, as the last fetch saw them
# How git says the branch moved on the hub: refused by the client, or found moved by the hub.
MOVED = (
    b"[rejected]",
    b"non-fast-forward",
    b"fetch first",
    b"but expected",
)


def _sides(staged: repo.Staging, me: str, branch: str) -> list[treemerge.Side]:
    """Your own branch as the hub has it (pushed from another machine, maybe), then each
    teammate's main branch."""
    from git_nbcollab.notebooks import treemerge

    mine, others = [], []
    for name in sorted(n for n in staged.repo.references if n.startswith(REMOTE)):
        commit = str(staged.repo.references[name].resolve().target)
        head_ref = "refs/heads/" + name.removeprefix("refs/remotes/origin/")
        owner = branch_owner(head_ref)
        if head_ref == branch:
            mine.append(
                treemerge.Side(f"your {branch.removeprefix('refs/heads/')} on the hub", commit)
            )
        elif owner and owner != me and name.endswith("/main"):
            others.append(treemerge.Side(owner, commit))
    return mine + others


def _own(
    here: workcopy.Here,
    staged: repo.Staging,
    head: str,
    *,
    author: tuple[str, str],
    message: str,
    take_saved: bool,
    resolve: treemerge.Resolve,
) -> tuple[snapshot.Snapshot, str, tuple[str, ...]]:
    """Your work as a commit, with notebooks saved from a stale tab merged (see savedover)."""
    from git_nbcollab.client import savedover

    snap = snapshot.take(here.top, here.gitdir, staged, head, message, author)
    last = savedover.load(here.gitdir)
    if take_saved or last is None or not _is_ancestor(staged, last.merged, head):
        return snap, snap.commit, ()
    fixed = savedover.repair(
        staged.repo,
        last,
        snap.commit,
        head=head,
        message=message,
        author=author,
        resolve=resolve,
    )
    if fixed.conflicts:
        raise savedover.stale_save_refused(fixed.conflicts)
    return snap, fixed.commit, fixed.notes


def _is_ancestor(staged: repo.Staging, old: str, new: str) -> bool:
    """`old` is `new` or one of its ancestors (False when `old` is no commit here)."""
    import pygit2

    try:
        return old == new or staged.repo.descendant_of(new, old)
    except (pygit2.GitError, KeyError, ValueError):
        return False


@contextlib.contextmanager
def _pushing(hub: link.Client, top: Path, commit: str, branch: str) -> Iterator[Callable[[], None]]:
    """Push `commit` to the branch in the background; what it yields waits, and says why if
    it failed."""
    short = branch.removeprefix("refs/heads/")
    push = ("git", "push", "--porcelain", "origin", f"{commit}:{branch}")
    with proc.started(*push, cwd=str(top), env=hub.git_env()) as finished:

        def done() -> None:
            pushed = finished()
            if pushed.returncode == 0:
                return
            if any(sign in pushed.stdout + pushed.stderr for sign in MOVED):
                raise UserError(
                    f"merged here, not pushed: the hub refused a non-fast-forward push of {short}"
                    " (it moved since this sync fetched, e.g. a sync from another machine);"
                    " run `git nbcollab sync` again to merge that in"
                )
            why = proc.reason(pushed.stderr)
            raise UserError(
                f"merged here, not pushed: git push to the hub failed: {why};"
                " run `git nbcollab sync` again"
            )

        yield done


class Synced(NamedTuple):
    """What a sync did. `commit` is the merge, now on the branch and pushed; None when cells
    collided (`conflicts`, one line each; `cells` with both versions when asked) or for a dry
    run, and then nothing changed."""

    branch: str  # u/<you>/main
    committed: tuple[str, ...]  # your changed files, committed
    left_out: tuple[str, ...]  # untracked files that are not notebooks, not committed
    others: tuple[treemerge.Side, ...]  # the branches merged in: yours on the hub, teammates'
    notes: tuple[str, ...]  # one line each: stale saves repaired, what a side's merge lost
    before: str  # your work as committed, before the merge
    commit: str | None = None
    conflicts: tuple[str, ...] = ()
    cells: tuple[CellConflict, ...] = ()

    @property
    def merged_with(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.others)


def _land(
    hub: link.Client, here: workcopy.Here, merged: str, head: str, last: savedover.LastSync
) -> None:
    """Push the merge, and move the branch, the index and the files to it."""
    from git_nbcollab.client import savedover

    top, branch = here.top, here.branch
    with _pushing(hub, top, merged, branch) as pushed:  # the branch and files move meanwhile
        git(top, "update-ref", "-m", "git nbcollab sync", branch, merged, head)
        git(top, "read-tree", "--reset", "-u", merged)
        auto = ("git", "maintenance", "run", "--auto", "--quiet")  # the fetch left it to us
        proc.run(*auto, cwd=str(top), check=False)  # a failed one fails no sync
        savedover.save(here.gitdir, last)
        workcopy.ignore_checkpoints(here.gitdir)  # working copies cloned before clone did it
        repo.clear_quarantines(here.gitdir)  # the kept objects' emptied folders, meanwhile too
        pushed()


def sync(
    directory: Path | None = None,
    *,
    resolve: treemerge.Resolve = None,
    outputs: treemerge.Outputs = "newer",
    message: str = "",
    take_saved: bool = False,
    asked: treemerge.Asked | None = None,
    dry_run: bool = False,
) -> Synced:
    """Sync the working copy `directory` is in (the current folder by default). With
    `dry_run`, merge but change nothing (to see what collides); `asked`: see treemerge."""
    here = workcopy.here(directory)
    me = branch_owner(here.branch)
    if me is None:
        raise UserError(
            f"{here.branch} is not one of your u/<you>/ branches: switch to u/<you>/main"
        )
    workcopy.fetch_checks_notes(here.gitdir, here.config)  # copies made before the notes were
    author = link.author(here.config)  # before anything commits: one line if the identity is unset
    top, gitdir, branch = here.top, here.gitdir, here.branch
    with workcopy.locked(gitdir), link.connect(link.configured(here.config)) as hub:
        repo.clear_quarantines(gitdir)  # left by a sync killed mid-way (we hold the lock)
        fetching = hub.git_started(  # git's auto maintenance waits for the push (see _land)
            "fetch", "--quiet", "--no-auto-maintenance", "origin", cwd=str(top)
        )
        with fetching as fetched, repo.staging(gitdir) as staged:
            from git_nbcollab.client import savedover
            from git_nbcollab.notebooks import treemerge

            workcopy.use_merge_driver(gitdir, here.config)  # and before the driver was
            head = str(staged.repo.revparse_single(branch).id)
            snap, own, notes = _own(  # while the fetch runs: it touches no object of ours
                here,
                staged,
                head,
                author=author,
                message=message or OWN_MESSAGE,
                take_saved=take_saved,
                resolve=resolve,
            )
            fetched()
            sides = [treemerge.Side(me, own), *_sides(staged, me, branch)]
            merged = treemerge.merge(
                staged.repo,
                sides,
                author=author,
                resolve=resolve,
                outputs=outputs,
                quarantine=staged.quarantine,
                asked=asked,
            )
            done = Synced(
                branch.removeprefix("refs/heads/"),
                snap.committed,
                snap.left_out,
                tuple(sides[1:]),
                (*notes, *merged.notes),
                snap.commit,
            )
            if merged.commit is None or dry_run:
                return done._replace(conflicts=merged.conflicts, cells=merged.cells)
            snapshot.check_landing(top, staged, own, merged.commit)
            last = savedover.record(staged.repo, own, merged.commit, sides[1:])
            staged.keep()
            on_hub = staged.repo.references.get(REMOTE + branch.removeprefix("refs/heads/u/"))
            if merged.commit != head or on_hub is None or str(on_hub.target) != head:
                _land(hub, here, merged.commit, head, last)  # else nothing changed here or there
    return done._replace(commit=merged.commit)
