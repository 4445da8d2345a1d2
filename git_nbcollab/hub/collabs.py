"""Collaborations as the hub keeps them: one bare repo each, with its members in collab.json.

Runs on the hub, as the service account (through the gate). Non-members and unknown ids get
the same answer, so ids leak nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from git_nbcollab.errors import UserError
from git_nbcollab.layout import Hub
from git_nbcollab.names import CollabId, MemberSpec, Spec, User

META = "collab.json"


class Collab(NamedTuple):
    id: CollabId
    name: str
    members: tuple[User, ...]
    created_by: User
    created: str

    @property
    def spec(self) -> MemberSpec:
        return MemberSpec(frozenset(self.members), self.name)

    def to_json(self) -> dict[str, object]:
        return {**self._asdict(), "members": list(self.members), "spec": str(self.spec)}


def load(path: Path | str) -> Collab | None:
    try:
        with open(f"{path}/{META}", "rb") as meta:  # not pathlib: `list` reads thousands
            data = json.loads(meta.read())
    except FileNotFoundError:
        return None
    return Collab(
        id=CollabId(data["id"]),
        name=data["name"],
        members=tuple(User(m) for m in data["members"]),
        created_by=User(data["created_by"]),
        created=data["created"],
    )


def described(collab: Collab, path: str) -> dict[str, object]:
    """What the operations answer about a collaboration: its record and its authors' branches."""
    from git_nbcollab.repo import branches  # not at the top: the gate imports this module

    return {**collab.to_json(), "branches": branches(path, "refs/heads/u/")}


def save(hub: Hub, collab: Collab, repo: Path | None = None) -> None:
    from git_nbcollab.fsutil import atomic_write

    data = {k: v for k, v in collab.to_json().items() if k != "spec"}
    atomic_write((repo or hub.repo(collab.id)) / META, json.dumps(data, indent=1).encode(), 0o600)


def all_collabs(hub: Hub) -> list[Collab]:
    found = []
    with os.scandir(hub.collabs) as entries:
        for entry in entries:
            if entry.name.endswith(".git") and (collab := load(entry.path)):
                found.append(collab)
    return found


def not_found(spec: Spec | str) -> UserError:
    return UserError(f"no such collaboration: {spec} (see yours with `git nbcollab list`)")


def resolve(hub: Hub, user: User, spec: Spec) -> Collab:
    """The collaboration `spec` names, if `user` is one of its members."""
    if isinstance(spec, MemberSpec):
        from git_nbcollab.hub import listing  # not at the top: it imports this module

        matches = listing.named(hub, spec) if user in spec.members else []
        if len(matches) > 1:
            ids = ", ".join(c.id for c in matches)
            raise UserError(f"{spec} names several collaborations ({ids}): use an id")
        if matches:
            return matches[0]
        raise not_found(spec)
    collab = load(hub.repo(spec))
    if collab is None or user not in collab.members:
        raise not_found(spec)
    return collab
