"""Working copies: a clone of a collaboration on the user's own branch, the hub as origin."""

from __future__ import annotations

import os
import shlex
import shutil
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
    treemerge.leave_notebooks_to_us(directory / ".git")


def current_collab() -> CollabId | None:
    """The collaboration of the working copy we are in, if any."""
    found = git_config(ID_KEY)
    return collab_id(found) if found else None
