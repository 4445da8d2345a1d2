"""The listing index: what `git nbcollab list` shows of every collaboration, in one file.

Derived data, never the truth (the repos are). `ROOT/listing/index` holds a line per
collaboration (id, members, sort key, and its entry as JSON) under a header that names the
state of `ROOT/collabs` it was made from (inode, mtime, ctime, link count), how many lines
follow and their CRC. Whoever is about to change a collaboration leaves a mark first
(hub/marks.py): the pre-receive hook, for each push it lets in, with the pid of the git that
moves the refs (one empty file: a push pays nothing more); share and add-members with their
own, and then they put the new entry in. `list` reads the index; if there are marks, it reads
those repos again and, when the hub lock is free, writes the index anew (temp + rename) and
drops the marks of processes that have ended (their changes are all on disk). An index that is
missing, unreadable, damaged or made from another state of `collabs/` (a restore, a crash in
the middle of a share) is rebuilt by reading every repo, as `list` did before there was an
index.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple

from git_nbcollab.hub import collabs
from git_nbcollab.hub.marks import FOLDER as CHANGED
from git_nbcollab.hub.marks import mark
from git_nbcollab.layout import Hub
from git_nbcollab.names import CollabId, MemberSpec, User

FOLDER = os.path.dirname(CHANGED)  # listing/
MAGIC = "nbcollab-listing 1"

Stamp = tuple[int, int, int, int]  # collabs/: inode, mtime and ctime in ns, link count


class Index(NamedTuple):
    stamp: Stamp
    body: bytes  # the lines, sorted as `list` shows them, each ending in "\n"


class Entries(list[bytes]):
    """The caller's entries as JSON texts, put into the answer as they are (not parsed again)."""


def entries(hub: Hub, caller: User) -> Entries:
    """The entries of `caller`'s collaborations, in the order `list` shows them."""
    # `,caller,` followed by a tab is in the members field (JSON has no tabs; names no commas)
    member = re.escape(f",{caller},".encode()) + rb"[^\t\n]*\t([^\n]*)"
    return Entries(re.findall(member, _current(hub).body))


def named(hub: Hub, spec: MemberSpec, *, write: bool = True) -> list[collabs.Collab]:
    """The collaborations `spec` names, in the order `list` shows them: the lines with its
    name and exactly its members, each read again from its repo. Without `write`, an index
    that is out of date is brought up to date here only (root's `log` writes nothing of the
    service account's)."""
    body, name = _current(hub, write=write).body, _field(spec.name).encode()
    found = []
    for hit in re.finditer(re.escape(b"\t" + name + b"\t"), body):  # a literal: a fast search
        start = body.rfind(b"\n", 0, hit.start()) + 1
        cid, field, _created, members, _ = body[start : body.find(b"\n", start)].split(b"\t", 4)
        if field != name or set(members.decode().strip(",").split(",")) != spec.members:
            continue  # the name at another field, or other members
        collab = collabs.load(hub.repo(CollabId(cid.decode())))
        if collab is not None and collab.spec == spec:
            found.append(collab)
    return found


def _current(hub: Hub, *, write: bool = True) -> Index:
    """The index as it is, or brought up to date (and written back if `write` and the hub lock
    is free)."""
    index = _read(hub)
    if index is None or index.stamp != stamp(hub) or _marks(hub):
        if not write:
            return _refreshed(hub, write=False)
        from git_nbcollab.fsutil import locked

        with locked(hub.collabs_lock, wait=False) as free:
            index = _refreshed(hub, write=free)
    return index


@contextmanager
def changing(hub: Hub, cid: str, *, adds: bool = False) -> Iterator[None]:
    """Around a change to collaboration `cid`, under the hub lock: mark it, and once the block
    is done put its new entry in the index. `adds`: the block adds `cid` to `collabs/`."""
    before, own = stamp(hub), _changed(hub) / f"{cid}.{os.getpid()}"
    mark(str(hub.root), cid, os.getpid())
    try:
        yield
    except BaseException:
        index = _read(hub)  # a change that failed leaves no mark if the index is still right
        if index is None or index.stamp != stamp(hub) or _right(index, hub, cid):
            own.unlink()
        raise
    index, after = _read(hub), stamp(hub)
    grew = after[0] == before[0] and after[3] == before[3] + 1
    if index is None or index.stamp != before or not (grew if adds else after == before):
        own.unlink()  # an index made before, or a change beside ours: `list` rebuilds it
        return
    lines = _lines(index.body)
    _put(lines, _line(hub, cid))
    with suppress(OSError):  # the change is made; a full disk leaves the mark to `list`
        _write(hub, Index(after, _body(lines)))
        own.unlink()


