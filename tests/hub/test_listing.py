"""The listing index behind `git nbcollab list`: kept right by every change, never trusted over
the repos, and no way to see another's collaborations (real users, real sshd, real git)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from git_nbcollab.hub import collabs, listing
from git_nbcollab.layout import Hub
from git_nbcollab.names import User
from tests.box import Box


def truth(box: Box, short: str) -> list[dict[str, Any]]:
    """What `list` must say, read from the repos themselves, as root."""
    hub = Hub(box.root)
    user = User(box.user(short))
    mine = [c for c in collabs.all_collabs(hub) if user in c.members]
    mine.sort(key=lambda c: (c.name, c.created))
    return [collabs.described(c, str(hub.repo(c.id))) for c in mine]


def listed(box: Box, short: str) -> list[dict[str, Any]]:
    done = box.run(short, "git", "nbcollab", "list", "--json")
    assert done.returncode == 0, done.stderr
    answer: list[dict[str, Any]] = json.loads(done.stdout)
    return answer


def assert_index_right(box: Box) -> None:
    """The index is current (made from collabs/ as it is) and says what the repos say."""
    hub = Hub(box.root)
    index = listing._read(hub)
    assert index is not None and index.stamp == listing.stamp(hub), "the index is current"
    entries = [json.loads(line.split(b"\t", 4)[4]) for line in index.body.splitlines()]
    every = [collabs.described(c, str(hub.repo(c.id))) for c in collabs.all_collabs(hub)]
    assert sorted(entries, key=lambda e: e["id"]) == sorted(every, key=lambda e: e["id"])


def named(box: Box, short: str, members: list[str], name: str) -> str | None:
    """The id the hub resolves `members:name` (unix names) to for `short`; None: no such one."""
    target = [*box.ssh(short), "-p", str(box.port), f"{box.service}@127.0.0.1"]
    done = box.run(short, *target, f"nbcollab resolve {','.join(members)}:{name}")
    if "no such collaboration" in done.stderr:
        return None
    assert done.returncode == 0, done.stderr
    cid: str = json.loads(done.stdout)["collab"]["id"]
    return cid


def marks(box: Box) -> list[str]:
    folder = box.root / listing.FOLDER / "changed"
    return sorted(os.listdir(folder)) if folder.exists() else []


def service_file(box: Box, path: Path, data: bytes) -> None:
    """A file of the hub's, as the service account would leave it (folders made are its too)."""
    for folder in reversed(path.relative_to(box.root).parents[:-1]):
        if not (box.root / folder).exists():
            (box.root / folder).mkdir(mode=0o700)
            shutil.chown(box.root / folder, box.service, box.service)
    path.write_bytes(data)
    shutil.chown(path, box.service, box.service)


def test_the_index_follows_share_push_add_members_and_publish(box: Box) -> None:
    cid = box.share("alice", ["bob"], "lst-flow.ipynb")
    assert listed(box, "alice") == truth(box, "alice")
    assert_index_right(box)  # share put its entry in

    assert box.run("bob", "git", "nbcollab", "clone", cid, "lst-flow").returncode == 0
    copy = box.home("bob") / "notebooks" / "lst-flow"
    side = f"u/{box.user('bob')}/side"
    assert box.run("bob", "git", "push", "-q", "origin", f"HEAD:{side}", cwd=copy).returncode == 0
    assert any(m.startswith(f"{cid}.") for m in marks(box)), "the push left its mark"
    mine = {c["id"]: c for c in listed(box, "alice")}
    assert side in mine[cid]["branches"], "a pushed branch shows at once"
    assert listed(box, "alice") == truth(box, "alice")
    assert_index_right(box)
    assert not any(m.startswith(f"{cid}.") for m in marks(box)), "the ended push's mark is gone"

    assert box.run("bob", "git", "push", "-q", "origin", f":{side}", cwd=copy).returncode == 0
    assert side not in {c["id"]: c for c in listed(box, "alice")}[cid]["branches"]

    alice = box.home("alice") / "notebooks" / "lst-flow"
    done = box.run("alice", "git", "nbshare", box.user("carol"), cwd=alice)
    assert done.returncode == 0, done.stderr
    assert_index_right(box)  # add-members put the new members in, before any `list`
    everyone = [box.user(short) for short in ("alice", "bob", "carol")]
    assert named(box, "carol", everyone, "lst-flow") == cid
    assert named(box, "alice", everyone[:2], "lst-flow") is None, "the old spec names nothing"
    assert cid in {c["id"] for c in listed(box, "carol")}
    assert listed(box, "carol") == truth(box, "carol")

    done = box.run("alice", "git", "nbpublish", cid, "--", "lst-flow")
    assert done.returncode == 0, done.stderr
    assert listed(box, "bob") == truth(box, "bob")
    assert_index_right(box)


@pytest.fixture
def extra(box: Box) -> Iterator[str]:
    """A unix name for a teammate the test adds; removed afterwards with all they left."""
    name = f"{box.prefix}l{len(list(box.base.glob('l-*')))}"
    (box.base / f"l-{name}").touch()
    yield name
    subprocess.run(["pkill", "-u", name], check=False)
    subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


