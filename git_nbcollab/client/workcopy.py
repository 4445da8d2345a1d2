"""Working copies: a clone of a collaboration on the user's own branch, the hub as origin."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from git_nbcollab import fsutil, proc
from git_nbcollab.client.link import ID_KEY, Client, Config, git_config, read_config
from git_nbcollab.errors import UserError
from git_nbcollab.names import CHECKS_NOTES, CollabId, User, author_branch, collab_id


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
        notes = [f"--config={key}={value}" for key, value in CHECKS_NOTES_CONFIG]
        client.git(
            "clone", "--quiet", *notes, "--branch", branch, client.repo_url(collab["id"]),
            str(directory),
        )  # fmt: skip
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


# The checks of published versions, as git notes on their commits (`git log` shows them)
CHECKS_NOTES_CONFIG = (
    ("remote.origin.fetch", "+refs/notes/*:refs/notes/*"),  # a pattern: none yet is fine
    ("notes.displayRef", CHECKS_NOTES),
)


def fetch_checks_notes(gitdir: Path, config: Config | None = None) -> None:
    """Have `git fetch` bring the checks' notes (working copies cloned before they existed)."""
    if config is not None and config.get("notes.displayref") == CHECKS_NOTES:  # as --list has it
        return  # set last, so the fetch refspec is there too
    for key, value in CHECKS_NOTES_CONFIG:
        found = proc.run("git", f"--git-dir={gitdir}", "config", "--get-all", key, check=False)
        if value not in found.stdout.decode().split("\n"):
            proc.run("git", f"--git-dir={gitdir}", "config", "--add", key, value)


def use_merge_driver(gitdir: Path, config: Config | None = None) -> None:
    """Have plain git (pull, stash pop, rebase) merge notebooks cell by cell, as sync does."""
    from git_nbcollab.notebooks import treemerge

    for key, value in treemerge.driver_config().items():
        found = config.get(key) if config is not None else git_config(key, cwd=str(gitdir))
        if found != value:
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


def locked(gitdir: Path, *, wait: bool = True) -> contextlib.AbstractContextManager[bool]:
    """One sync (or JupyterLab's status fetch) at a time in a working copy, a lock on .git
    itself: a second sync waits for the first, then syncs. Without `wait`, yields False at once
    if it is held."""
    return fsutil.locked(gitdir, wait=wait)


class Here(NamedTuple):
    """The working copy a command runs in, as one `git rev-parse` and one config read see it."""

    top: Path  # its top folder, wherever in it the command runs
    gitdir: Path
    branch: str  # refs/heads/...
    config: Config


def here(directory: Path | None = None) -> Here:
    """The working copy `directory` (by default the current folder) is in; a folder outside
    one, and a detached HEAD, are refused."""
    cwd = str(directory) if directory is not None else None
    found = proc.run(
        "git", "rev-parse", "--show-toplevel", "--absolute-git-dir", "--symbolic-full-name",
        "HEAD", cwd=cwd, check=False,
    )  # fmt: skip
    config = read_config(cwd)
    lines = found.stdout.decode().splitlines()
    if found.returncode != 0 or ID_KEY not in config or len(lines) != 3:
        raise UserError("not in a working copy: cd into one (git nbcollab clone makes one)")
    top, gitdir, head = lines
    if not head.startswith("refs/heads/"):
        _detached(top)
    return Here(Path(top), Path(gitdir), head, config)


def _detached(directory: str) -> NoReturn:
    mains = proc.out(
        "git", "for-each-ref", "--format=%(refname:short)", "refs/heads/u/*/main", cwd=directory
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
