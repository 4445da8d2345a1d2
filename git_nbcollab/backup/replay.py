"""Reading backups back: find a collaboration's newest chain in a store, check it, replay it.

Only a replay of the whole chain into a fresh repo plus `git fsck` proves a backup (`git
bundle verify` passes flipped bytes), so verify and restore both do exactly that.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from git_nbcollab import proc, repo
from git_nbcollab.backup import packindex, packstream
from git_nbcollab.backup.packindex import Obj
from git_nbcollab.backup.spool import Manifest, sha256_file
from git_nbcollab.backup.store import Missing, Store, StoreError
from git_nbcollab.errors import UserError
from git_nbcollab.names import CollabId, entry_name, parse_entry_name


def collabs_in(keys: dict[str, int]) -> dict[CollabId, dict[int, set[int]]]:
    """{collab: {chain: {seq with a manifest}}} from a store's key listing."""
    found: dict[CollabId, dict[int, set[int]]] = {}
    for key in keys:
        if key.endswith(".json") and (parsed := parse_entry_name(key.removesuffix(".json"))):
            cid, chain, seq = parsed
            found.setdefault(cid, {}).setdefault(chain, set()).add(seq)
    return found


def chain_names(cid: CollabId, chains: dict[int, set[int]], chain: int | None = None) -> list[str]:
    """The entries of a chain (the newest by default), in order; a gap is a missing manifest."""
    chain = max(chains) if chain is None else chain
    seqs = chains[chain]
    for seq in range(max(seqs) + 1):
        if seq not in seqs:
            raise UserError(
                f"backup of {cid} is broken: {entry_name(cid, chain, seq)}.json is missing"
                " from the chain; nothing restored"
            )
    return [entry_name(cid, chain, seq) for seq in range(max(seqs) + 1)]


def newest_good(
    store: Store,
    keys: dict[str, int],
    cid: CollabId,
    chains: dict[int, set[int]],
    where: tuple[Path, Path],
    init: Callable[[Path], None],
    fallback: bool,
    prove: bool = False,
) -> tuple[list[Manifest], list[str]]:
    """Replay the newest chain of `cid` into `where[0]` (a repo made by `init`; scratch space is
    `where[1]`); with `fallback`, a damaged chain gives way to the next older one; `prove`: see
    replay. Returns the chain's manifests and why each newer chain was passed over."""
    dest, scratch = where
    damaged: list[str] = []
    for chain in sorted(chains, reverse=True):
        shutil.rmtree(dest, ignore_errors=True)
        init(dest)
        try:
            manifests = load_manifests(store, keys, chain_names(cid, chains, chain), scratch)
            replay(store, manifests, dest, scratch, prove)
            return manifests, damaged
        except UserError as e:
            if not fallback:
                raise
            damaged.append(str(e).removesuffix("; nothing restored"))
    shutil.rmtree(dest, ignore_errors=True)
    raise UserError(f"{damaged[0]}; no older chain restores either; nothing restored")


def load_manifests(
    store: Store, keys: dict[str, int], names: list[str], scratch: Path
) -> list[Manifest]:
    manifests = []
    for name in names:
        path = scratch / "manifest.json"
        fetch(store, f"{name}.json", path)
        try:
            manifest = Manifest.from_bytes(path.read_bytes())
        except (ValueError, KeyError, TypeError):
            raise UserError(f"{name}.json is not a readable manifest; nothing restored") from None
        if manifest.name != name:
            raise UserError(f"{name}.json describes {manifest.name}; nothing restored")
        for part, sha in (("bundle", manifest.bundle_sha256), ("table", manifest.table_sha256)):
            if sha and f"{name}.{part}" not in keys:
                raise UserError(f"{name}.{part} is missing from the mirror; nothing restored")
        manifests.append(manifest)
    return manifests


def meta_of(manifests: list[Manifest]) -> dict[str, Any]:
    """collab.json as of the last entry: the newest one that carried it."""
    for manifest in reversed(manifests):
        if manifest.meta is not None:
            return manifest.meta
    raise UserError(f"{manifests[0].name}.json carries no collab.json; nothing restored")


def fetch(store: Store, key: str, dest: Path, size: int = 0) -> None:
    try:
        store.get(key, dest, size)
    except Missing:
        raise UserError(f"{key} is missing from the mirror; nothing restored") from None
    except StoreError as e:
        raise UserError(f"{e}; nothing restored") from None


def replay(
    store: Store, manifests: list[Manifest], dest: Path, scratch: Path, prove: bool = False
) -> None:
    """Fetch every bundle of the chain (read in place from a local mirror) and its object
    table, check them and make them one pack in the bare repo `dest`, set the refs exactly to
    the last manifest and check the result with fsck. With `prove`, git indexes the pack
    (hashing every object) and the tables must agree with it."""
    carrying = [m for m in manifests if m.bundle_sha256]
    bundles: list[Path] = []
    fetched: list[Path] = []  # downloaded copies, removed afterwards
    try:
        tables = []
        for manifest in carrying:
            download = scratch / f"{len(bundles)}.bundle"
            bundles.append(fetch_bundle(store, manifest, download))
            if bundles[-1] == download:
                fetched.append(download)
            tables.append(fetch_table(store, manifest, scratch / "table", bundles[-1]))
        if bundles:
            index_chain(bundles, carrying, tables, dest, prove)
    finally:
        for path in fetched:
            path.unlink(missing_ok=True)
    last = manifests[-1]
    set_refs(dest, last.refs)
    check(dest, last)