def _right(index: Index, hub: Hub, cid: str) -> bool:
    """Does the index say of `cid` what its repo says?"""
    return _lines(index.body).get(cid.encode()) == _line(hub, cid)


def stamp(hub: Hub) -> Stamp:
    st = os.stat(hub.collabs)
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_nlink)


def _changed(hub: Hub) -> Path:
    return hub.root / CHANGED


def _marks(hub: Hub) -> list[str]:
    try:
        return os.listdir(_changed(hub))
    except FileNotFoundError:
        return []


def _ended(name: str) -> bool:
    """Has the process that left this mark ended (so that all it changed is on disk)?"""
    try:
        os.kill(int(name.rpartition(".")[2]), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):  # not a pid; another account's process
        return False
    return False


def _refreshed(hub: Hub, *, write: bool) -> Index:
    """The index brought up to date with the marks (or rebuilt); written if `write`."""
    now = stamp(hub)  # before anything is read: a change after it shows as a new stamp
    marks = _marks(hub)
    ended = [name for name in marks if _ended(name)]  # before their repos are read
    index = _read(hub)
    if index is None or index.stamp != now:
        lines: dict[bytes, bytes] = {}
        for collab in collabs.all_collabs(hub):
            _put(lines, _line(hub, collab.id, collab))
    else:
        lines = _lines(index.body)
        for cid in {name.partition(".")[0] for name in marks}:
            lines.pop(cid.encode(), None)
            _put(lines, _line(hub, cid))
    index = Index(now, _body(lines))
    if write:
        with suppress(OSError):  # `list` answers all the same (a full disk, say)
            _write(hub, index)
            for name in ended:
                os.unlink(_changed(hub) / name)
    return index


def _line(hub: Hub, cid: str, collab: collabs.Collab | None = None) -> bytes | None:
    """A collaboration's line in the index, read from its repo (None: there is none)."""
    path = str(hub.repo(CollabId(cid)))
    collab = collab or collabs.load(path)
    if collab is None:
        return None
    key = (_field(text) for text in (collab.name, collab.created))
    entry = json.dumps(collabs.described(collab, path))  # ASCII, tabs escaped
    return "\t".join((collab.id, *key, f",{','.join(collab.members)},", entry)).encode()


def _field(text: str) -> str:
    """`text` as a field of an index line (no tab, newline or comma)."""
    return re.sub("[\t\n,]", " ", text)


def _put(lines: dict[bytes, bytes], line: bytes | None) -> None:
    if line is not None:
        lines[line.partition(b"\t")[0]] = line


def _lines(body: bytes) -> dict[bytes, bytes]:
    return {line.partition(b"\t")[0]: line for line in body.splitlines()}


def _body(lines: dict[bytes, bytes]) -> bytes:
    ordered = sorted(lines.values(), key=lambda line: line.split(b"\t", 3)[1:3])  # name, created
    return b"".join(line + b"\n" for line in ordered)


def _read(hub: Hub) -> Index | None:
    """The index as written, or None if it is missing, unreadable or damaged."""
    try:
        with open(hub.root / FOLDER / "index", "rb") as f:
            head, body = f.readline(), f.read()
        magic, numbers = head[: len(MAGIC)], [int(n) for n in head[len(MAGIC) :].split()]
    except (OSError, ValueError):  # ValueError: not a number
        return None
    if magic != MAGIC.encode() or len(numbers) != 6:
        return None
    *found, count, crc = numbers
    if count != body.count(b"\n") or crc != zlib.crc32(body):
        return None
    return Index((found[0], found[1], found[2], found[3]), body)


def _write(hub: Hub, index: Index) -> None:
    from git_nbcollab.fsutil import atomic_write

    numbers = (*index.stamp, index.body.count(b"\n"), zlib.crc32(index.body))
    head = f"{MAGIC} {' '.join(str(n) for n in numbers)}\n".encode()
    folder = hub.root / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    atomic_write(folder / "index", head + index.body, 0o600)
