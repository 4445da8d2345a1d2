"""Restore lays each chain out as one pack indexed from the bundles' object tables, falls back
to an older chain when the newest is damaged, brings back the audit log and shows progress on a
terminal; verify proves the tables with git and re-hashes the published files. Real pushes, the
real uploader and mirror."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from git_nbcollab import audit
from git_nbcollab.cli import nbcollab
from git_nbcollab.layout import Hub
from tests.box import Box
from tests.commands.test_backup import (
    as_service,
    assert_same_repo,
    backup_run,
    bob_commits,
    clone_as_bob,
    fresh_hub,
    mirror_of,
    restore,
)
from tests.test_output import in_terminal


def test_a_chain_is_restored_as_one_pack_indexed_from_its_tables_by_one_git_process(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = box.share("alice", ["bob"], "rs-onepack.ipynb")
    copy = clone_as_bob(box, cid, "rs-onepack")
    for i in range(3):
        bob_commits(box, copy, f"onepack-{i}")
    backup_run(box)
    bundles = list((mirror_of(box) / "collabs" / cid / "000000").glob("*.bundle"))
    assert len(bundles) >= 4
    assert all(b.with_suffix(".table").is_file() for b in bundles), "a table beside each bundle"
    new = fresh_hub(box)
    started: list[tuple[str, ...]] = []
    popen = subprocess.Popen

    def recorded(cmd: tuple[str, ...], *args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        started.append(tuple(cmd))
        return popen(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recorded)
    args = ["restore", "--from", str(mirror_of(box)), "--root", str(new), "--collab", cid]
    assert nbcollab(args) == 0
    monkeypatch.undo()
    gits = [cmd[3] for cmd in started if cmd[0] == "git"]
    assert gits == ["fsck"], f"repo, config and refs written directly, then fsck: {started}"
    repo = new / "collabs" / f"{cid}.git"
    packs = list((repo / "objects" / "pack").glob("*.pack"))
    assert len(packs) == 1, "the whole chain as one pack, not one per bundle"
    assert_same_repo(box, cid, new)
    fsck = subprocess.run(["git", "--git-dir", str(repo), "fsck", "--strict"], capture_output=True)
    assert fsck.returncode == 0, fsck.stderr  # git hashes every object the tables named


def test_verify_proves_the_tables_against_git(box: Box) -> None:
    """A table that names an object at another's place, recorded with its own sha256 (as a
    faulty uploader would write it): restore cannot see it, verify indexes with git and does."""
    cid = box.share("alice", ["bob"], "rs-tables.ipynb")
    copy = clone_as_bob(box, cid, "rs-tables")
    bob_commits(box, copy, "tables")
    backup_run(box)
    table = next((mirror_of(box) / "collabs" / cid / "000000").glob("*.table"))
    manifest = table.with_suffix(".json")
    saved = table.read_bytes(), manifest.read_bytes()
    records = [saved[0][i : i + 32] for i in range(0, len(saved[0]), 32)]
    swapped = records[1][:20] + records[0][20:], records[0][:20] + records[1][20:]
    wrong = b"".join([*swapped, *records[2:]])
    fields = json.loads(saved[1])
    fields["table_sha256"] = hashlib.sha256(wrong).hexdigest()
    try:
        table.write_bytes(wrong)
        manifest.write_text(json.dumps(fields))
        done = box.run_as(
            "root", "git", "nbcollab", "backup", "verify", "--collab", cid, "--root", str(box.root)
        )
    finally:
        table.write_bytes(saved[0])
        manifest.write_bytes(saved[1])
    assert done.returncode == 1
    assert "object tables of the chain ending at" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("part", ["bundle", "table"])
def test_restore_falls_back_to_an_older_chain_when_the_newest_is_damaged(
    box: Box, capsys: pytest.CaptureFixture[str], part: str
) -> None:
    hub = Hub(box.root)
    before = hub.settings
    box.backups_idle()
    hub.save_settings(before._replace(full_every=2))
    try:
        cid = box.share("alice", ["bob"], f"rs-fallback-{part}.ipynb")  # chain 0: share, push
        copy = clone_as_bob(box, cid, f"rs-fallback-{part}")
        bob_commits(box, copy, "kept")
        backup_run(box)
        older = dict(box.refs(cid))
        bob_commits(box, copy, "newer-1")
        backup_run(box)
        bob_commits(box, copy, "newer-2")
        backup_run(box)
    finally:
        box.backups_idle()
        hub.save_settings(before)
    chains = sorted((mirror_of(box) / "collabs" / cid).iterdir())
    newest = chains[-1] / f"000001.{part}"
    assert len(chains) >= 2 and newest.is_file(), chains
    original = newest.read_bytes()
    try:
        newest.write_bytes(original[:-40] + bytes(b ^ 1 for b in original[-40:]))
        assert box.admin("backup", "verify", "--collab", cid) == 1, "verify names the damage"
        capsys.readouterr()
        code, new = restore(box, cid)
        out = capsys.readouterr().out
    finally:
        newest.write_bytes(original)
    assert code == 0
    assert f"{chains[-1].name}/000001.{part} is corrupt" in out, out
    assert f"restored from the older chain {chains[-2].name}" in out, out
    assert len([line for line in out.splitlines() if cid in line]) == 1, "said in one line"
    repo = new / "collabs" / f"{cid}.git"
    assert (
        Box.refs_at(repo)
        == json.loads(
            (chains[-2] / f"{max(p.stem for p in chains[-2].glob('*.json'))}.json").read_text()
        )["refs"]
    )
    assert Box.refs_at(repo) == older != box.refs(cid), "the older chain's last state"
    state = json.loads((new / "spool" / "state" / f"{cid}.json").read_bytes())
    assert (state["chain"], state["mirror"]) == (int(chains[-1].name), ""), (
        "the next bundle starts a chain after the damaged one"
    )


def test_verify_rehashes_published_files(box: Box, capsys: pytest.CaptureFixture[str]) -> None:
    box.share("alice", ["bob"], "rs-published.ipynb")
    folder = box.root / "published" / "rs-published" / "v1.0.0"
    script = f"mkdir -p {folder} && echo '{{}}' > {folder}/rs-published_FINAL.ipynb"
    assert box.run_as(box.service, "sh", "-c", script).returncode == 0
    backup_run(box)
    copy = mirror_of(box) / "published" / "rs-published" / "v1.0.0" / "rs-published_FINAL.ipynb"
    assert box.admin("backup", "verify") == 0
    original = copy.read_bytes()
    try:
        copy.write_bytes(original[:1] + bytes([original[1] ^ 1]) + original[2:])  # one bit
        done = box.run_as("root", "git", "nbcollab", "backup", "verify", "--root", str(box.root))
    finally:
        copy.write_bytes(original)
    assert done.returncode == 1
    assert "published/rs-published/v1.0.0/rs-published_FINAL.ipynb" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"/"
        for p in sorted(root.rglob("*"))
    }


def test_a_whole_hub_restore_brings_back_the_audit_log(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = box.share("alice", ["bob"], "rs-audit.ipynb")
    backup_run(box)
    mirrored = mirror_of(box) / audit.FOLDER
    sent = {
        folder.name: b"".join(p.read_bytes() for p in sorted(folder.iterdir()))
        for folder in mirrored.iterdir()
    }
    code, new = restore(box, None)
    assert code == 0
    folder = new / audit.FOLDER
    assert audit.files(str(new)) == sorted(sent)[-audit.KEEP :]
    *older, newest = audit.files(str(new))
    for name in older:
        assert (folder / name).read_bytes() == sent[name], name
    assert (folder / newest).read_bytes().startswith(sent[newest]), "then the restore's lines"
    assert (folder.stat().st_uid, folder.stat().st_mode & 0o777) == (new.stat().st_uid, 0o700)
    assert all((folder / n).stat().st_mode & 0o777 == 0o600 for n in audit.files(str(new)))
    capsys.readouterr()
    assert nbcollab(["log", "--json", "--collab", cid, "--root", str(new)]) == 0
    ops = [json.loads(line)["op"] for line in capsys.readouterr().out.splitlines()]
    assert "share" in ops and ops[-1] == "restore", ops


def test_an_audit_log_with_a_missing_piece_is_refused_and_nothing_restored(
    box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box.share("alice", ["bob"], "rs-audit-gap.ipynb")
    backup_run(box)
    copy = tmp_path / "mirror"
    shutil.copytree(mirror_of(box), copy)
    first = sorted((copy / audit.FOLDER).iterdir())[-1]
    piece = sorted(first.iterdir())[0]
    start, end = piece.name.split("-")
    piece.rename(piece.with_name(f"{int(start) + 1:012d}-{end}"))
    new = fresh_hub(box)
    before = tree(new)
    capsys.readouterr()
    args = ["restore", "--from", str(copy), "--root", str(new)]
    assert nbcollab(args) == 1
    err = capsys.readouterr().err
    assert f"misses bytes 0-{int(start) + 1}" in err and err.count("\n") == 1, err
    assert tree(new) == before, "nothing restored"


def test_restore_shows_progress_on_a_terminal(box: Box) -> None:
    cid = box.share("alice", ["bob"], "rs-progress.ipynb")
    backup_run(box)
    new = fresh_hub(box)
    args = ["restore", "--from", str(mirror_of(box)), "--collab", cid, "--root", str(new)]
    shown = in_terminal([str(box.bin_dir / "git-nbcollab"), *args])
    assert "restoring collaborations" in shown and "restored 1 collaborations" in shown, shown


def test_everything_restored_is_on_disk_before_it_is_in_the_hub(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file and folder (packs, their indexes, packed-refs, config, hooks, collab.json,
    published files, the audit log) is synced before the rename that puts it into the hub,
    and the hub's folders it went into are synced after: a power cut after "restored" loses
    nothing."""
    cid = box.share("alice", ["bob"], "rs-durable.ipynb")
    folder = box.root / "published" / "rs-durable" / "v1.0.0"
    as_service(box, "mkdir", "-p", str(folder))
    as_service(box, "sh", "-c", f"echo '{{}}' > {folder}/rs-durable_FINAL.ipynb")
    backup_run(box)
    new = fresh_hub(box)
    events: list[tuple[str, ...]] = []
    fsync, rename = os.fsync, os.rename

    def synced(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def renamed(src: str | Path, dst: str | Path) -> None:
        events.append(("rename", str(src), str(dst)))
        rename(src, dst)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "rename", renamed)
    assert nbcollab(["restore", "--from", str(mirror_of(box)), "--root", str(new)]) == 0
    monkeypatch.undo()
    moves = [(i, Path(e[1]), Path(e[2])) for i, e in enumerate(events) if e[0] == "rename"]
    moves = [(i, src, dst) for i, src, dst in moves if new in dst.parents and new in src.parents]
    into_hub = [(i, src, dst) for i, src, dst in moves if ".restore-" not in str(dst)]
    assert {dst.parent for _, _, dst in into_hub} >= {
        new / "collabs",
        new / "published" / "rs-durable" / "v1.0.0",
    }
    last = max(i for i, _, _ in into_hub)
    for i, src, dst in into_hub:
        synced_before = {e[1] for e in events[:i] if e[0] == "fsync"}
        for path in [dst, *dst.rglob("*")] if dst.is_dir() else [dst]:
            if not path.is_symlink():
                was = src / path.relative_to(dst)
                assert str(was) in synced_before, f"{path} was not on disk before it was in the hub"
        assert ("fsync", str(dst.parent)) in events[last:], f"{dst.parent} not synced after"
    assert (new / "collabs" / f"{cid}.git" / "packed-refs").is_file()


def test_a_damaged_collaboration_among_others_restoring_at_once_is_one_line_and_nothing_moves_in(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    cids = [box.share("alice", ["bob"], f"rs-together-{i}.ipynb") for i in range(3)]
    backup_run(box)
    bundle = mirror_of(box) / "collabs" / cids[1] / "000000" / "000000.bundle"
    original = bundle.read_bytes()
    new = fresh_hub(box)
    before = _tree(new)
    try:
        bundle.write_bytes(original[:-40] + bytes(b ^ 1 for b in original[-40:]))
        capsys.readouterr()
        code = nbcollab(["restore", "--from", str(mirror_of(box)), "--root", str(new)])
        err = capsys.readouterr().err
    finally:
        bundle.write_bytes(original)
    assert code == 1
    assert f"collabs/{cids[1]}/000000/000000.bundle is corrupt" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert _tree(new) == before, "nothing moved in, no stage left"


def _tree(root: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.lstat().st_mode, p.read_bytes() if p.is_file() else b"")
        for p in root.rglob("*")
    }
