"""The tool's own operations, run on the hub by the gate as the service account."""

from __future__ import annotations

import secrets
import shutil
from datetime import UTC, datetime

from git_nbcollab import backup, repo
from git_nbcollab.errors import UserError
from git_nbcollab.fsutil import locked
from git_nbcollab.hub import collabs, listing, repos
from git_nbcollab.hub.collabs import Collab
from git_nbcollab.layout import Hub
from git_nbcollab.names import CollabId, MemberSpec, Spec, User, author_branch


def _check_teammates(hub: Hub, user: User, others: frozenset[User]) -> None:
    if user in others:
        raise UserError(f"you are {user}: name the teammates to share with, not yourself")
    for other in sorted(others):
        if not hub.is_teammate(other):
            raise UserError(f"no teammate named {other} (see `git nbcollab user list` on the hub)")


def _check_unique(hub: Hub, spec: MemberSpec) -> None:
    if existing := listing.named(hub, spec):
        raise UserError(f"{spec} already exists (id {existing[0].id}): choose another --name")


def _new_id(hub: Hub) -> CollabId:
    while True:
        cid = CollabId(secrets.token_hex(4))
        if not hub.repo(cid).exists():
            return cid


def share(
    hub: Hub,
    user: User,
    *,
    others: frozenset[User],
    name: str,
    filename: str,
    data: bytes,
    author: tuple[str, str],
) -> Collab:
    """Create a collaboration holding one notebook, with a branch per member at one commit."""
    from git_nbcollab.notebooks import notebook

    _check_teammates(hub, user, others)
    data, _ = notebook.shareable(data, filename)  # the client says what it repaired
    members = (user, *sorted(others))
    with locked(hub.collabs_lock):
        _check_unique(hub, MemberSpec(frozenset(members), name))
        cid = _new_id(hub)
        collab = Collab(cid, name, members, user, datetime.now(UTC).isoformat(timespec="seconds"))
        tmp = hub.collabs / f".new-{cid}"
        with listing.changing(hub, cid, adds=True):
            try:
                repos.init_bare(tmp, hub.settings.python)
                commit = repo.commit_file(
                    tmp,
                    filename,
                    data,
                    author=author,
                    message=f"Share {filename} with {', '.join(others)}",
                )
                repo.update_refs(
                    tmp,
                    [repo.RefUpdate(author_branch(m), commit) for m in members],
                    f"share by {user}",
                )
                collabs.save(hub, collab, tmp)
                tmp.rename(hub.repo(cid))
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    backup.queue(hub, cid)  # refs written here fire no post-receive
    return collab


def add_members(hub: Hub, user: User, spec: Spec, others: frozenset[User]) -> Collab:
    """Open a collaboration to more teammates; each starts at `user`'s main branch."""
    _check_teammates(hub, user, others)
    with locked(hub.collabs_lock):
        collab = collabs.resolve(hub, user, spec)
        already = sorted(others & set(collab.members))
        if already:
            raise UserError(f"{', '.join(already)} already in {collab.spec}")
        members = (*collab.members, *sorted(others))
        _check_unique(hub, MemberSpec(frozenset(members), collab.name))
        path = hub.repo(collab.id)
        tip = repo.git(path, "rev-parse", "--verify", author_branch(user)).strip()
        updated = collab._replace(members=members)
        with listing.changing(hub, collab.id):  # the index follows the new members
            collabs.save(hub, updated)
            try:
                repo.update_refs(
                    path,
                    [repo.RefUpdate(author_branch(m), tip) for m in sorted(others)],
                    f"add {', '.join(sorted(others))} by {user}",
                )
            except BaseException:
                collabs.save(hub, collab)
                raise
    backup.queue(hub, collab.id)
    return updated
