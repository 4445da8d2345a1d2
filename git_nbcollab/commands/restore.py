"""`git nbcollab restore --from MIRROR --root NEWROOT`: rebuild a hub's collaborations (and its
published tree) from a mirror, into a hub made by `git nbcollab init`.

Everything is rebuilt and checked in a folder inside NEWROOT first (every bundle's sha256,
`git fsck`, every ref against the last manifest) and synced to disk; only then is it moved into
place (and the moves synced), so a bad backup leaves the hub as it was and a power cut after
"restored" loses nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from git_nbcollab import audit
from git_nbcollab.backup import mirror, replay
from git_nbcollab.backup.spool import Manifest, Spool
from git_nbcollab.backup.store import StoreError
from git_nbcollab.box import accounts
from git_nbcollab.errors import UserError
from git_nbcollab.fsutil import atomic_write, sync_folders, sync_tree
from git_nbcollab.hub import repos
from git_nbcollab.layout import Hub, Settings
from git_nbcollab.names import ZERO, CollabId
from git_nbcollab.output import progress, say

WORKERS = 4  # collaborations rebuilt at once


def _rebuild(
    store: mirror.Store,
    keys: dict[str, int],
    cid: CollabId,
    chains: dict[int, set[int]],
    stage: Path,
    settings: Settings,
    target: str,
) -> tuple[Manifest, list[str]]:
    """Replay the newest chain that is whole; the manifest the hub's spool continues from, and
    what to say about chains passed over."""
    dest, scratch = stage / "collabs" / f"{cid}.git", stage / f".scratch-{cid}"
    scratch.mkdir()
    manifests, damaged = replay.newest_good(
        store,
        keys,
        cid,
        chains,
        (dest, scratch),
        lambda path: repos.init_bare(path, settings.python),
        fallback=True,
    )
    shutil.rmtree(scratch)
    meta = replay.meta_of(manifests)
    atomic_write(dest / "collab.json", json.dumps(meta, indent=1).encode(), 0o600)
    last = manifests[-1]._replace(meta=meta, mirror=target)
    notes = []
    if damaged:  # restored from an older chain: say so, and start the next bundle a new chain
        why = "; ".join(damaged)
        notes.append(
            f"{cid}: restored from the older chain {last.chain:06d} (up to {last.name}): {why}"
        )
        last = last._replace(chain=max(chains), mirror="")  # "" is no mirror: plan starts anew
    return last, notes


def _rebuild_all(
    store: mirror.Store,
    keys: dict[str, int],
    found: dict[CollabId, dict[int, set[int]]],
    stage: Path,
    settings: Settings,
    target: str,
) -> dict[CollabId, Manifest]:
    """Every collaboration, WORKERS at a time (most of the work is git and the network; the
    first failure, in id order, stops the rest)."""
    last: dict[CollabId, Manifest] = {}
    with progress("restoring collaborations") as update, ThreadPoolExecutor(WORKERS) as pool:
        jobs = {
            cid: pool.submit(_rebuild, store, keys, cid, chains, stage, settings, target)
            for cid, chains in sorted(found.items())
        }
        try:
            for cid, job in jobs.items():
                update(len(last), len(found))
                last[cid], notes = job.result()
                for note in notes:
                    say(note)
            update(len(last), len(found))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return last


def _published(store: mirror.Store, keys: dict[str, int], hub: Hub, stage: Path) -> list[str]:
    """Download the published tree into the stage; files the hub has already must match."""
    fresh = []
    for key in sorted(k for k in keys if k.startswith("published/")):
        rel = key.removeprefix("published/")
        if ".." in rel.split("/") or rel.startswith("/"):
            raise UserError(f"{key}: not a path inside the published tree; nothing restored")
        dest = stage / "published" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        replay.fetch(store, key, dest)
        there = hub.published / rel
        if there.exists():
            if there.read_bytes() != dest.read_bytes():
                raise UserError(f"{there} exists with other content; nothing restored")
            continue
        fresh.append(rel)
    return fresh


AUDIT_PIECE = re.compile(rf"{audit.FOLDER}/(\d{{8}}T\d{{12}}{audit.SUFFIX})/(\d{{12}})-(\d{{12}})")


def _audit_log(store: mirror.Store, keys: dict[str, int], hub: Hub, stage: Path) -> list[str]:
    """The audit log's files put back together from their pieces (the newest audit.KEEP, as
    many as the hub keeps); each piece must start where the one before it ended."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    for key in sorted(k for k in keys if k.startswith(f"{audit.FOLDER}/")):
        if not (match := AUDIT_PIECE.fullmatch(key)):
            raise UserError(f"{key}: not a piece of the audit log; nothing restored")
        found.setdefault(match[1], []).append((int(match[2]), int(match[3]), key))
    names = sorted(found)[-audit.KEEP :]
    if names:
        (stage / audit.FOLDER).mkdir(0o700)
    for name in names:
        if (hub.root / audit.FOLDER / name).exists():
            raise UserError(f"{hub.root / audit.FOLDER / name} exists; nothing restored")
        end = 0
        with open(stage / audit.FOLDER / name, "wb") as out:
            for start, stop, key in sorted(found[name]):
                if start != end:
                    raise UserError(
                        f"{key}: the audit log misses bytes {end}-{start}; nothing restored"
                    )
                replay.fetch(store, key, stage / "piece")
                out.write((stage / "piece").read_bytes())
                end = stop
        (stage / audit.FOLDER / name).chmod(0o600)
    return names


