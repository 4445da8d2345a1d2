"""Where backups go: a local folder or S3, behind one small interface.

Keys are relative paths (`collabs/<id>/<chain>/<seq>.bundle`, `published/...`). A store never
overwrites: putting a key that exists is done if the content is the same, refused otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from git_nbcollab.backup.spool import sha256_file
from git_nbcollab.backup.store import Missing, Store, StoreError
from git_nbcollab.errors import UserError
from git_nbcollab.layout import Hub, Settings


def default_mirror(root: Path) -> Path:
    return root.parent / f"{root.name}-mirror"


def check_mirror(text: str, flag: str = "--mirror") -> str:
    """`s3://bucket/prefix` or an absolute folder; one-line refusal otherwise."""
    if text.startswith("s3://"):
        bucket = text.removeprefix("s3://").partition("/")[0]
        if not bucket or not all(c.isalnum() or c in ".-" for c in bucket):
            raise UserError(f"{text!r} is not s3://BUCKET/PREFIX")
        return text.rstrip("/")
    if "://" in text or not text.startswith("/"):
        raise UserError(f"{text!r}: give {flag} as s3://BUCKET/PREFIX or an absolute folder")
    return text.rstrip("/") or "/"


def mirror_of(hub: Hub, settings: Settings) -> str:
    return settings.mirror or str(default_mirror(hub.root))


def open_store(mirror: str, endpoint: str = "") -> Store:
    if mirror.startswith("s3://"):
        from git_nbcollab.backup.s3store import S3Store

        return S3Store(mirror, endpoint)
    return LocalStore(Path(mirror))


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, path: Path, sha256: str) -> None:
        dest = self.root / key
        if dest.exists():
            self._same(dest, sha256, key)
            return
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, dest)  # fails if the key appeared meanwhile: no overwrite
            except FileExistsError:
                self._same(dest, sha256, key)
            finally:
                os.unlink(tmp)
        except OSError as e:
            raise StoreError(f"cannot write {dest}: {e.strerror}") from None

    @staticmethod
    def _same(dest: Path, sha256: str, key: str) -> None:
        if sha256_file(dest) != sha256:
            raise StoreError(f"{key} is already in the mirror with other content; not overwritten")

    def get(self, key: str, dest: Path, size: int = 0) -> None:
        try:
            shutil.copyfile(self.root / key, dest)
        except FileNotFoundError:
            raise Missing(f"{key} is missing from the mirror {self.root}") from None
        except OSError as e:
            raise StoreError(f"cannot read {self.root / key}: {e.strerror}") from None

    def local(self, key: str) -> Path | None:
        path = self.root / key
        try:
            return path if stat.S_ISREG(path.lstat().st_mode) else None
        except OSError:
            return None

    def keys(self, prefix: str) -> dict[str, int]:
        found = {}
        top = self.root / prefix
        if not self.root.is_dir():
            raise StoreError(f"the mirror folder {self.root} does not exist")
        for dirpath, _, files in os.walk(top):
            for name in files:
                if not name.startswith("."):
                    path = Path(dirpath) / name
                    found[str(path.relative_to(self.root))] = path.stat().st_size
        return found


@contextlib.contextmanager
def scratch(parent: Path) -> Iterator[Path]:
    """A temp folder under `parent`, removed afterwards whatever happens."""
    path = Path(tempfile.mkdtemp(dir=parent, prefix=".scratch-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
