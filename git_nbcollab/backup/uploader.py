"""The uploader: turns backup requests into bundles and sends the queue to the mirror, in order.

Started detached by `backup.queue` (`python -I -m git_nbcollab.backup.uploader ROOT`) or run in the
foreground by `git nbcollab backup run`. One drains at a time (a lock); the lock is not held
while it waits to retry, so `backup run` can always step in.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from git_nbcollab import audit
from git_nbcollab.backup import mirror, packing
from git_nbcollab.backup.spool import Manifest, Spool, sha256_file
from git_nbcollab.backup.store import StoreError
from git_nbcollab.fsutil import atomic_write, locked
from git_nbcollab.layout import Hub
from git_nbcollab.names import published_key
from git_nbcollab.output import Update

BACKOFF = (1, 2, 4, 8, 15, 30, 60, 60, 60, 60)  # seconds between tries; then wait for a push


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_status(spool: Spool) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(spool.status_file.read_bytes())
        return data
    except (FileNotFoundError, ValueError):
        return {}


def _save_status(spool: Spool, **changes: Any) -> None:
    status = {**read_status(spool), **changes}
    atomic_write(spool.status_file, json.dumps(status, indent=1).encode(), 0o600)


@contextlib.contextmanager
def draining(spool: Spool, wait: bool) -> Iterator[bool]:
    """Hold the uploader lock for the block; yields False (lock busy) when not waiting."""
    spool.ensure()
    with locked(spool.lock, wait=wait) as held:
        yield held


def send_entry(store: mirror.Store, manifest_path: Path) -> int:
    """Upload one queue entry, bundle first and manifest last; returns bytes sent."""
    manifest = Manifest.from_bytes(manifest_path.read_bytes())
    sent = 0
    if manifest.bundle_sha256:
        bundle = manifest_path.with_suffix(".bundle")
        store.put(f"{manifest.name}.bundle", bundle, manifest.bundle_sha256)
        sent += manifest.bundle_size
    if manifest.table_sha256:
        table = manifest_path.with_suffix(".table")
        store.put(f"{manifest.name}.table", table, manifest.table_sha256)
        sent += table.stat().st_size
    store.put(f"{manifest.name}.json", manifest_path, sha256_file(manifest_path))
    sent += manifest_path.stat().st_size
    for suffix in (".bundle", ".table"):
        manifest_path.with_suffix(suffix).unlink(missing_ok=True)
    manifest_path.unlink()
    return sent


def send_published(hub: Hub, store: mirror.Store) -> int:
    """Mirror every published file the store lacks (published files never change)."""
    if not hub.published.is_dir():
        return 0
    have = store.keys(published_key(""))
    sent = 0
    for path in published_files(hub):
        key = published_key(str(path.relative_to(hub.published)))
        if key not in have:
            store.put(key, path, sha256_file(path))
            sent += path.stat().st_size
    return sent


def send_audit(hub: Hub, store: mirror.Store) -> int:
    """Mirror the audit log's new lines, as pieces that are never rewritten (see audit.pieces)."""
    sent = 0
    for key, data in audit.pieces(str(hub.root), set(store.keys(f"{audit.FOLDER}/"))):
        piece = hub.spool / ".audit-piece"
        atomic_write(piece, data, 0o600)
        store.put(key, piece, sha256_file(piece))
        piece.unlink()
        sent += len(data)
    return sent


def published_files(hub: Hub) -> Iterator[Path]:
    """Every file of the published tree (not the hidden ones a publish is still writing)."""
    for dirpath, _, files in os.walk(hub.published):
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(dirpath) / name


def drain_once(hub: Hub, update: Update = lambda done, total: None) -> int:
    """Bundle every request, send the queue and the published tree; returns bytes sent.

    Raises StoreError (recorded in the status) when the store fails part-way; what was
    sent stays sent, and the rest waits in the queue in order."""
    settings = hub.settings
    target = mirror.mirror_of(hub, settings)
    spool = Spool(hub)
    changed = spool.bundle_requested(settings.full_every, target)
    try:
        store = mirror.open_store(target, settings.s3_endpoint)
        entries, sent = spool.entries(), 0
        for done, entry in enumerate(entries):
            update(done, len(entries))
            sent += send_entry(store, entry)
        update(len(entries), len(entries))
        sent += send_published(hub, store) + send_audit(hub, store)
    except StoreError as e:
        _save_status(spool, last_error=str(e), error_at=now())
        raise
    finally:
        for cid in changed:
            if hub.repo(cid).is_dir():
                packing.pack(hub.repo(cid))  # bundled first: packing never delays a backup
    _save_status(spool, last_error=None, last_success_at=now())
    return sent


def work_left(spool: Spool) -> bool:
    return bool(spool.requested() or spool.entries())


def run_detached(hub: Hub) -> int:
    """Drain until nothing is left; on store errors retry with back-off, then give up quietly
    (the next push or `backup run` starts again). Exits at once if another uploader works."""
    spool, tries = Spool(hub), 0
    while True:
        with draining(spool, wait=False) as mine:
            if not mine:
                return 0  # the one holding the lock looks again after it lets go
            try:
                while work_left(spool):
                    drain_once(hub)
                failed = False
            except StoreError:
                failed = True
        if not failed and not work_left(spool):
            return 0
        if failed:
            if tries == len(BACKOFF):
                return 1
            time.sleep(BACKOFF[tries])
            tries += 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m git_nbcollab.backup.uploader ROOT", file=sys.stderr)
        return 2
    os.umask(0o077)
    hub = Hub(Path(args[0]))
    try:
        return run_detached(hub)
    except Exception as e:  # nobody sees our stderr: leave it for `backup status`
        _save_status(Spool(hub), last_error=f"uploader failed: {type(e).__name__}: {e}")
        return 3


if __name__ == "__main__":
    sys.exit(main())
