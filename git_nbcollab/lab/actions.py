"""What the JupyterLab handlers do, as plain functions on explicit paths (no working folder,
since one server answers many requests): each calls the same code as the CLI and returns JSON.

Paths are absolute here; `handlers` turns the server-relative paths it gets into these.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from git_nbcollab import names, proc
from git_nbcollab.client import link, workcopy
from git_nbcollab.client.snapshot import git
from git_nbcollab.commands import publish as publishing
from git_nbcollab.commands import share as sharing
from git_nbcollab.errors import UserError
from git_nbcollab.names import PROJECT_REF, branch_owner

# The teammates' branches and the hub's project metadata, fetched as remote-tracking refs.
FETCH = ("+refs/heads/*:refs/remotes/origin/*", "+refs/nbcollab/*:refs/remotes/origin/nbcollab/*")
PROJECT_COPY = PROJECT_REF.replace("refs/nbcollab/", "refs/remotes/origin/nbcollab/")


def collabs() -> dict[str, Any]:
    return {"collabs": link.configured().call("list")["collabs"]}


def team() -> dict[str, Any]:
    return {"members": link.configured().call("team")["members"]}


def share(notebook: Path, members: Sequence[str], name: str | None) -> dict[str, Any]:
    if not members:
        raise UserError("pick at least one teammate to share with")
    others = names.users(",".join(members))
    done = sharing.share_notebook(others=others, notebook=notebook, name=name or None)
    return {
        "id": done.collab["id"],
        "spec": done.collab["spec"],
        "command": done.command,
        "directory": str(done.directory),
        "notes": [done.repaired] if done.repaired else [],
    }


def folder_of(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def top_of(path: Path) -> Path:
    """The top of the working copy holding `path`; one line if there is none."""
    if not path.exists():
        raise UserError(f"{path.name}: no such file or folder")
    return workcopy.here(folder_of(path)).top


def working_top(path: Path) -> Path | None:
    """The top of the working copy holding `path`, or None outside one (asks no hub)."""
    folder = folder_of(path)
    if not folder.is_dir() or workcopy.current_collab(folder) is None:
        return None
    return workcopy.here(folder).top


def _fetch(hub: link.Client, top: Path) -> None:
    """The teammates' branches and the project metadata, as the hub has them now (skipped
    while a sync runs here: it is fetching them itself)."""
    gitdir = Path(git(top, "rev-parse", "--absolute-git-dir").strip())
    with workcopy.locked(gitdir, wait=False) as mine:  # a sync started now waits for this
        if mine:
            hub.git("fetch", "--quiet", "origin", *FETCH, cwd=str(top))


def _unmerged(top: Path) -> list[dict[str, Any]]:
    """Teammates whose main branch has commits this working copy has not merged."""
    me = branch_owner(workcopy.here(top).branch)
    refs = git(top, "for-each-ref", "--format=%(refname)", "refs/remotes/origin/u/").split()
    found = []
    for ref in refs:
        owner = branch_owner(ref.replace("refs/remotes/origin/", "refs/heads/"))
        if owner is None or owner == me or not ref.endswith("/main"):
            continue
        count = int(git(top, "rev-list", "--count", f"HEAD..{ref}").strip())
        if count:
            found.append({"author": owner, "commits": count})
    return found


def _project(top: Path) -> dict[str, Any]:
    shown = proc.run("git", "show", f"{PROJECT_COPY}:project.json", cwd=str(top), check=False)
    data: dict[str, Any] = json.loads(shown.stdout) if shown.returncode == 0 else {}
    return data


def status(path: Path) -> dict[str, Any]:
    """The working copy holding `path`: its collaboration, unmerged work, versions, project."""
    top = working_top(path)
    cid = None if top is None else workcopy.current_collab(top)
    if top is None or cid is None:
        return {"collab": None}
    with link.connect() as hub:
        collab = hub.call("resolve", cid)["collab"]
        _fetch(hub, top)
        versions = hub.call("versions", "--spec", cid)["versions"]
    pending = workcopy.unsynced(top)
    return {
        "collab": collab,
        "unmerged": _unmerged(top),
        "versions": versions,
        "project": _project(top),
        "unsynced": pending is not None,
        "unsynced_reason": pending or "",
    }


def publish(
    path: Path, notebook: str, bump: str | None, message: str, dry_run: bool, root: Path
) -> dict[str, Any]:
    top = top_of(path)
    answer = publishing.ask_hub(
        spec=None, name=notebook, bump=bump, message=message, dry_run=dry_run, at=top
    )
    if "shown" not in answer:  # only finished an interrupted publish
        return {"repaired": answer.get("repaired", [])}
    result = {
        "version": answer["version"],
        "shown": answer["shown"],
        "authors": answer["authors"],
        "files": [names.final_file(answer["name"]), "metadata.json"],
        "summary": answer["summary"],
        "repaired": answer.get("repaired", []),
    }
    if dry_run:
        return result
    return result | {"published": _shown_path(Path(answer["file"]), root), "tag": answer["tag"]}


def _shown_path(file: Path, root: Path) -> str:
    """The published copy as the JupyterLab rooted at `root` reaches it (through the `shared`
    link to the published tree), else its absolute path."""
    shared = root / "shared"
    if shared.is_symlink():
        try:
            inside = file.relative_to(shared.resolve())
        except ValueError:
            return str(file)
        return str(Path("shared") / inside)
    return str(file)
