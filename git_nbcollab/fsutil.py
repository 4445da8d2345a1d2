"""Small file-system primitives: atomic writes, locks, undo for multi-step changes, syncs."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

SYNCERS = 16  # fsyncs at once (sync_tree)


def atomic_write(
    path: Path, data: bytes, mode: int = 0o644, owner: tuple[str, str] | None = None
) -> None:
    """Write `data` to a temp file beside `path`, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if owner:
            shutil.chown(tmp, *owner)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on `path` (a file, created if missing, or a folder: itself, no
    file made) for the block; without `wait`, yields False at once when someone else holds it."""
    if path.is_dir():
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    else:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class Undo:
    """Steps to take back if a multi-step change fails part-way (see `undoable`)."""

    def __init__(self) -> None:
        self._steps: list[Callable[[], object]] = []

    def push(self, step: Callable[[], object]) -> None:
        self._steps.append(step)


@contextlib.contextmanager
def undoable() -> Iterator[Undo]:
    """Run the block; if it raises, undo what it recorded, newest first, and re-raise."""
    undo = Undo()
    try:
        yield undo
    except BaseException:
        for step in reversed(undo._steps):
            with contextlib.suppress(Exception):
                step()
        raise


def sync_tree(root: Path) -> None:
    """Make every file and folder under `root` (and `root`) durable, links not followed: one
    call for a tree written without syncs, before it is moved where it counts. The syncs run
    side by side: the disk flushes its cache once for many of them, not once each."""
    from concurrent.futures import ThreadPoolExecutor  # restore's alone: every command imports us

    paths = []
    for dirpath, _, files in os.walk(root):
        paths += [os.path.join(dirpath, name) for name in files]
        paths.append(dirpath)
    with ThreadPoolExecutor(SYNCERS) as pool:
        for _ in pool.map(_sync, (p for p in paths if not os.path.islink(p))):
            pass


def sync_folders(folders: Iterable[Path]) -> None:
    """Make the names in `folders` durable (after renames into them)."""
    for folder in sorted(set(folders)):
        _sync(str(folder))


def _sync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
