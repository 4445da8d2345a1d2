"""What the JupyterLab handlers do, as plain functions on explicit paths (no working folder,
since one server answers many requests): each calls the same code as the CLI and returns JSON.

Paths are absolute here; `handlers` turns the server-relative paths it gets into these.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from git_nbcollab import names, proc
from git_nbcollab.client import link, workcopy
from git_nbcollab.client.snapshot import git
from git_nbcollab.commands import publish as publishing
from git_nbcollab.commands import share as sharing
from git_nbcollab.commands import sync as syncing
from git_nbcollab.errors import UserError
from git_nbcollab.names import PROJECT_REF, branch_owner
from git_nbcollab.notebooks import treemerge
from git_nbcollab.notebooks.choices import CHOICES

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


def _folder(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _top(path: Path) -> Path:
    """The top of the working copy holding `path`; one line if there is none."""
    if not path.exists():
        raise UserError(f"{path.name}: no such file or folder")
    return workcopy.top(_folder(path))


def _fetch(hub: link.Client, top: Path) -> None:
    """The teammates' branches and the project metadata, as the hub has them now (skipped
    while a sync runs here: it is fetching them itself)."""
    gitdir = Path(git(top, "rev-parse", "--absolute-git-dir").strip())
    try:
        with workcopy.locked(gitdir):
            hub.git("fetch", "--quiet", "origin", *FETCH, cwd=str(top))
    except UserError as e:
        if "another `git nbcollab sync`" not in str(e):
            raise


def _unmerged(top: Path) -> list[dict[str, Any]]:
    """Teammates whose main branch has commits this working copy has not merged."""
    me = branch_owner(workcopy.branch(top))
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
    folder = _folder(path)
    cid = workcopy.current_collab(folder) if folder.is_dir() else None
    if cid is None:
        return {"collab": None}
    top = workcopy.top(folder)
    with link.connect() as hub:
        collab = hub.call("resolve", cid)["collab"]
        _fetch(hub, top)
        versions = hub.call("versions", "--spec", cid)["versions"]
    pending = workcopy.unsynced(top)
    return {
        "collab": collab,
        "top": str(top),
        "unmerged": _unmerged(top),
        "versions": versions,
        "project": _project(top),
        "unsynced": pending is not None,
        "unsynced_reason": pending or "",
    }


def _came_in(top: Path, old: str, new: str, path: str) -> list[int]:
    """Cells (counted from 1) of notebook `path` at `new` that `old` does not have as they are."""
    from git_nbcollab.notebooks import notebook

    def cells(commit: str) -> list[Any]:
        found = proc.run("git", "show", f"{commit}:{path}", cwd=str(top), check=False)
        if found.returncode != 0:
            return []
        nb = notebook.read(found.stdout, path)
        return [(c.cell_type, c.source) for c in nb.cells]

    had = Counter(cells(old))
    numbers = []
    for number, cell in enumerate(cells(new), start=1):
        if had[cell]:
            had[cell] -= 1
        else:
            numbers.append(number)
    return numbers


def _listed(numbers: list[int]) -> str:
    words = [str(n) for n in numbers]
    if len(words) == 1:
        return f"cell {words[0]}"
    return f"cells {', '.join(words[:-1])} and {words[-1]}"


def _summary(top: Path, done: syncing.Synced, changed: list[str]) -> str:
    """One line: whose work came in and where (`merged bob: cells 2 and 5`)."""
    if not changed:
        return "nothing new from your teammates; your work is pushed"
    authors = [s.name for s in done.others if not _contains(top, done.snap.commit, s.commit)]
    parts = []
    for path in changed:
        numbers = (
            _came_in(top, done.snap.commit, str(done.commit), path)
            if path.endswith(".ipynb")
            else []
        )
        where = _listed(numbers) if numbers else ""
        parts.append(where if len(changed) == 1 and where else f"{path} {where}".strip())
    return f"merged {', '.join(authors) or 'your other copy'}: {'; '.join(parts)}"


def _contains(top: Path, commit: str, other: str) -> bool:
    found = proc.run("git", "merge-base", "--is-ancestor", other, commit, cwd=str(top), check=False)
    return found.returncode == 0


def _result(top: Path, done: syncing.Synced) -> dict[str, Any]:
    if done.commit is None:
        return {
            "summary": f"sync stopped: {len(done.conflicts)} change(s) collide; nothing changed",
            "changed": [],
            "conflicts": list(done.conflicts),
            "notes": list(done.notes),
        }
    listing = git(top, "diff-tree", "-r", "-z", "--name-only", done.snap.commit, done.commit)
    changed = proc.zsplit(listing)
    return {
        "summary": _summary(top, done, changed),
        "changed": changed,
        "conflicts": [],
        "notes": list(done.notes),
        "committed": list(done.snap.committed),
    }


def sync(path: Path) -> dict[str, Any]:
    top = _top(path)
    return _result(top, syncing.run(top))


def conflicts(path: Path) -> dict[str, Any]:
    """The colliding cells a sync would stop at now, with both versions (changes nothing)."""
    top = _top(path)
    asked = treemerge.Asked(detail=True)
    done = syncing.run(top, asked=asked, dry_run=True)
    return {"conflicts": [c.to_json() for c in done.cells], "others": list(done.conflicts)}


def resolve(path: Path, chosen: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Settle each colliding cell as chosen and finish the sync (commit, merge, push)."""
    top = _top(path)
    picks: dict[tuple[str, int], str] = {}
    for item in chosen:
        file, index, choice = item.get("file"), item.get("index"), item.get("choice")
        if not isinstance(file, str) or not isinstance(index, int) or choice not in CHOICES:
            raise UserError(
                'each choice is {"file": PATH, "index": N, "choice": "mine"|"theirs"|"both"}'
            )
        picks[(file, index)] = choice
    shown = syncing.run(top, asked=treemerge.Asked(detail=True), dry_run=True)
    if not shown.cells:
        raise UserError("nothing collides now: sync again (a teammate's sync may have settled it)")
    author = shown.cells[0].theirs_author
    by_file: dict[tuple[str, str], dict[int, Any]] = {}
    for (file, index), choice in picks.items():
        by_file.setdefault((author, file), {})[index] = choice
    return _result(top, syncing.run(top, asked=treemerge.Asked(chosen=by_file)))


def publish(
    path: Path, notebook: str, bump: str | None, message: str, dry_run: bool, root: Path
) -> dict[str, Any]:
    top = _top(path)
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
