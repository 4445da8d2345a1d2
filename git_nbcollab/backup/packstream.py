"""A whole bundle chain as one pack: restore indexes it in a single `git index-pack`.

Unbundling a chain one bundle at a time makes `index-pack --fix-thin` inflate, hash and
rewrite every delta base again for each small bundle (3.2 s per 2.5 kB bundle against an
80 MB notebook). A chain starts with a full bundle and each later bundle's deltas point only
at objects of earlier ones, so the packs of the chain, laid end to end under one header,
are a complete pack: offsets of OFS_DELTA entries are relative to their own entry and stay
valid, REF_DELTA bases are found earlier in the stream. One index-pack then costs what a
clone of the same objects costs.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from git_nbcollab.backup import packindex
from git_nbcollab.backup.packindex import Obj

HEADER = 12  # "PACK", version, object count
TRAILER = 20  # sha1 of everything before it
CHUNK = 1 << 20
WRITEBACK = 16 << 20  # bytes written before the kernel is asked to start putting them on disk
BUNDLE_SIGNATURES = (b"# v2 git bundle\n", b"# v3 git bundle\n")


class NotABundle(ValueError):
    pass


class Damaged(ValueError):
    """The bundle at this place of the chain is not what its sha256 says."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def pack_offset(path: Path) -> tuple[int, int]:
    """(where the pack starts in the bundle file, its object count)."""
    with open(path, "rb") as f:
        if f.readline() not in BUNDLE_SIGNATURES:
            raise NotABundle("not a git bundle")
        while (line := f.readline()) not in (b"\n", b""):
            pass
        if not line:
            raise NotABundle("the bundle has no pack")
        start = f.tell()
        head = f.read(HEADER)
    if len(head) != HEADER or head[:4] != b"PACK" or struct.unpack(">I", head[4:8])[0] != 2:
        raise NotABundle("the bundle's pack has no version 2 header")
    return start, struct.unpack(">I", head[8:12])[0]


def chain_pack(bundles: Sequence[Path], sha256s: Sequence[str] = ()) -> Iterator[bytes]:
    """The packs of `bundles` (in chain order) as one pack stream, header and trailer made anew.
    With `sha256s`, each whole bundle is hashed in the same pass, on a second thread (the two
    hashes are most of the work; each runs on its own core): Damaged(i) when bundle i is not
    what its sha256 says (before the stream's trailer, so nothing complete comes out)."""
    places = [(path, *pack_offset(path)) for path in bundles]
    digest = hashlib.sha1()
    header = b"PACK" + struct.pack(">II", 2, sum(count for _, _, count in places))
    digest.update(header)
    yield header
    with ThreadPoolExecutor(1) as beside:
        for i, (path, start, _) in enumerate(places):
            whole = hashlib.sha256()
            with open(path, "rb") as f:
                whole.update(f.read(start + HEADER))
                left = os.fstat(f.fileno()).st_size - start - HEADER - TRAILER
                while left > 0 and (chunk := f.read(min(CHUNK, left))):
                    left -= len(chunk)
                    hashed = beside.submit(whole.update, chunk) if sha256s else None
                    digest.update(chunk)
                    yield chunk
                    if hashed:
                        hashed.result()
                whole.update(f.read())
            if sha256s and whole.hexdigest() != sha256s[i]:
                raise Damaged(i)
    yield digest.digest()


def chain_objects(bundles: Sequence[Path], tables: Sequence[list[Obj]]) -> list[Obj]:
    """The objects of the chain's pack (see chain_pack), from each bundle's table."""
    objs: list[Obj] = []
    at = HEADER
    for path, table in zip(bundles, tables, strict=True):
        start, count = pack_offset(path)
        if len(table) != count:
            raise packindex.BadTable(f"{path.name}'s table lists {len(table)} of {count} objects")
        objs += [o._replace(offset=o.offset - HEADER + at) for o in table]
        at += path.stat().st_size - start - HEADER - TRAILER
    return objs


def write_chain(
    bundles: Sequence[Path], sha256s: Sequence[str], objs: list[Obj], pack_dir: Path
) -> bool:
    """The chain's pack in `pack_dir` with its `.idx` made from `objs` (chain_objects), each
    bundle checked against its sha256 on the way: one pass over the bytes, and nothing is
    inflated or hashed but the bundles and the pack. False, writing nothing, when an object
    repeats in the chain (a pack index names each object once); Damaged, likewise. The disk
    starts writing as the pack is made; the caller syncs it (restore syncs its whole stage, once,
    before anything moves into the hub: waiting pack by pack keeps the disk's queue short)."""
    if len({o.oid for o in objs}) != len(objs):
        return False
    tmp = pack_dir / "tmp_chain.pack"
    trailer = b""
    try:
        with open(tmp, "wb", buffering=0) as out:
            written = flushed = 0
            for chunk in chain_pack(bundles, sha256s):
                written += out.write(chunk)
                trailer = chunk
                if written - flushed >= WRITEBACK:  # the disk writes while we hash the rest
                    os.posix_fadvise(out.fileno(), flushed, 0, os.POSIX_FADV_DONTNEED)
                    flushed = written
            os.posix_fadvise(out.fileno(), flushed, 0, os.POSIX_FADV_DONTNEED)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    name = pack_dir / f"pack-{trailer.hex()}"
    os.rename(tmp, name.with_suffix(".pack"))
    packindex.write_idx(objs, trailer, pack_dir / "tmp_chain.idx")
    os.rename(pack_dir / "tmp_chain.idx", name.with_suffix(".idx"))
    return True
