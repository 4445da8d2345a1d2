"""`git nbshare`: share a notebook with teammates, or open a collaboration to more of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_nbcollab import names
from git_nbcollab.client import link, workcopy
from git_nbcollab.errors import UserError
from git_nbcollab.names import User
from git_nbcollab.output import say


@dataclass(frozen=True)
class Shared:
    collab: dict[str, Any]  # as the hub describes it: id, spec, name, members, branches
    you: User
    filename: str
    directory: Path  # your working copy
    repaired: str  # what was done to make the notebook shareable, or ""

    @property
    def command(self) -> str:
        """What the teammates run to start."""
        return f"git nbcollab clone {self.collab['spec']}"


def _read_notebook(path: Path) -> tuple[bytes, str]:
    from git_nbcollab.notebooks import notebook

    if path.is_dir():
        raise UserError(f"{path} is a folder: give the notebook file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such notebook") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    return notebook.shareable(data, str(path))


def share(*, users: str, notebook: Path | None, name: str | None) -> int:
    others = names.users(users)
    if notebook is None:
        return _add_members(others)
    done = share_notebook(others=others, notebook=notebook, name=name)
    if done.repaired:
        say(done.repaired)
    collab, you = done.collab, done.you
    say(f"shared {done.filename} as {collab['spec']} (id {collab['id']})")
    say(f"your working copy: {done.directory} (branch u/{you}/main)")
    others_list = ", ".join(m for m in collab["members"] if m != you)
    say(f"{others_list} can start with: {done.command}")
    return 0


def share_notebook(*, others: frozenset[User], notebook: Path, name: str | None) -> Shared:
    """Share `notebook` with `others`; the working copy goes next to it."""
    filename = names.notebook_file(notebook.name)
    name = names.notebook_name(name or notebook.name.removesuffix(".ipynb"))
    directory = notebook.parent / name
    workcopy.check_free(directory)
    data, repaired = _read_notebook(notebook)
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
    return Shared(collab, you, filename, directory, repaired)


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
