"""The spool: bundles waiting to leave the box, and what each collaboration last sent.

Layout under `<root>/spool/` (the service account's, 0700):

    pending/<id>          a request to back up a collaboration (hooks and hub-side writers);
                          .<id> while the uploader bundles it (kept if it dies meanwhile)
    queue/<n>-<id>-<chain>-<seq>.bundle   the bundle (absent when nothing new: refs only)
    queue/<n>-<id>-<chain>-<seq>.table    the bundle's object table (see packindex)
    queue/<n>-<id>-<chain>-<seq>.json     its manifest, written last: the entry is complete
    state/<id>.json       the last manifest queued for that collaboration: the next basis

A manifest records every ref (`git for-each-ref`, so deletions are restorable), the sha256 of
the bundle (and its size) and of its object table, and the collaboration's collab.json when it
changed (always in a full one).
The next bundle excludes the tips of the last manifest (`--all --not <tips>`).

Chains stay short: a full bundle starts a new chain when the chain's later bundles add up to
more than its full bundle (or `full_every` entries are reached), so restore reads at most about
twice the repo, and when a tip the chain builds on is gone from the repo (only a pruning gc
does that: `packing` never prunes), since no bundle can be made on top of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, NamedTuple

from git_nbcollab import proc
from git_nbcollab.backup import PENDING, packindex, packing, packstream
from git_nbcollab.fsutil import atomic_write
from git_nbcollab.layout import Hub
from git_nbcollab.names import _ID, CollabId, collab_id, entry_name

FORMAT = 1
CHUNK = 1 << 20
MIN_CHAIN_BYTES = 1 << 20  # below this, a chain never restarts for its size


class Step(NamedTuple):
    """Where the next bundle of a collaboration goes in its chain."""

    chain: int
    seq: int
    full: bool


class Manifest(NamedTuple):
    collab: CollabId
    chain: int
    seq: int
    refs: dict[str, str]
    bundle_sha256: str | None  # None: nothing new, the entry only moves refs
    bundle_size: int
    meta: dict[str, Any] | None  # collab.json; None: as in the entry before (small manifests)
    mirror: str = ""  # the mirror this chain lives in (kept in the spool's state, not sent)
    chain_bytes: int = 0  # bytes of every bundle of this chain so far, this one included
    full_bytes: int = 0  # bytes of the chain's full bundle
    table_sha256: str | None = None  # the bundle's object table (packindex); None: none made

    @property
    def name(self) -> str:
        return entry_name(self.collab, self.chain, self.seq)

    def to_bytes(self) -> bytes:
        fields = {"format": FORMAT, **self._asdict()}
        return json.dumps(fields, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        raw = json.loads(data)
        if not isinstance(raw, dict) or raw.pop("format", None) != FORMAT:
            raise ValueError("not a git-nbcollab manifest")
        fields = {k: raw[k] for k in cls._fields if k in raw}
        manifest = cls(**fields)
        collab_id(manifest.collab)
        if not isinstance(manifest.refs, dict) or not isinstance(manifest.chain, int):
            raise ValueError("manifest fields have the wrong types")
        return manifest


def plan(last: Manifest | None, full_every: int, mirror: str, basis_gone: bool = False) -> Step:
    """The next step: a full bundle starts a chain (first time, new mirror, a pruned basis,
    every `full_every` entries, or when the chain's later bundles outweigh its full one)."""
    if last is None:
        return Step(0, 0, True)
    added = last.chain_bytes - last.full_bytes
    if (
        last.mirror != mirror
        or basis_gone
        or last.seq + 1 >= max(full_every, 1)
        or added > max(last.full_bytes, MIN_CHAIN_BYTES)
    ):
        return Step(last.chain + 1, 0, True)
    return Step(last.chain, last.seq + 1, False)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_refs(repo: Path) -> dict[str, str]:
    listing = proc.out(
        "git", "--git-dir", str(repo), "for-each-ref", "--format=%(objectname) %(refname)"
    )
    return {ref: oid for oid, ref in (line.split(" ", 1) for line in listing.splitlines())}


def write_bundle(repo: Path, dest: Path, basis: list[str], refs: dict[str, str]) -> bytes | None:
    """Write an `--all` bundle excluding `basis` (thin: deltas on the basis); its object table
    (packindex), or None when there is nothing new."""
    git = ("git", "--git-dir", str(repo), *packing.NO_BITMAPS)
    if not basis:
        return _full_bundle(git, dest, refs)
    stdin = "".join(f"^{oid}\n" for oid in basis).encode()
    cmd = (*git, "bundle", "create", "--quiet", str(dest), "--all")
    done = proc.run(*cmd, "--stdin", input=stdin, check=False)
    if done.returncode == 128 and b"empty bundle" in done.stderr:
        return None
    if done.returncode != 0:
        raise proc.ProcessError(cmd, done.returncode, done.stdout, done.stderr)
    return packindex.table_of(repo, dest, packstream.pack_offset(dest)[0], dest.parent)


def _full_bundle(git: tuple[str, ...], dest: Path, refs: dict[str, str]) -> bytes | None:
    """A bundle of every ref, its pack written by pack-objects with its `.idx`: the table comes
    from the objects pack-objects named, without hashing any of them again."""
    if not refs:
        return None
    tips = "".join(f"{oid}\n" for oid in sorted(set(refs.values()))).encode()
    base = dest.parent / ".full"
    name = proc.out(
        *git, "pack-objects", "--revs", "--delta-base-offset", "-q", str(base), input=tips
    )
    pack = Path(f"{base}-{name.strip()}.pack")
    try:
        with open(dest, "wb") as out, open(pack, "rb") as src:
            out.write(b"# v2 git bundle\n")
            out.write("".join(f"{oid} {ref}\n" for ref, oid in sorted(refs.items())).encode())
            out.write(b"\n")
            shutil.copyfileobj(src, out, CHUNK)
        return packindex.encode(packindex.read_idx(pack.with_suffix(".idx")))
    finally:
        pack.unlink(missing_ok=True)
        pack.with_suffix(".idx").unlink(missing_ok=True)


class Spool(NamedTuple):
    hub: Hub

    @property
    def pending(self) -> Path:
        return self.hub.root / PENDING

    @property
    def queue(self) -> Path:
        return self.hub.spool / "queue"

    @property
    def state(self) -> Path:
        return self.hub.spool / "state"

    @property
    def status_file(self) -> Path:
        return self.hub.spool / "status.json"

    @property
    def lock(self) -> Path:
        return self.hub.spool / ".uploader.lock"

    def ensure(self) -> None:
        for path in (self.pending, self.queue, self.state):
            path.mkdir(mode=0o700, exist_ok=True)

    def last(self, cid: CollabId) -> Manifest | None:
        try:
            return Manifest.from_bytes((self.state / f"{cid}.json").read_bytes())
        except FileNotFoundError:
            return None

    def remember(self, manifest: Manifest) -> None:
        atomic_write(self.state / f"{manifest.collab}.json", manifest.to_bytes(), 0o600)

    def requested(self) -> list[CollabId]:
        if not self.pending.is_dir():
            return []
        names = {p.name.removeprefix(".") for p in self.pending.iterdir()}  # .<id>: taken
        return sorted(CollabId(n) for n in names if _ID.fullmatch(n))

    def entries(self) -> list[Path]:
        """Complete queue entries (their manifests), oldest first."""
        if not self.queue.is_dir():
            return []
        return sorted(p for p in self.queue.iterdir() if p.suffix == ".json" and p.name[0] != ".")

    def _next_number(self) -> int:
        numbers = [int(p.name.split("-")[0]) for p in self.entries()]
        counter = self.hub.spool / "counter"
        try:
            saved = int(counter.read_text())
        except (FileNotFoundError, ValueError):
            saved = 0
        number = max([saved, *numbers]) + 1
        atomic_write(counter, str(number).encode(), 0o600)
        return number

    def make_entry(self, cid: CollabId, full_every: int, mirror: str) -> Path | None:
        """Bundle what `cid` gained since its last entry; None when nothing changed at all."""
        repo = self.hub.repo(cid)
        if not repo.is_dir():
            return None
        last = self.last(cid)
        basis = sorted(set(last.refs.values())) if last else []
        step = plan(last, full_every, mirror, basis_gone=bool(packing.missing(repo, basis)))
        basis = [] if step.full else basis
        tmp = self.queue / f".{cid}.bundle"
        for _ in range(10):  # refs moving under us: take the bundle again
            refs = read_refs(repo)
            meta = json.loads((repo / "collab.json").read_bytes())
            if last and not step.full and refs == last.refs and meta == last.meta:
                return None
            table = write_bundle(repo, tmp, basis, refs)
            if read_refs(repo) == refs:
                break
        else:
            raise RuntimeError(f"refs of {cid} kept moving while it was bundled")
        has_bundle = table is not None
        manifest = Manifest(
            collab=cid,
            chain=step.chain,
            seq=step.seq,
            refs=refs,
            bundle_sha256=sha256_file(tmp) if has_bundle else None,
            bundle_size=(size := tmp.stat().st_size if has_bundle else 0),
            table_sha256=hashlib.sha256(table).hexdigest() if table is not None else None,
            meta=meta,
            mirror=mirror,
        )
        if step.full or last is None:
            manifest = manifest._replace(chain_bytes=size, full_bytes=size)
        else:
            manifest = manifest._replace(
                chain_bytes=last.chain_bytes + size, full_bytes=last.full_bytes
            )
        same_meta = last is not None and not step.full and last.meta == meta
        stem = f"{self._next_number():012d}-{cid}-{step.chain:06d}-{step.seq:06d}"
        if table is not None:
            atomic_write(self.queue / f"{stem}.table", table, 0o600)
            os.replace(tmp, self.queue / f"{stem}.bundle")
        sent = manifest._replace(mirror="")  # the mirror matters to this spool only
        sent = sent._replace(meta=None) if same_meta else sent
        atomic_write(self.queue / f"{stem}.json", sent.to_bytes(), 0o600)
        self.remember(manifest)  # with collab.json: the next entry compares against it
        return self.queue / f"{stem}.json"

    def bundle_requested(self, full_every: int, mirror: str) -> list[CollabId]:
        """Turn every pending request into a queue entry; returns the collaborations asked for."""
        self.ensure()
        asked = self.requested()
        for cid in asked:
            taken = self.pending / f".{cid}"  # a push from now on asks again, beside it
            if (self.pending / cid).exists():
                os.replace(self.pending / cid, taken)
            self.make_entry(cid, full_every, mirror)
            taken.unlink(missing_ok=True)  # only now: a crash before this leaves the request
        return asked
