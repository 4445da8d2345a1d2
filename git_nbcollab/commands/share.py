"""`git nbshare`: share a notebook with teammates, or open a collaboration to more of them."""

from __future__ import annotations

from pathlib import Path

from git_nbcollab import names
from git_nbcollab.client import link, workcopy
from git_nbcollab.errors import UserError
from git_nbcollab.names import User
from git_nbcollab.output import say


def _read_notebook(path: Path) -> bytes:
    from git_nbcollab.notebooks import notebook

    if path.is_dir():
        raise UserError(f"{path} is a folder: give the notebook file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such notebook") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    data, repaired = notebook.shareable(data, str(path))
    if repaired:
        say(repaired)
    return data


def share(*, users: str, notebook: Path | None, name: str | None) -> int:
    others = names.users(users)
    if notebook is None:
        return _add_members(others)
    filename = names.notebook_file(notebook.name)
    name = names.notebook_name(name or notebook.name.removesuffix(".ipynb"))
    directory = notebook.parent / name
    workcopy.check_free(directory)
    data = _read_notebook(notebook)
    with link.connect() as hub:
        answer = hub.call(
            "share",
            "--with",
            ",".join(sorted(others)),
            "--name",
            name,
            "--file",
            filename,
            "--author",
            *link.author(),
            input=data,
        )
        collab, you = answer["collab"], User(answer["you"])
        try:
            workcopy.create(hub, collab, you, directory)
        except UserError as e:  # the collaboration exists: say how to get the copy later
            raise UserError(
                f"shared as {collab['spec']} (id {collab['id']}), but no working copy"
                f" was made ({e}): run `git nbcollab clone {collab['id']}`"
            ) from None
    say(f"shared {filename} as {collab['spec']} (id {collab['id']})")
    say(f"your working copy: {directory} (branch u/{you}/main)")
    others_list = ", ".join(m for m in collab["members"] if m != you)
    say(f"{others_list} can start with: git nbcollab clone {collab['spec']}")
    return 0


def _add_members(others: frozenset[names.User]) -> int:
    cid = workcopy.current_collab()
    if cid is None:
        raise UserError(
            "name the notebook to share (git nbshare bob nb.ipynb), or run this"
            " inside a working copy to add teammates to its collaboration"
        )
    with link.connect() as hub:
        collab = hub.call("add-members", cid, ",".join(sorted(others)))["collab"]
    say(
        f"{', '.join(sorted(others))} joined {collab['spec']} (id {collab['id']});"
        f" they start with: git nbcollab clone {collab['id']}"
    )
    return 0
