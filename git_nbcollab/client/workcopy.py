"""Working copies: a clone of a collaboration on the user's own branch, the hub as origin."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from git_nbcollab import proc
from git_nbcollab.client.link import ID_KEY, Client, git_config
from git_nbcollab.errors import UserError
from git_nbcollab.names import CollabId, User, author_branch, collab_id
from git_nbcollab.notebooks import treemerge


def check_free(directory: Path) -> None:
    """`directory` does not exist yet and the user may make it (os.path answers False where
    pathlib raises, e.g. under a folder the user cannot enter)."""
    if os.path.lexists(directory):
        raise UserError(f"{directory} already exists: give another folder")
    parent = directory.absolute().parent
    while not os.path.exists(parent) and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(
            f"cannot make {directory}: you may not write in {parent}; give a folder of yours"
        )


def create(client: Client, collab: dict[str, Any], you: User, directory: Path) -> None:
    """Clone `collab` into `directory`, on `you`'s main branch, set up for plain git push."""
    branch = author_branch(you).removeprefix("refs/heads/")
    directory.mkdir(mode=0o700, parents=True)  # private from the start, whatever the umask
    directory.chmod(0o700)
    try:
        client.git(
            "clone", "--quiet", "--branch", branch, client.repo_url(collab["id"]), str(directory)
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    settings = {
        "core.sshCommand": shlex.join(client.ssh_args(shared=False)),
        ID_KEY: collab["id"],
    }
    for key, value in settings.items():
        proc.run("git", "config", key, value, cwd=str(directory))
    use_merge_driver(directory / ".git")
    ignore_checkpoints(directory / ".git")


def use_merge_driver(gitdir: Path) -> None:
    """Have plain git (pull, stash pop, rebase) merge notebooks cell by cell, as sync does."""
    for key, value in treemerge.driver_config().items():
        if git_config(key, cwd=str(gitdir)) != value:
            proc.run("git", f"--git-dir={gitdir}", "config", key, value)
    treemerge.leave_notebooks_to_us(gitdir)


def current_collab(at: Path | None = None) -> CollabId | None:
    """The collaboration of the working copy we are in (or `at` is in), if any."""
    found = git_config(ID_KEY, cwd=None if at is None else str(at))
    return collab_id(found) if found else None


# JupyterLab writes a `.ipynb_checkpoints/` folder next to every notebook it saves, at any
# depth: nobody's work. A pattern without a leading slash matches at every depth.
IGNORED = ".ipynb_checkpoints/\n"


def ignore_checkpoints(gitdir: Path) -> None:
    """Keep Jupyter's checkpoint folders out of this working copy's commits (`info/exclude`,
    so old working copies get it too and nothing is pushed)."""
    exclude = gitdir / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    text = exclude.read_text() if exclude.exists() else ""
    if IGNORED.strip() not in text.splitlines():
        exclude.write_text(text + ("" if text.endswith("\n") or not text else "\n") + IGNORED)


@contextlib.contextmanager
def locked(gitdir: Path) -> Iterator[None]:
    """One sync at a time in a working copy; a second is refused at once."""
    fd = os.open(gitdir, os.O_RDONLY | os.O_DIRECTORY)  # a lock on .git itself: no file made
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UserError(
            "another `git nbcollab sync` is running in this working copy:"
            " wait for it to finish, then sync again"
        ) from None
    try:
        yield
    finally:
        os.close(fd)


def top(at: Path | None = None) -> Path:
    """The top folder of the working copy we are in (or the folder `at` is in), wherever in
    it we are."""
    cwd = None if at is None else str(at)
    if current_collab(at) is None:
        raise UserError("not in a working copy: cd into one (git nbcollab clone makes one)")
    return Path(proc.out("git", "rev-parse", "--show-toplevel", cwd=cwd).strip())


def branch(directory: Path) -> str:
    """The branch checked out in a working copy (refs/heads/...); a detached HEAD is refused."""
    found = proc.run("git", "symbolic-ref", "-q", "HEAD", cwd=str(directory), check=False)
    if found.returncode == 0:
        return found.stdout.decode().strip()
    mains = proc.out(
        "git",
        "for-each-ref",
        "--format=%(refname:short)",
        "refs/heads/u/*/main",
        cwd=str(directory),
    ).split()
    switch = mains[0] if len(mains) == 1 else "u/<you>/main"
    raise UserError(
        f"HEAD is detached (no branch is checked out): `git switch {switch}`, then sync"
    )


def unsynced(directory: Path) -> str | None:
    """What a working copy holds that the hub does not (as of the last fetch): local changes
    (to tracked files, or new notebooks) or commits; None if nothing."""
    status = proc.out(
        "git", "status", "--porcelain", "-z", "--untracked-files=all", cwd=str(directory)
    )
    entries = proc.zsplit(status)
    changed = [e[3:] for e in entries if not e.startswith("??") or e.endswith(".ipynb")]
    if changed:
        return f"local changes ({', '.join(changed[:3])}{', ...' if len(changed) > 3 else ''})"
    ahead = proc.out(
        "git", "rev-list", "--count", "HEAD", "--not", "--remotes=origin", cwd=str(directory)
    )
    if int(ahead.strip() or 0):
        return f"{ahead.strip()} commit(s) the hub does not have"
    return None
