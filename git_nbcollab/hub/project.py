"""A collaboration's project metadata (title, task link, tags), kept in the repo itself.

It lives on its own ref as a commit holding `project.json`, so it travels with the repo (and
its backups); only the hub writes it. Every published version carries a copy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from git_nbcollab import repo
from git_nbcollab.errors import UserError
from git_nbcollab.names import PROJECT_REF, ZERO

FIELDS = ("title", "task", "tags", "check_command")  # check_command: see hub/checking.py
FILE = "project.json"


def read(path: Path) -> dict[str, Any]:
    if repo.rev(path, PROJECT_REF) is None:
        return {}
    data: dict[str, Any] = json.loads(repo.git(path, "show", f"{PROJECT_REF}:{FILE}"))
    return data


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    task = changes.get("task")
    if task is not None and not task.startswith(("https://", "http://")):
        raise UserError(f"--task {task!r} is not a link: give the tracker's URL, https://...")
    for key, value in changes.items():
        if any(c in str(value) for c in "\n\r\0"):
            raise UserError(f"--{key} must be one line")
    return changes


def write(path: Path, changes: dict[str, Any], who: tuple[str, str]) -> dict[str, Any]:
    """Set the given fields (others are kept); returns the whole metadata."""
    import pygit2

    updated = read(path) | _checked({k: v for k, v in changes.items() if v is not None})
    old = repo.rev(path, PROJECT_REF)
    with repo.staging(path) as staged:
        data = (json.dumps(updated, indent=1, sort_keys=True) + "\n").encode()
        builder = staged.repo.TreeBuilder()
        builder.insert(FILE, staged.repo.create_blob(data), pygit2.enums.FileMode.BLOB)
        sig = pygit2.Signature(*who)
        commit = staged.repo.create_commit(
            None, sig, sig, "Project metadata", builder.write(), [old] if old else []
        )
        staged.keep()
    repo.update_refs(path, [repo.RefUpdate(PROJECT_REF, str(commit), old or ZERO)], "project")
    return updated
