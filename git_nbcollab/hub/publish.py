"""`git nbpublish` on the hub: merge the authors' work into master, tag it, write the copy.

All or nothing: the merge happens in staged objects; master and the tag move in one ref
transaction with expected old values (the commit point); the published copy then appears by
rename and, being a function of the tag, is rebuilt by the next publish if a crash got between.
Publishes run one at a time under the hub lock, so versions are distinct and consecutive.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from git_nbcollab import backup, repo
from git_nbcollab.errors import UserError
from git_nbcollab.fsutil import locked
from git_nbcollab.hub import checking, collabs, project, published
from git_nbcollab.hub.collabs import Collab
from git_nbcollab.layout import Hub
from git_nbcollab.names import (
    ZERO,
    Spec,
    User,
    author_branch,
    final_file,
    shown,
    version_tag,
)
from git_nbcollab.notebooks import treemerge

BUMPS = ("MAJOR", "MINOR", "HOTFIX")
MASTER = "refs/heads/master"


def next_version(existing: list[str], bump: str | None) -> str:
    """1.0.0 first; then MAJOR, MINOR (the default) or HOTFIX (the patch number)."""
    import semver

    if not existing:
        return "1.0.0"
    top = max(semver.Version.parse(v) for v in existing)
    bumped = {"MAJOR": top.bump_major, "MINOR": top.bump_minor, "HOTFIX": top.bump_patch}
    return str(bumped[bump or "MINOR"]())


def _checkpoint(stage: str) -> None:
    """Crash-safety tests stop a publish here: NBCOLLAB_TEST_STOP_AT=<stage>."""
    if os.environ.get("NBCOLLAB_TEST_STOP_AT") == stage:
        os._exit(137)


def _master_tree(
    staged: Any, merged: str, sides: list[treemerge.Side], old_master: str | None, name: str,
    spec: str,
) -> str:  # fmt: skip
    """The merged tree with `<name>.ipynb` as `<name>_FINAL.ipynb`, keeping other names'
    published files from the old master."""
    import pygit2

    tree = staged.revparse_single(merged).peel(pygit2.Tree)
    source = f"{name}.ipynb"
    if source not in tree:
        found = sorted(e.name for e in tree if e.name.endswith(".ipynb")) or ["none"]
        raise UserError(f"no {source} in {spec} (its notebooks: {', '.join(found)})")
    if tree[source].type_str != "blob":
        raise UserError(
            f"{source} in {spec} is a submodule or folder, not a notebook: commit the file"
        )
    _check_unmerged(staged, tree[source].id, sides, source)
    builder = staged.TreeBuilder(tree)
    builder.remove(source)
    builder.insert(final_file(name), tree[source].id, pygit2.enums.FileMode.BLOB)
    if old_master is not None:
        for entry in staged.revparse_single(old_master).peel(pygit2.Tree):
            if entry.name.endswith("_FINAL.ipynb") and builder.get(entry.name) is None:
                builder.insert(entry.name, entry.id, entry.filemode)
    return str(builder.write())


def _check_unmerged(staged: Any, blob: Any, sides: list[treemerge.Side], source: str) -> None:
    """Check the notebook to publish, unless this merge wrote it (the merge checked what it
    wrote): one author's file as pushed was checked by the hub's hook, unless a hub from
    before pushes were checked took it."""
    import pygit2

    from git_nbcollab.notebooks import check

    for side in sides:
        tree = staged.revparse_single(side.commit).peel(pygit2.Tree)
        if source in tree and tree[source].id == blob:
            if why := check.problem(treemerge.blob_data(staged, blob)):
                raise UserError(f"{source} as merged is not a valid notebook: {why}")
            return


def _tag_object(staged: Any, commit: str, tag: str, who: tuple[str, str], message: str) -> str:
    import pygit2

    raw = (
        f"object {commit}\ntype commit\ntag {tag.removeprefix('refs/tags/')}\n"
        f"tagger {who[0]} <{who[1]}> {int(time.time())} +0000\n\n{message}"
    )
    return str(staged.odb.write(pygit2.enums.ObjectType.TAG, raw.encode()))


def _summary(path: Path, sides: list[treemerge.Side], old_master: str | None) -> list[str]:
    lines = []
    for side in sides:
        since = [side.commit, f"^{old_master}"] if old_master else [side.commit]
        count = int(repo.git(path, "rev-list", "--count", *since))
        lines.append(f"{side.name}: {count} new commit{'s' if count != 1 else ''}")
    return lines


def _metadata(
    hub: Hub,
    collab: Collab,
    user: User,
    name: str,
    version: str,
    message: str,
    sides: list[treemerge.Side],
) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "shown": shown(name, version),
        "tag": version_tag(name, version),
        "collab": collab.id,
        "spec": str(collab.spec),
        "authors": [s.name for s in sides],
        "published_by": user,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "message": message,
        "project": project.read(hub.repo(collab.id)),
        "file": str(published.folder(hub, name) / f"v{version}" / final_file(name)),
    }


def _parents(staged: Any, old_master: str | None, sides: list[treemerge.Side]) -> list[str]:
    """Old master first, then every author's tip that master does not hold yet."""
    if old_master is None:
        return [s.commit for s in sides]
    return [old_master] + [
        s.commit
        for s in sides
        if s.commit != old_master and not staged.descendant_of(old_master, s.commit)
    ]


