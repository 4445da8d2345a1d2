"""Object tables of bundles, so that restore never hashes an object again.

`git index-pack` must inflate and hash every object to name it: for a chain holding 50
versions of a 20 MB notebook that is a gigabyte of SHA-1, whatever the few kilobytes of
deltas sent. The uploader knows every object of a bundle when it makes it, so beside each
bundle it stores the bundle's table: one record per object of the bundle's pack (its id, its
offset in that pack, the CRC-32 of its bytes). Restore lays the chain's packs end to end
(packstream) and writes the `.idx` of that pack from the tables: time follows the bytes.

A table is found by `git index-pack --fix-thin` on the bundle, against the hub repo that made
it (a thin bundle's bases are there); the bases it appends are not the bundle's and are
dropped. `backup verify` still indexes every chain with git and compares it with the tables.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from git_nbcollab import proc

IDX_MAGIC = b"\377tOc" + struct.pack(">I", 2)
RECORD = struct.Struct(">20sQI")  # object id, offset in its pack, CRC-32 of its bytes
LARGE = 0x80000000


class Obj(NamedTuple):
    oid: bytes
    offset: int
    crc: int


class BadTable(ValueError):
    pass


def encode(objs: Iterable[Obj]) -> bytes:
    return b"".join(RECORD.pack(*o) for o in sorted(objs, key=lambda o: o.offset))


def decode(data: bytes, pack_size: int) -> list[Obj]:
    """The records of a table; BadTable unless each lies inside a pack of `pack_size` bytes."""
    if len(data) % RECORD.size:
        raise BadTable("the object table is cut short")
    objs = [Obj(*fields) for fields in RECORD.iter_unpack(data)]
    offsets = [o.offset for o in objs]
    if offsets != sorted(set(offsets)) or (
        offsets and not 12 <= offsets[0] <= offsets[-1] < pack_size - 20
    ):
        raise BadTable("the object table does not fit its pack")
    return objs


def read_idx(path: Path) -> list[Obj]:
    """Every object of a version 2 `.idx` file."""
    data = path.read_bytes()
    if data[:8] != IDX_MAGIC:
        raise BadTable(f"{path.name} is not a version 2 pack index")
    count = struct.unpack(">I", data[8 + 255 * 4 : 8 + 256 * 4])[0]
    at = 8 + 256 * 4
    oids = [data[at + 20 * i : at + 20 * (i + 1)] for i in range(count)]
    at += 20 * count
    crcs = struct.unpack(f">{count}I", data[at : at + 4 * count])
    at += 4 * count
    small = struct.unpack(f">{count}I", data[at : at + 4 * count])
    at += 4 * count
    offsets = [
        struct.unpack(">Q", data[at + 8 * (o & ~LARGE) : at + 8 * (o & ~LARGE) + 8])[0]
        if o & LARGE
        else o
        for o in small
    ]
    return [Obj(*fields) for fields in zip(oids, offsets, crcs, strict=True)]


def write_idx(objs: list[Obj], pack_sha1: bytes, dest: Path) -> None:
    """The version 2 `.idx` of a pack holding `objs` whose trailer is `pack_sha1`."""
    objs = sorted(objs)
    fanout = [0] * 256
    for o in objs:
        fanout[o.oid[0]] += 1
    for i in range(1, 256):
        fanout[i] += fanout[i - 1]
    small: list[int] = []
    large: list[int] = []
    for o in objs:
        if o.offset < LARGE:
            small.append(o.offset)
        else:
            small.append(LARGE | len(large))
            large.append(o.offset)
    body = b"".join(
        (
            IDX_MAGIC,
            struct.pack(">256I", *fanout),
            *(o.oid for o in objs),
            struct.pack(f">{len(objs)}I", *(o.crc for o in objs)),
            struct.pack(f">{len(small)}I", *small),
            struct.pack(f">{len(large)}Q", *large),
            pack_sha1,
        )
    )
    dest.write_bytes(body + hashlib.sha1(body).digest())  # synced with the pack, by the caller


def table_of(repo: Path, bundle: Path, pack_start: int, scratch: Path) -> bytes:
    """The table of `bundle` (made from `repo`, whose objects complete a thin bundle)."""
    pack = scratch / ".table.pack"
    # the bases --fix-thin appends are thrown away: stored without deflating them
    git = ("git", "--git-dir", str(repo), "-c", "core.compression=0")
    pack.unlink(missing_ok=True)  # left by an uploader that was killed: index-pack won't overwrite
    try:
        proc.feed(
            *git, "index-pack", "--stdin", "--fix-thin", str(pack), chunks=_read(bundle, pack_start)
        )
        end = bundle.stat().st_size - pack_start - 20
        return encode(o for o in read_idx(pack.with_suffix(".idx")) if o.offset < end)
    finally:
        pack.unlink(missing_ok=True)
        pack.with_suffix(".idx").unlink(missing_ok=True)


def _read(path: Path, start: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        while chunk := f.read(1 << 20):
            yield chunk
