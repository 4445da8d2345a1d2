"""What every mirror store (a local folder, S3) offers, and the errors it raises."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class StoreError(Exception):
    """The store failed or refused; the message is one line for `backup status`."""


class Missing(StoreError):
    pass


class Store(Protocol):
    def put(self, key: str, path: Path, sha256: str) -> None:
        """Upload `path` as `key` unless `key` exists with this sha256; never overwrite."""

    def get(self, key: str, dest: Path, size: int = 0) -> None:
        """Download `key` into `dest`; Missing if there is no such key. `size` (from `keys`,
        0 when unknown) lets a store choose parallel ranged reads for large objects."""

    def local(self, key: str) -> Path | None:
        """The key's own file, to read in place, when the store is a local folder (a regular
        file, not a link); None otherwise (then `get` it)."""

    def keys(self, prefix: str) -> dict[str, int]:
        """Every key under `prefix`, with its size."""