def _commit(
    staged: repo.Staging,
    plan: dict[str, Any],
    author: tuple[str, str],
) -> tuple[str, str]:
    """The publish commit and its annotated tag, as staged objects; returns (commit, tag)."""
    import pygit2

    who = pygit2.Signature(*author)
    message = f"Publish {plan['shown']}\n" + (f"\n{plan['message']}\n" if plan["message"] else "")
    parents = _parents(staged.repo, plan["old_master"], plan["sides"])
    commit = str(staged.repo.create_commit(None, who, who, message, plan["tree"], parents))
    meta = {k: v for k, v in _answer(plan).items() if k != "summary"} | {"commit": commit}
    tagger = (plan["published_by"], f"{plan['published_by']}@nbcollab")  # the key's owner
    tag = _tag_object(staged.repo, commit, plan["tag"], tagger, published.tag_message(meta))
    return commit, tag


def _check_sizes(hub: Hub, path: Path, sides: list[treemerge.Side]) -> None:
    """Refuse before the merge loads a file over the hub's limit (pushes are held to it, but
    the limit may have been lowered since): publishing's memory stays bounded by the limit.
    Object headers only: git reads no file's content to list those it leaves out."""
    limit = hub.settings.max_file_mb
    tips = [s.commit for s in sides]
    listing = repo.git(
        path, "rev-list", "--objects", "--no-object-names", "--filter-print-omitted",
        f"--filter=blob:limit={limit * 2**20 + 1}", *tips,
    )  # fmt: skip
    over = [line[1:] for line in listing.split() if line.startswith("~")]
    if over:
        raise UserError(
            f"the authors' branches hold {len(over)} file(s) over the hub's limit of {limit} MB"
            f" a file (blob {over[0][:10]}): remove them from the branches, or ask the admin to"
            " raise it (git nbcollab init --max-file-mb N)"
        )


def _plan(
    hub: Hub,
    staged: repo.Staging,
    collab: Collab,
    user: User,
    name: str,
    bump: str | None,
    message: str,
    author: tuple[str, str],
) -> dict[str, Any]:
    """What publishing would do: the merged master tree, the version, the metadata; or the
    conflicts; or, when master already holds exactly this, nothing (`{}`)."""
    path = hub.repo(collab.id)
    tips = ((m, repo.rev(path, author_branch(m))) for m in collab.members)
    sides = [treemerge.Side(m, tip) for m, tip in tips if tip]
    old_master = repo.rev(path, MASTER)
    _check_sizes(hub, path, sides)
    merged = treemerge.merge(staged.repo, sides, author=author, quarantine=staged.quarantine)
    if merged.commit is None:
        return {"conflicts": list(merged.conflicts)}
    tree = _master_tree(staged.repo, merged.commit, sides, old_master, name, str(collab.spec))
    if old_master and tree == str(staged.repo.revparse_single(f"{old_master}^{{tree}}").id):
        return {}
    version = next_version(published.tagged(path, name), bump)
    return {
        **_metadata(hub, collab, user, name, version, message, sides),
        "tree": tree,
        "sides": sides,
        "old_master": old_master,
        "summary": _summary(path, sides, old_master),
    }


def _nothing_new(path: Path, name: str) -> UserError:
    tagged = published.tagged(path, name)
    since = f" since {shown(name, tagged[-1])}" if tagged else ""
    return UserError(f"nothing new to publish{since}: the authors' work is already on master")


def _answer(plan: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {k: v for k, v in plan.items() if k not in ("tree", "sides", "old_master")} | extra


def publish(
    hub: Hub,
    user: User,
    spec: Spec,
    *,
    name: str,
    bump: str | None,
    message: str,
    dry_run: bool,
    author: tuple[str, str],
) -> dict[str, Any]:
    with locked(hub.collabs_lock):
        collab = collabs.resolve(hub, user, spec)
        path = hub.repo(collab.id)
        published.check_owner(hub, name, collab.id)
        repaired = [] if dry_run else published.repair(hub, path, name)
        with repo.staging(path) as staged:
            plan = _plan(hub, staged, collab, user, name, bump, message, author)
            if not plan:
                if repaired:
                    backup.queue(hub, collab.id)  # the copies it wrote go off the box too
                    return {"repaired": repaired}
                raise _nothing_new(path, name)
            if "conflicts" in plan or dry_run:
                return _answer(plan, dry_run=dry_run)
            commit, tag = _commit(staged, plan, author)
            _checkpoint("merged")
            staged.keep()
        _checkpoint("objects")
        updates = [
            repo.RefUpdate(MASTER, commit, plan["old_master"] or ZERO),
            repo.RefUpdate(plan["tag"], tag),
        ]
        repo.update_refs(path, updates, f"publish {plan['shown']} by {user}")
        _checkpoint("refs")
        published.write_copy(hub, path, name, plan["version"])
        backup.queue(hub, collab.id)  # refs written on the hub fire no post-receive
        if hub.settings.checks_on:  # the checks run detached: publishing does not wait
            checking.queue(hub, collab.id, name, plan["version"])
        _checkpoint("published")
    return _answer(plan, commit=commit, repaired=repaired)
