"""Working copies: a clone of a collaboration on the user's own branch, the hub as origin."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from git_nbcollab import proc
from git_nbcollab.client.link import ID_KEY, Client, git_config
from git_nbcollab.errors import UserError
from git_nbcollab.names import CollabId, User, author_branch, collab_id
from git_nbcollab.notebooks import treemerge


def check_free(directory: Path) -> None:
    if directory.exists() or directory.is_symlink():
        raise UserError(f"{directory} already exists: give another folder")


def create(client: Client, collab: dict[str, Any], you: User, directory: Path) -> None:
    """Clone `collab` into `directory`, on `you`'s main branch, set up for plain git push."""
    branch = author_branch(you).removeprefix("refs/heads/")
    client.git(
        "clone", "--quiet", "--branch", branch, client.repo_url(collab["id"]), str(directory)
    )
    settings = {
        "core.sshCommand": shlex.join(client.ssh_args(shared=False)),
        ID_KEY: collab["id"],
    }
    for key, value in settings.items():
        proc.run("git", "config", key, value, cwd=str(directory))
    use_merge_driver(directory / ".git")


def use_merge_driver(gitdir: Path) -> None:
    """Have plain git (pull, stash pop, rebase) merge notebooks cell by cell, as sync does."""
    for key, value in treemerge.driver_config().items():
        if git_config(key, cwd=str(gitdir)) != value:
            proc.run("git", f"--git-dir={gitdir}", "config", key, value)
    treemerge.leave_notebooks_to_us(gitdir)


def current_collab() -> CollabId | None:
    """The collaboration of the working copy we are in, if any."""
    found = git_config(ID_KEY)
    return collab_id(found) if found else None
