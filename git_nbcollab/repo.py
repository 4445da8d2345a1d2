"""Git repositories: pygit2 for objects, the git CLI for refs (the hub's, and working copies')."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from git_nbcollab import audit, proc
from git_nbcollab.names import ZERO


class RefUpdate(NamedTuple):
    ref: str
    new: str
    old: str = ZERO  # ZERO: the ref must not exist yet


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    return proc.out("git", "--git-dir", str(repo), *args, input=input)


def rev(repo: Path, ref: str) -> str | None:
    """The object `ref` points at, or None if there is no such ref."""
    return git(repo, "for-each-ref", "--format=%(objectname)", ref).strip() or None


def git_bytes(repo: Path, *args: str) -> bytes:
    return proc.run("git", "--git-dir", str(repo), *args).stdout


def commit_file(
    path: Path, filename: str, data: bytes, *, author: tuple[str, str], message: str
) -> str:
    """A root commit holding one file; returns its id. No ref moves."""
    import pygit2

    repo = pygit2.Repository(str(path))
    blob = repo.create_blob(data)
    builder = repo.TreeBuilder()
    builder.insert(filename, blob, pygit2.enums.FileMode.BLOB)
    who = pygit2.Signature(*author)
    return str(repo.create_commit(None, who, who, message, builder.write(), []))


class Staging:
    """A pygit2 view of a repo whose new objects wait in a quarantine folder until `keep`."""

    def __init__(self, path: Path, quarantine: Path) -> None:
        import pygit2

        self.path, self.quarantine = path, quarantine
        objects = str(path / "objects")
        odb = pygit2.Odb()
        odb.add_backend(pygit2.OdbBackendLoose(str(quarantine), 1, False), 3)
        # the repo's own objects as an alternate: read, never written (libgit2 tries the next
        # writable backend when one fails, so a full disk would leave folders in objects/)
        odb.add_disk_alternate(objects)
        self.repo = pygit2.Repository(str(path))
        self.repo.set_odb(odb)

    def keep(self) -> None:
        """Move the new objects into the repo, so refs may point at them."""
        for folder in self.quarantine.iterdir():
            target = self.path / "objects" / folder.name
            target.mkdir(exist_ok=True)
            for obj in folder.iterdir():
                os.replace(obj, target / obj.name)


QUARANTINE = "incoming-"


def clear_quarantines(path: Path) -> None:
    """Remove what staged work killed mid-way left (call with the repo's writers locked out)."""
    for stale in (path / "objects").glob(f"{QUARANTINE}*"):
        shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def staging(path: Path) -> Iterator[Staging]:
    """Work on `path` with pygit2 without leaving objects behind unless `keep` is called: a
    refused merge or publish leaves the repo exactly as it was."""
    quarantine = Path(tempfile.mkdtemp(prefix=QUARANTINE, dir=path / "objects"))
    try:
        yield Staging(path, quarantine)
    finally:
        shutil.rmtree(quarantine, ignore_errors=True)


def update_refs(path: Path, updates: Sequence[RefUpdate], reason: str) -> None:
    """Move refs all-or-nothing, each only from the old value given (compare-and-swap)."""
    lines = ["start"]
    lines += [f"update {u.ref} {u.new} {u.old}" for u in updates]
    lines += ["prepare", "commit"]
    git(
        path,
        "update-ref",
        "--create-reflog",
        "-m",
        reason,
        "--stdin",
        input=("\n".join(lines) + "\n").encode(),
    )
    audit.moved.extend((u.ref, u.old, u.new) for u in updates)


def branches(path: Path | str, prefix: str = "refs/heads/") -> list[str]:
    """Branch names read straight from the ref store (no subprocess: `list` reads thousands)."""
    names: set[str] = set()
    try:
        with open(f"{path}/packed-refs") as packed:
            for line in packed:
                parts = line.split()
                if len(parts) == 2 and parts[1].startswith(prefix):
                    names.add(parts[1])
    except FileNotFoundError:
        pass
    folders = [(f"{path}/{prefix}", prefix)]
    while folders:
        folder, ref = folders.pop()
        try:
            entries = os.scandir(folder)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, f"{ref}{entry.name}/"))
                elif not entry.name.endswith(".lock"):
                    names.add(ref + entry.name)
    return sorted(n.removeprefix("refs/heads/") for n in names)
