"""Restore reads each chain in one pass, and falls back to an older chain when the newest is
damaged; verify re-hashes the published files. Real pushes, the real uploader and mirror."""

from __future__ import annotations

import json

import pytest

from git_nbcollab.layout import Hub
from tests.box import Box
from tests.commands.test_backup import (
    assert_same_repo,
    backup_run,
    bob_commits,
    clone_as_bob,
    mirror_of,
    restore,
)


def test_a_chain_is_restored_as_one_pack(box: Box) -> None:
    cid = box.share("alice", ["bob"], "rs-onepack.ipynb")
    copy = clone_as_bob(box, cid, "rs-onepack")
    for i in range(3):
        bob_commits(box, copy, f"onepack-{i}")
    backup_run(box)
    assert len(list((mirror_of(box) / "collabs" / cid / "000000").glob("*.bundle"))) >= 4
    code, new = restore(box, cid)
    assert code == 0
    packs = list((new / "collabs" / f"{cid}.git" / "objects" / "pack").glob("*.pack"))
    assert len(packs) == 1, "one index-pack for the whole chain, not one per bundle"
    assert_same_repo(box, cid, new)


def test_restore_falls_back_to_an_older_chain_when_the_newest_is_damaged(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = Hub(box.root)
    before = hub.settings
    box.backups_idle()
    hub.save_settings(before._replace(full_every=2))
    try:
        cid = box.share("alice", ["bob"], "rs-fallback.ipynb")  # chain 0: share, clone's push
        copy = clone_as_bob(box, cid, "rs-fallback")
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
    newest = chains[-1] / "000001.bundle"
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
    assert f"{chains[-1].name}/000001.bundle is corrupt" in out, out
    assert f"restored from the older chain {chains[-2].name}" in out, out
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
        copy.write_bytes(b"[]\n")
        done = box.run_as("root", "git", "nbcollab", "backup", "verify", "--root", str(box.root))
    finally:
        copy.write_bytes(original)
    assert done.returncode == 1
    assert "published/rs-published/v1.0.0/rs-published_FINAL.ipynb" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