def _corrupt(manifest: Manifest) -> UserError:
    return UserError(
        f"{manifest.name}.bundle is corrupt (its sha256 is not the manifest's); nothing restored"
    )


def fetch_bundle(store: Store, manifest: Manifest, dest: Path) -> Path:
    """The bundle: the mirror's own file when it is a local folder, else downloaded to `dest`.
    Its sha256 is checked where it is read (see index_chain)."""
    path = store.local(f"{manifest.name}.bundle")
    if path is None:
        fetch(store, f"{manifest.name}.bundle", dest, manifest.bundle_size)
        path = dest
    try:
        packstream.pack_offset(path)
    except packstream.NotABundle as e:
        if sha256_file(path) != manifest.bundle_sha256:
            raise _corrupt(manifest) from None
        raise UserError(f"{manifest.name}.bundle: {e}; nothing restored") from None
    return path


def fetch_table(store: Store, manifest: Manifest, dest: Path, bundle: Path) -> list[Obj] | None:
    """The bundle's object table; None for a backup made before tables were kept."""
    if not manifest.table_sha256:
        return None
    fetch(store, f"{manifest.name}.table", dest)
    try:
        if sha256_file(dest) != manifest.table_sha256:
            raise packindex.BadTable("its sha256 is not the manifest's")
        start = packstream.pack_offset(bundle)[0]
        return packindex.decode(dest.read_bytes(), bundle.stat().st_size - start)
    except packindex.BadTable as e:
        raise UserError(f"{manifest.name}.table is corrupt ({e}); nothing restored") from None
    finally:
        dest.unlink(missing_ok=True)


def index_chain(
    bundles: list[Path],
    manifests: list[Manifest],
    tables: list[list[Obj] | None],
    dest: Path,
    prove: bool,
) -> None:
    """The chain's packs (of `manifests`, the entries with a bundle) as one pack: indexed from
    the tables when every bundle has one, else by git; when a later bundle carries an object
    an earlier one already had (one pack cannot hold it twice), each bundle on its own."""
    objs = None
    sha256s = [m.bundle_sha256 or "" for m in manifests]
    if all(table is not None for table in tables):
        try:
            objs = packstream.chain_objects(bundles, [t for t in tables if t is not None])
        except packindex.BadTable as e:
            raise UserError(
                f"chain ending at {manifests[-1].name}: {e}; nothing restored"
            ) from None
        if not prove:
            try:
                if packstream.write_chain(bundles, sha256s, objs, dest / "objects" / "pack"):
                    return
            except packstream.Damaged as e:
                raise _corrupt(manifests[e.index]) from None
    for bundle, manifest in zip(bundles, manifests, strict=True):
        if sha256_file(bundle) != manifest.bundle_sha256:
            raise _corrupt(manifest)
    try:
        stream = packstream.chain_pack(bundles)
        answer = proc.feed("git", "--git-dir", str(dest), "index-pack", "--stdin", chunks=stream)
    except proc.ProcessError:
        answer = b""
    if answer:
        if objs is not None:
            _agree(dest, answer, objs, manifests[-1])
        return
    try:
        for bundle in bundles:
            repo.git(dest, "bundle", "unbundle", str(bundle))
    except proc.ProcessError as e:
        raise UserError(
            f"chain ending at {manifests[-1].name} does not apply ({e.message}); nothing restored"
        ) from None


def _agree(dest: Path, answer: bytes, objs: list[Obj], last: Manifest) -> None:
    """The tables name every object where git found it, with its CRC."""
    name = answer.decode().split()[-1]
    found = packindex.read_idx(dest / "objects" / "pack" / f"pack-{name}.idx")
    if sorted(found) != sorted(objs):
        raise UserError(
            f"the object tables of the chain ending at {last.name} disagree with its bundles;"
            " nothing restored"
        )


def set_refs(path: Path, wanted: dict[str, str]) -> None:
    """Give the fresh repo `path` (made by init: no refs yet) exactly the refs `wanted`: its
    packed-refs file, written at once (no git process; no reflog of the restore)."""
    for ref, oid in wanted.items():
        if not (isinstance(oid, str) and _OID.fullmatch(oid) and valid_ref(ref)):
            raise UserError(f"refs of the backup cannot be set ({ref!r}); nothing restored")
    lines = [f"{oid} {ref}\n" for ref, oid in sorted(wanted.items(), key=lambda r: r[0].encode())]
    (path / "packed-refs").write_bytes(("# pack-refs with: sorted \n" + "".join(lines)).encode())


_OID = re.compile(r"[0-9a-f]{40}")
_BAD_REF = re.compile(r"[\000-\040\177~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock(/|$)|[/.]$")


def valid_ref(ref: str) -> bool:
    """`git check-ref-format` of a name under refs/ (as update-ref checks it)."""
    return ref.startswith("refs/") and not _BAD_REF.search(ref)


def check(path: Path, manifest: Manifest) -> None:
    # a flipped byte was caught by the bundles' sha256 (or by git's index-pack, which hashes
    # every object); fsck proves that every ref's history is complete (`bundle verify` cannot)
    fsck = ("fsck", "--connectivity-only", "--no-dangling", "--no-progress")
    done = proc.run("git", "--git-dir", str(path), *fsck, check=False)
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        raise UserError(
            f"chain ending at {manifest.name} fails git fsck ({why[0] if why else '?'});"
            " nothing restored"
        )
