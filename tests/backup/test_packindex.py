"""Object tables: what the spool records beside each bundle agrees with git's own index of the
chain, and a chain restored from the tables alone is the repo, checked by git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from git_nbcollab import proc
from git_nbcollab.backup import packindex, packstream
from git_nbcollab.backup.packindex import Obj
from git_nbcollab.backup.spool import read_refs, sha256_file, write_bundle
from tests.backup.test_packstream import git, objects


def spool_chain(tmp_path: Path, pushes: int) -> tuple[Path, list[Path], list[list[Obj]]]:
    """A bare repo that gets a large file edited a little per push, bundled after each push
    the way the spool does (a full bundle, then thin ones on the previous refs), with tables."""
    work, repo = tmp_path / "work", tmp_path / "hub.git"
    git(tmp_path, "init", "-q", str(work))
    git(tmp_path, "init", "-q", "--bare", str(repo))
    lines = [f"line {i} " + "x" * 60 for i in range(20000)]
    bundles, tables, basis = [], [], []
    for i in range(pushes):
        lines[i * 97 % len(lines)] = f"edited {i}"
        (work / "big.txt").write_text("\n".join(lines))
        git(work, "add", "big.txt")
        git(work, "commit", "-qm", f"edit {i}")
        git(work, "tag", "-a", f"v{i}", "-m", f"version {i}")
        git(work, "push", "-q", str(repo), "HEAD:refs/heads/main", f"v{i}")
        refs = read_refs(repo)
        bundle = tmp_path / f"{i}.bundle"
        table = write_bundle(repo, bundle, basis, refs)
        assert table is not None
        size = bundle.stat().st_size - packstream.pack_offset(bundle)[0]
        bundles.append(bundle)
        tables.append(packindex.decode(table, size))
        basis = sorted(set(refs.values()))
    return repo, bundles, tables


def sha256s(bundles: list[Path]) -> list[str]:
    return [sha256_file(b) for b in bundles]


def test_tables_agree_with_git_and_restore_the_repo_without_git_hashing(tmp_path: Path) -> None:
    repo, bundles, tables = spool_chain(tmp_path, 5)
    assert packstream.pack_offset(bundles[3])[1] < 5, "later bundles are small and thin"
    objs = packstream.chain_objects(bundles, tables)

    by_git = tmp_path / "git.git"
    git(tmp_path, "init", "-q", "--bare", str(by_git))
    chunks = packstream.chain_pack(bundles)
    name = proc.feed("git", "--git-dir", str(by_git), "index-pack", "--stdin", chunks=chunks)
    idx = by_git / "objects" / "pack" / f"pack-{name.decode().split()[-1]}.idx"
    assert sorted(packindex.read_idx(idx)) == sorted(objs), "every id, offset and CRC as git's"

    fast = tmp_path / "fast.git"
    git(tmp_path, "init", "-q", "--bare", str(fast))
    assert packstream.write_chain(bundles, sha256s(bundles), objs, fast / "objects" / "pack")
    for ref, oid in read_refs(repo).items():
        git(fast, "update-ref", ref, oid)
    git(fast, "fsck", "--strict", "--no-dangling")  # reads and hashes every object
    git(fast, "verify-pack", str(next((fast / "objects" / "pack").glob("*.idx"))))
    assert objects(fast) == objects(repo)
    assert read_refs(fast) == read_refs(repo)


def test_a_full_bundle_made_from_its_own_pack_unbundles_with_git(tmp_path: Path) -> None:
    repo, bundles, _ = spool_chain(tmp_path, 2)
    dest = tmp_path / "dest.git"
    git(tmp_path, "init", "-q", "--bare", str(dest))
    git(dest, "bundle", "verify", str(bundles[0]))
    for bundle in bundles:
        git(dest, "bundle", "unbundle", str(bundle))
    for ref, oid in read_refs(repo).items():
        git(dest, "update-ref", ref, oid)
    git(dest, "fsck", "--strict", "--no-dangling")
    assert objects(dest) == objects(repo)


def test_a_chain_that_repeats_an_object_is_not_written_from_tables(tmp_path: Path) -> None:
    _, bundles, tables = spool_chain(tmp_path, 2)
    objs = packstream.chain_objects([*bundles, bundles[1]], [*tables, tables[1]])
    pack_dir = tmp_path / "pack"
    pack_dir.mkdir()
    assert not packstream.write_chain([*bundles, bundles[1]], sha256s(bundles) * 2, objs, pack_dir)
    assert list(pack_dir.iterdir()) == []


def test_a_bundle_that_is_not_its_sha256_is_named_and_no_pack_is_left(tmp_path: Path) -> None:
    _, bundles, tables = spool_chain(tmp_path, 3)
    objs = packstream.chain_objects(bundles, tables)
    wanted = sha256s(bundles)
    data = bytearray(bundles[1].read_bytes())
    data[-30] ^= 1  # inside the pack, where git bundle verify would not look
    bundles[1].write_bytes(bytes(data))
    pack_dir = tmp_path / "pack"
    pack_dir.mkdir()
    with pytest.raises(packstream.Damaged) as raised:
        packstream.write_chain(bundles, wanted, objs, pack_dir)
    assert raised.value.index == 1
    assert list(pack_dir.iterdir()) == []


def test_an_index_with_large_offsets_reads_back_as_git_reads_it(tmp_path: Path) -> None:
    objs = [
        Obj(bytes([i]) * 20, offset, i * 1000)
        for i, offset in enumerate([12, 3000, 2**31 + 5, 2**33])
    ]
    idx = tmp_path / "x.idx"
    packindex.write_idx(objs, b"\x01" * 20, idx)
    assert packindex.read_idx(idx) == objs
    with open(idx, "rb") as f:
        shown = subprocess.run(["git", "show-index"], stdin=f, capture_output=True, check=True)
    assert shown.stdout.decode().splitlines() == [
        f"{o.offset} {o.oid.hex()} ({o.crc:08x})" for o in objs
    ]


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (b"\0" * 31, 100),  # cut short
        (packindex.encode([Obj(b"a" * 20, 90, 0)]), 100),  # past the pack's end
        (packindex.encode([Obj(b"a" * 20, 4, 0)]), 100),  # inside the header
        (packindex.encode([Obj(b"a" * 20, 20, 0)]) * 2, 100),  # one place twice
    ],
)
def test_a_table_that_does_not_fit_its_pack_is_refused(data: bytes, size: int) -> None:
    with pytest.raises(packindex.BadTable):
        packindex.decode(data, size)


def test_a_table_left_half_made_by_a_killed_uploader_does_not_block_the_next(
    tmp_path: Path,
) -> None:
    (tmp_path / ".table.pack").write_bytes(b"PACK left by an uploader killed mid-way")
    _, bundles, tables = spool_chain(tmp_path, 2)
    assert len(tables[1]) == packstream.pack_offset(bundles[1])[1]
    assert not (tmp_path / ".table.pack").exists()


def test_the_chain_pack_is_named_only_whole_and_synced_by_its_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No sync pack by pack (restore syncs its whole stage once, before anything moves into
    the hub: tests/commands/test_restore.py); the pack is named when complete, then its index,
    and the writeback asked for on the way leaves the pack as git reads it."""
    repo, bundles, tables = spool_chain(tmp_path, 4)
    events: list[tuple[str, str]] = []
    fsync, rename = os.fsync, os.rename

    def synced(fd: int) -> None:
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}")).name))
        fsync(fd)

    def renamed(src: str | Path, dst: str | Path) -> None:
        events.append(("rename", Path(src).name))
        rename(src, dst)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "rename", renamed)
    monkeypatch.setattr(packstream, "WRITEBACK", 1000, raising=False)  # writeback asked often
    dest = tmp_path / "dest.git"
    git(tmp_path, "init", "-q", "--bare", str(dest))
    objs = packstream.chain_objects(bundles, tables)
    assert packstream.write_chain(bundles, sha256s(bundles), objs, dest / "objects" / "pack")
    monkeypatch.undo()
    assert events == [("rename", "tmp_chain.pack"), ("rename", "tmp_chain.idx")]
    for ref, oid in read_refs(repo).items():
        git(dest, "update-ref", ref, oid)
    git(dest, "fsck", "--strict", "--no-dangling")
    assert objects(dest) == objects(repo)
