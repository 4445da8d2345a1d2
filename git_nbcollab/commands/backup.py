"""`git nbcollab backup status|run|verify`: the off-box mirror of every collaboration.

These run as the hub's service account, which owns the spool and the cloud credentials;
root is handed over to it (`runuser`), so files keep their owner and root's own credentials
are never used. Anyone else cannot read the hub and is told so.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from git_nbcollab import proc
from git_nbcollab.backup import RUNUSER, mirror, replay, uploader
from git_nbcollab.backup.spool import Manifest, Spool, read_refs, sha256_file
from git_nbcollab.backup.store import StoreError
from git_nbcollab.backup.uploader import published_files
from git_nbcollab.errors import UserError
from git_nbcollab.layout import Hub
from git_nbcollab.names import CollabId, published_key
from git_nbcollab.output import Update, print_json, progress, say


def _as_service(hub: Hub, argv: list[str]) -> int | None:
    """Run `git nbcollab backup ARGV` as the service account when called as root."""
    settings = hub.settings
    if os.geteuid() != 0:
        if not os.access(hub.spool, os.R_OK | os.X_OK):
            raise UserError(
                f"only root or {settings.service_user} can manage backups of {hub.root}"
            )
        return None
    env = [f"HOME={hub.root}", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
    command = [sys.executable, "-I", "-m", "git_nbcollab", "backup", *argv, "--root", str(hub.root)]
    return proc.call(RUNUSER, "-u", settings.service_user, "--", "env", "-i", *env, *command)


def _hub(root: Path) -> Hub:
    hub = Hub(root.absolute())
    hub.settings  # noqa: B018  (a one-line error when there is no hub)
    return hub


def status(*, root: Path, as_json: bool = False) -> int:
    hub = _hub(root)
    if (code := _as_service(hub, ["status", *(["--json"] if as_json else [])])) is not None:
        return code
    spool, settings = Spool(hub), hub.settings
    entries = spool.entries()
    size = sum(p.stat().st_size for p in spool.queue.iterdir()) if spool.queue.is_dir() else 0
    state = uploader.read_status(spool)
    found = {
        "mirror": mirror.mirror_of(hub, settings),
        "queued_bundles": len(entries),
        "queued_bytes": size,
        "requests": len(spool.requested()),
        "last_success_at": state.get("last_success_at"),
        "last_error": state.get("last_error"),
        "error_at": state.get("error_at") if state.get("last_error") else None,
    }
    if as_json:
        print_json(found)
        return 0
    say(f"mirror: {found['mirror']}")
    say(f"queued: {len(entries)} bundles ({size} bytes), {found['requests']} requests")
    say(f"last success: {found['last_success_at'] or 'never'}")
    error = found["last_error"]
    say(f"last error: {error} (at {found['error_at']})" if error else "last error: none")
    return 0


def run(*, root: Path) -> int:
    hub = _hub(root)
    if (code := _as_service(hub, ["run"])) is not None:
        return code
    os.umask(0o077)
    spool = Spool(hub)
    with uploader.draining(spool, wait=True), progress("sending bundles") as update:
        try:
            sent = uploader.drain_once(hub, update)  # at least once: new published files too
            while uploader.work_left(spool):
                sent += uploader.drain_once(hub, update)
        except StoreError as e:
            left = len(spool.entries())
            raise UserError(f"{e}; {left} bundles stay queued (see `backup status`)") from None
    say(f"mirror up to date: sent {sent} bytes")
    return 0


def verify(*, root: Path, collab: CollabId | None) -> int:
    """Replay every collaboration's newest chain from the mirror into scratch repos."""
    hub = _hub(root)
    if (
        code := _as_service(hub, ["verify", *(["--collab", collab] if collab else [])])
    ) is not None:
        return code
    settings = hub.settings
    store = mirror.open_store(mirror.mirror_of(hub, settings), settings.s3_endpoint)
    behind = 0
    with mirror.scratch(hub.spool) as scratch:
        with progress("replaying chains") as update:
            last = verify_store(store, scratch, collab, update)
        for cid, manifest in sorted(last.items()):
            live = hub.repo(cid)
            if live.is_dir() and read_refs(live) != manifest.refs:
                behind += 1
                say(f"{cid}: ok up to {manifest.name}, behind the hub (queued or uploading)")
            else:
                say(f"{cid}: ok, {manifest.name}")
        files, waiting = verify_published(hub, store, scratch) if collab is None else (0, 0)
    say(
        f"verified {len(last)} collaborations and {files} published files"
        + (f", {behind} collaborations behind" if behind else "")
        + (f", {waiting} published files not sent yet" if waiting else "")
    )
    return 0


def verify_published(hub: Hub, store: mirror.Store, scratch: Path) -> tuple[int, int]:
    """Download and re-hash every published file against the hub's copy; (checked, not sent)."""
    try:
        keys = store.keys(published_key(""))
    except StoreError as e:
        raise UserError(str(e)) from None
    checked = waiting = 0
    for path in published_files(hub):
        key = published_key(str(path.relative_to(hub.published)))
        if key not in keys:
            waiting += 1
            continue
        replay.fetch(store, key, scratch / "published", keys[key])
        if sha256_file(scratch / "published") != sha256_file(path):
            raise UserError(f"{key} in the mirror differs from the hub's file (sha256)")
        checked += 1
    return checked, waiting


def _scratch_repo(path: Path) -> None:
    proc.run("git", "init", "--quiet", "--bare", "--template=", str(path))


def verify_store(
    store: mirror.Store,
    scratch: Path,
    only: CollabId | None,
    update: Update = lambda done, total: None,
) -> dict[CollabId, Manifest]:
    """Check each collaboration's chain (all, or `only`); the newest manifest of each."""
    try:
        keys = store.keys("collabs/")
    except StoreError as e:
        raise UserError(str(e)) from None
    found = replay.collabs_in(keys)
    if only is not None:
        if only not in found:
            raise UserError(f"the mirror holds no backup of {only}")
        found = {only: found[only]}
    last: dict[CollabId, Manifest] = {}
    for cid, chains in found.items():
        update(len(last), len(found))
        dest = scratch / f"{cid}.git"
        manifests, _ = replay.newest_good(
            store, keys, cid, chains, (dest, scratch), _scratch_repo, fallback=False, prove=True
        )
        shutil.rmtree(dest)
        last[cid] = manifests[-1]
    update(len(last), len(found))
    return last
