"""The hub's repos stay packed with deltas; packing never drops an object a chain needs, and
a pruning gc starts a new chain. Real pushes through the gate, the real detached uploader."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path

from git_nbcollab.backup import packing
from tests.box import Box
from tests.commands.test_backup import (
    assert_same_repo,
    backup_run,
    clone_as_bob,
    hub_git,
    mirror_of,
    restore,
)

BIG = "head -c 1500000 /dev/urandom | base64 -w 76 > big.txt"  # ~2 MB that zlib cannot shrink
EDIT = "sed -i '{n}s/^./#/' big.txt && git commit -qam 'edit {n}' && git push -q"


def counts(repo: Path) -> dict[str, int]:
    listing = subprocess.run(
        ["git", "--git-dir", str(repo), "count-objects", "-v"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {k: int(v) for k, v in (line.split(": ") for line in listing.splitlines())}


def bob(box: Box, copy: Path, script: str) -> None:
    done = box.run("bob", "sh", "-c", script, cwd=copy)
    assert done.returncode == 0, done.stderr


def test_pushes_leave_the_repo_packed_with_deltas_and_every_object_kept(box: Box) -> None:
    cid = box.share("alice", ["bob"], "pk-deltas.ipynb")
    copy = clone_as_bob(box, cid, "pk-deltas")
    bob(box, copy, f"{BIG} && git add big.txt && git commit -qm big && git push -q")
    box.backups_idle()
    one_copy = counts(box.root / "collabs" / f"{cid}.git")["size-pack"]  # KiB
    stray = hub_git(box, cid, "hash-object", "-w", "--stdin").strip()  # unreachable: kept too
    for n in range(1, 6):
        bob(box, copy, EDIT.format(n=n))
    box.backups_idle()
    repo = box.root / "collabs" / f"{cid}.git"
    after = counts(repo)
    assert after["count"] == 0 and after["packs"] == 1, after
    assert after["size-pack"] < one_copy * 1.2, f"5 one-line edits cost kilobytes: {after}"
    bundles = sorted((mirror_of(box) / "collabs" / cid).rglob("*.bundle"))
    assert bundles[-1].stat().st_size < 100_000, "an edit's bundle is a delta on the packed repo"
    assert not packing.missing(repo, [stray, *box.refs(cid).values()])
    code, new = restore(box, cid)
    assert code == 0
    assert_same_repo(box, cid, new)


def test_a_pruning_gc_starts_a_new_chain_that_restores(box: Box) -> None:
    cid = box.share("alice", ["bob"], "pk-prune.ipynb")
    copy = clone_as_bob(box, cid, "pk-prune")
    bob(box, copy, "echo one > a.txt && git add a.txt && git commit -qm one && git push -q")
    first = box.refs(cid)[f"refs/heads/u/{box.user('bob')}/main"]
    bob(box, copy, "echo two > a.txt && git commit -qam two && git push -q")
    box.backups_idle()
    chain = mirror_of(box) / "collabs" / cid
    assert [p.name for p in chain.iterdir()] == ["000000"]
    # an admin rewinds bob's branch on the hub and prunes: the chain's last tip is gone
    hub_git(box, cid, "update-ref", f"refs/heads/u/{box.user('bob')}/main", first)
    hub_git(box, cid, "reflog", "expire", "--expire=now", "--all")
    hub_git(box, cid, "gc", "-q", "--prune=now")
    bob(box, copy, "git reset -q --hard HEAD~1 && echo three > a.txt && git commit -qam three")
    bob(box, copy, "git push -q")
    backup_run(box)
    assert (chain / "000001" / "000000.bundle").is_file(), "a full bundle starts chain 1"
    code, new = restore(box, cid)
    assert code == 0
    assert_same_repo(box, cid, new)


def test_a_push_lands_as_a_pack_so_packing_cannot_race_it(box: Box) -> None:
    """`repack -d` removes empty `objects/xx` folders; a push that lands as loose objects moves
    them into such folders after a `mkdir`, and failed when the uploader packed in between
    ("unable to migrate objects to permanent storage"). Pushes keep their pack instead."""
    cid = box.share("alice", ["bob"], "pk-race.ipynb")
    copy = clone_as_bob(box, cid, "pk-race")
    box.backups_idle()
    repo = box.root / "collabs" / f"{cid}.git"
    with open(box.root / "spool" / ".uploader.lock", "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # no uploader packs behind the test's back
        bob(box, copy, "echo one > a.txt && echo two > b.txt && git add . && git commit -qm two")
        bob(box, copy, "git push -q")
        pushed = counts(repo)
    assert pushed["count"] == 0 and pushed["packs"] == 2, pushed
    backup_run(box)
    assert counts(repo)["packs"] == 1
    assert not packing.missing(repo, list(box.refs(cid).values()))