def _hand_over(stage: Path, hub: Hub, settings: Settings) -> None:
    svc, team = settings.service_user, settings.team_group
    for dirpath, dirs, files in os.walk(stage):
        top = Path(dirpath)
        in_published = top == stage / "published" or (stage / "published") in top.parents
        for name in [*dirs, *files]:
            path = top / name
            if in_published:
                shutil.chown(path, svc, team)
                path.chmod(0o2750 if path.is_dir() else 0o640)
            else:
                shutil.chown(path, svc, svc)


def restore(*, source: str, root: Path, collab: CollabId | None, s3_endpoint: str) -> int:
    accounts.require_root("git nbcollab restore")
    hub = Hub(root.absolute())
    settings = hub.settings
    target = mirror.check_mirror(source, "--from")
    store = mirror.open_store(target, s3_endpoint)
    try:
        keys = store.keys("")
    except StoreError as e:
        raise UserError(f"{e}; nothing restored") from None
    found = replay.collabs_in(keys)
    if collab is not None:
        if collab not in found:
            raise UserError(f"{source} holds no backup of {collab}; nothing restored")
        found = {collab: found[collab]}
    if not found:
        raise UserError(f"{source} holds no backups; nothing restored")
    for cid in found:
        if hub.repo(cid).exists():
            raise UserError(f"{hub.repo(cid)} exists; restore into a fresh hub; nothing restored")
    stage = Path(tempfile.mkdtemp(dir=hub.root, prefix=".restore-"))
    try:
        (stage / "collabs").mkdir()
        last = _rebuild_all(store, keys, found, stage, settings, target)
        fresh = _published(store, keys, hub, stage) if collab is None else []
        logs = _audit_log(store, keys, hub, stage) if collab is None else []
        _hand_over(stage, hub, settings)
        sync_tree(stage)  # all of it on disk before any of it is in the hub
        _move_in(hub, stage, last, fresh, settings)
        _move_logs(hub, stage, logs)
        sync_folders(_moved_into(hub, fresh, logs))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    for cid, manifest in sorted(last.items()):
        refs = [(ref, ZERO, new) for ref, new in sorted(manifest.refs.items())]
        audit.write(str(hub.root), "root", "restore", cid, refs)
    say(
        f"restored {len(last)} collaborations"
        + (f", {len(fresh)} published files" if fresh else "")
        + (f", {len(logs)} files of the audit log" if logs else "")
        + f" into {hub.root}"
    )
    return 0


def _move_in(
    hub: Hub,
    stage: Path,
    last: dict[CollabId, Manifest],
    fresh: list[str],
    settings: Settings,
) -> None:
    """Everything checked: move it into the hub, and let the spool continue the same chains."""
    spool = Spool(hub)
    spool.ensure()
    for path in (spool.pending, spool.queue, spool.state):
        shutil.chown(path, settings.service_user, settings.service_user)
    for cid, manifest in last.items():
        spool.remember(manifest)
        shutil.chown(spool.state / f"{cid}.json", settings.service_user, settings.service_user)
        os.rename(stage / "collabs" / f"{cid}.git", hub.repo(cid))
    for rel in fresh:
        dest = hub.published / rel
        for parent in reversed(dest.relative_to(hub.published).parents[:-1]):
            folder = hub.published / parent
            if not folder.exists():
                folder.mkdir()
                shutil.chown(folder, settings.service_user, settings.team_group)
                folder.chmod(0o2750)
        os.rename(stage / "published" / rel, dest)


def _moved_into(hub: Hub, fresh: list[str], logs: list[str]) -> set[Path]:
    """The hub's folders that _move_in and _move_logs added names to."""
    folders = {hub.root, hub.collabs, Spool(hub).state}
    for rel in fresh:
        folders.update((hub.published / rel).parents[: len(Path(rel).parents)])
    if logs:
        folders.add(hub.root / audit.FOLDER)
    return folders


def _move_logs(hub: Hub, stage: Path, names: list[str]) -> None:
    folder = hub.root / audit.FOLDER
    if names and not folder.exists():
        os.rename(stage / audit.FOLDER, folder)
        return
    for name in names:
        os.rename(stage / audit.FOLDER / name, folder / name)