def test_a_removed_teammate_stays_a_member_in_lists_and_lists_nothing(box: Box, extra: str) -> None:
    assert box.admin("user", "add", extra) == 0
    box.put("alice", b"", "unused")  # alice's folder exists; share needs a notebook of hers
    cid = box.share("alice", [extra[len(box.prefix) :]], "lst-removed.ipynb")
    assert cid in {
        c["id"] for c in json.loads(box.run_as(extra, "git", "nbcollab", "list", "--json").stdout)
    }
    assert box.admin("user", "remove", extra) == 0
    assert box.run_as(extra, "git", "nbcollab", "list").returncode != 0
    mine = {c["id"]: c for c in listed(box, "alice")}
    assert extra in mine[cid]["members"], "their work and membership are kept"
    assert listed(box, "alice") == truth(box, "alice")
    assert_index_right(box)


def _deleted(box: Box, index: Path) -> None:
    index.unlink()


def _garbage(box: Box, index: Path) -> None:
    service_file(box, index, b"\x00\xffnot an index\n")


def _truncated(box: Box, index: Path) -> None:
    data = index.read_bytes()
    service_file(box, index, data[: len(data) // 2])


def _carol_added_in_place(box: Box, index: Path) -> None:
    """A damaged line that would let carol see alice and bob's work, header left as it was."""
    alice, bob, carol = (box.user(s) for s in ("alice", "bob", "carol"))
    data = index.read_bytes().replace(f",{alice},{bob},".encode(), f",{alice},{carol},".encode())
    service_file(box, index, data)


def _restored_behind_its_back(box: Box, index: Path) -> None:
    """A collaboration moved into collabs/ as `restore` does (root, no lock, no index)."""
    hub = Hub(box.root)
    source = next(hub.collabs.glob("*.git"))
    stage = box.root / ".restore-test"
    shutil.copytree(source, stage, symlinks=True)
    meta = json.loads((stage / "collab.json").read_text())
    (stage / "collab.json").write_text(json.dumps({**meta, "id": "0badc0de", "name": "lst-back"}))
    subprocess.run(["chown", "-R", f"{box.service}:{box.service}", str(stage)], check=True)
    os.rename(stage, hub.repo(collabs.CollabId("0badc0de")))


def _crashed_mid_push(box: Box, index: Path) -> None:
    """git moved a ref and the process died before anything else (its mark stays)."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    _branch_behind_its_back(box, ended.pid, "crashed")


def _push_in_flight(box: Box, index: Path) -> None:
    _branch_behind_its_back(box, os.getpid(), "in-flight")  # this process lives on


def _branch_behind_its_back(box: Box, pid: int, name: str) -> None:
    hub = Hub(box.root)
    cid = next(c.id for c in collabs.all_collabs(hub) if box.user("alice") in c.members)
    service_file(box, box.root / listing.FOLDER / "changed" / f"{cid}.{pid}", b"")
    tip = box.hub_git(cid, "rev-parse", f"refs/heads/u/{box.user('alice')}/main").strip()
    box.hub_git(cid, "update-ref", f"refs/heads/u/{box.user('alice')}/{name}", tip)
    subprocess.run(["chown", "-R", f"{box.service}:{box.service}", str(hub.repo(cid))], check=True)


@pytest.mark.parametrize(
    "damage",
    [
        _deleted,
        _garbage,
        _truncated,
        _carol_added_in_place,
        _restored_behind_its_back,
        _crashed_mid_push,
        _push_in_flight,
    ],
)
def test_a_missing_damaged_or_stale_index_still_gives_the_right_list(
    box: Box, damage: Callable[[Box, Path], None]
) -> None:
    box.share("alice", ["bob"], f"lst-{damage.__name__.strip('_')[:20].replace('_', '-')}.ipynb")
    assert listed(box, "alice") == truth(box, "alice")
    damage(box, box.root / listing.FOLDER / "index")
    for short in ("alice", "bob", "carol"):
        assert listed(box, short) == truth(box, short)
    for collab in truth(box, "bob"):  # a members:name is found through the index as well
        assert named(box, "bob", collab["members"], collab["name"]) == collab["id"]
    if damage is _push_in_flight:
        assert marks(box), "a live process's mark stays: its push may not be over"
        for mark in marks(box):
            (box.root / listing.FOLDER / "changed" / mark).unlink()
        return
    assert_index_right(box)  # rebuilt or brought up to date, and written back
    assert marks(box) == []


def test_a_teammate_sees_only_their_own_collaborations_through_the_index(box: Box) -> None:
    alice = box.user("alice")
    ours = box.share("alice", ["bob"], "lst-private.ipynb")
    theirs = box.share("carol", ["bob"], f"{alice}.ipynb")  # named after alice, to confuse
    assert box.run("carol", "git", "nbcollab", "clone", theirs, "lst-carol").returncode == 0
    copy = box.home("carol") / "notebooks" / "lst-carol"
    branch = f"HEAD:u/{box.user('carol')}/{alice}"
    assert box.run("carol", "git", "push", "-q", "origin", branch, cwd=copy).returncode == 0

    target = [*box.ssh("carol"), "-p", str(box.port), f"{box.service}@127.0.0.1"]
    raw = box.run("carol", *target, "nbcollab list")
    assert raw.returncode == 0, raw.stderr
    seen = json.loads(raw.stdout)["collabs"]
    assert ours not in raw.stdout and theirs in {c["id"] for c in seen}
    assert all(box.user("carol") in c["members"] for c in seen), "only carol's own"
    assert theirs not in {c["id"] for c in listed(box, "alice")}
    assert listed(box, "carol") == truth(box, "carol")

    index = box.root / listing.FOLDER / "index"
    for short in ("alice", "carol"):
        assert box.run(short, "cat", str(index)).returncode != 0, "the index is the hub's alone"
        assert box.run(short, "ls", str(index.parent / "changed")).returncode != 0
