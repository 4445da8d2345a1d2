"""The throwaway copy a check runs on: the regular files under a folder, never through a link,
read with the rights of the folder's owner.

Root never reads a teammate's file with root's rights: a hard link in Alice's folder to a
root-only file would otherwise land in the copy the runner reads. As root, a child process
running as the folder's owner (their uid, gid and groups) reads the files and streams them
here, and root writes them into its own private folder; every name in the stream is checked,
so a child that was tampered with can at most send bytes its owner could read anyway.
"""

from __future__ import annotations

import os
import pwd
import stat
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from git_nbcollab import proc
from git_nbcollab.errors import UserError

SKIPPED = {".git", ".ipynb_checkpoints"}
CHUNK = 1024 * 1024
_HEADER = struct.Struct(">cI")  # kind (b"d" folder, b"f" file, b"." end), name length
_SIZE = struct.Struct(">I")  # one chunk of a file's bytes; 0 ends the file
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK

Read = Callable[[int], bytes]
Entry = tuple[str, Read | None]  # a name under the folder, and how to read it (None: a folder)


def copy(source: Path, target: Path) -> None:
    """Copy the regular files under `source` into the existing folder `target`; `.git` and
    checkpoints are left out, links and what the reader may not open are skipped."""
    owner = _reader(source)
    if os.geteuid() != 0 or owner == 0:
        _write(_entries(source), target)
        return
    try:
        entry = pwd.getpwuid(owner)
        gid, groups = entry.pw_gid, os.getgrouplist(entry.pw_name, entry.pw_gid)
    except KeyError:  # files of an account that is gone: its uid alone
        gid, groups = owner, []
    child = subprocess.Popen(
        [sys.executable, "-I", "-m", __name__, str(source)],
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        user=owner,
        group=gid,
        extra_groups=groups,
    )
    assert child.stdout is not None and child.stderr is not None
    with child:
        try:
            _write(_received(child.stdout), target)
        except UserError as e:
            child.kill()
            why = proc.reason(child.stderr.read())
            raise UserError(f"cannot copy {source} as its owner: {why}") if why else e from None
        code = child.wait()
    if code != 0:
        raise UserError(f"cannot copy {source} as its owner: the reader exited {code}")


def resolved(path: Path) -> Path:
    """`path` with its links resolved; as root, refused where one of them is a user's (it could
    point anywhere root may read, and the copy would be read as root)."""
    at = Path("/")
    for part in path.absolute().parts[1:]:
        at = at / part
        try:
            info = os.lstat(at)
        except OSError:
            return path.resolve()  # what is missing is said when it is read
        if stat.S_ISLNK(info.st_mode):
            if os.geteuid() == 0 and info.st_uid != 0:
                raise UserError(
                    f"{at} is a link of {_name(info.st_uid)}'s: as root, name the folder it"
                    " points to"
                )
            at = at.resolve()
    return at


def _reader(source: Path) -> int:
    """Whose rights read `source`: the owner of the last folder on its path that a user owns
    (that user could swap anything below it, even after this looks); root only where root
    owns every folder down to it."""
    owner, at = 0, Path("/")
    for part in source.absolute().parts[1:]:
        at = at / part
        uid = os.lstat(at).st_uid
        owner = uid if uid != 0 else owner
    return owner


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _entries(source: Path) -> Iterator[Entry]:
    """Every folder and readable regular file under `source`, each opened relative to its
    parent's descriptor (a link swapped in while this walks is never followed)."""
    for folder, dirs, files, dir_fd in os.fwalk(source, follow_symlinks=False):
        dirs[:] = [d for d in dirs if d not in SKIPPED]
        here = PurePosixPath(Path(folder).relative_to(source))
        yield str(here), None
        for name in files:
            try:
                fd = os.open(name, _FLAGS, dir_fd=dir_fd)
            except OSError:
                continue  # a link, or unreadable
            with os.fdopen(fd, "rb") as src:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    yield str(here / name), src.read


def _write(entries: Iterator[Entry], target: Path) -> None:
    for name, read in entries:
        there = target / _checked(name)
        try:
            if read is None:
                there.mkdir(mode=0o700, exist_ok=True)
                continue
            with open(there, "xb") as dst:
                while chunk := read(CHUNK):
                    dst.write(chunk)
        except OSError as e:  # only from a stream that was tampered with, or a full disk
            raise UserError(f"cannot copy {name!r}: {e.strerror}") from None


def _checked(name: str) -> PurePosixPath:
    """A name from the stream, only if it stays inside the copy."""
    path = PurePosixPath(name)
    if path.is_absolute() or "\0" in name or any(p in ("..", "") for p in name.split("/")):
        raise UserError(f"refused a copied file named {name!r}: not inside the folder")
    return path


def _send(source: Path, out: IO[bytes]) -> None:
    """The child's side: the entries of `source` as a stream."""
    for name, read in _entries(source):
        encoded = os.fsencode(name)
        out.write(_HEADER.pack(b"d" if read is None else b"f", len(encoded)) + encoded)
        if read is not None:
            while chunk := read(CHUNK):
                out.write(_SIZE.pack(len(chunk)) + chunk)
            out.write(_SIZE.pack(0))
    out.write(_HEADER.pack(b".", 0))


def _received(stream: IO[bytes]) -> Iterator[Entry]:
    """Root's side: the entries as the child sent them; a stream cut short is refused."""
    while True:
        kind, length = _HEADER.unpack(_exactly(stream, _HEADER.size))
        if kind == b".":
            return
        name = os.fsdecode(_exactly(stream, length))
        yield name, (_File(stream).read if kind == b"f" else None)


def _exactly(stream: IO[bytes], n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise UserError("the copy of the folder was cut short: run the check again")
    return data


class _File:
    """One file's chunks in the stream, read as a file (up to the end of its chunks)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.done = False

    def read(self, _size: int = -1) -> bytes:
        if self.done:
            return b""
        (size,) = _SIZE.unpack(_exactly(self.stream, _SIZE.size))
        self.done = size == 0
        return _exactly(self.stream, size)


if __name__ == "__main__":  # the child, as the folder's owner
    _send(Path(sys.argv[1]), sys.stdout.buffer)
