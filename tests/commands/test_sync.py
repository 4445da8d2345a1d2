"""git nbcollab sync between real teammates: cell-aware merges, refusals that change nothing."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from git_nbcollab.notebooks import notebook
from tests.box import Box, edit_cell


@pytest.fixture
def pair(box: Box, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """alice shares a notebook with bob; both have working copies. Returns (alice's, bob's)."""
    name = f"sync-{request.node.name.split('[')[0][-20:].replace('_', '-')}"
    cid = box.share("alice", ["bob"], f"{name}.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, name).returncode == 0
    return (
        box.home("alice") / "notebooks" / name / f"{name}.ipynb",
        box.home("bob") / "notebooks" / name / f"{name}.ipynb",
    )


def sources(path: Path) -> list[str]:
    return [c.source for c in notebook.read(path.read_bytes(), str(path)).cells]


def test_edits_to_different_cells_meet_in_both_copies(box: Box, pair: tuple[Path, Path]) -> None:
    alice_nb, bob_nb = pair
    edit_cell(alice_nb, 0, "# Sales analysis, reviewed by alice")
    edit_cell(bob_nb, 2, "print(min(sales), max(sales))")
    for short, nb in (("alice", alice_nb), ("bob", bob_nb), ("alice", alice_nb)):
        done = box.run(short, "git", "nbcollab", "sync", cwd=nb.parent)
        assert done.returncode == 0, done.stderr
    for nb in pair:
        assert sources(nb)[0] == "# Sales analysis, reviewed by alice"
        assert sources(nb)[2] == "print(min(sales), max(sales))"
    status = box.run("bob", "git", "status", "--porcelain", cwd=bob_nb.parent).stdout
    assert status == "", "the working copy is clean and matches the pushed branch"


def test_the_same_cell_edited_twice_stops_sync_and_changes_nothing(
    box: Box, pair: tuple[Path, Path]
) -> None:
    alice_nb, bob_nb = pair
    edit_cell(alice_nb, 1, "statistics.median(sales)")
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent).returncode == 0
    edit_cell(bob_nb, 1, "statistics.fmean(sales)")
    assert box.run("bob", "git", "fetch", "-q", cwd=bob_nb.parent).returncode == 0
    before = box.snapshot()
    done = box.run("bob", "git", "nbcollab", "sync", cwd=bob_nb.parent)
    assert done.returncode == 1
    assert "cell 2 ('import statistics', id mean)" in done.stderr
    assert box.user("alice") in done.stderr and box.user("bob") in done.stderr
    assert "--ours" in done.stderr and "--theirs" in done.stderr and "--both" in done.stderr
    assert box.changes(before) == {}, "no commit, index, file or ref of bob's moved"

    kept = box.run("bob", "git", "nbcollab", "sync", "--theirs", cwd=bob_nb.parent)
    assert kept.returncode == 0, kept.stderr
    assert sources(bob_nb)[1] == "statistics.median(sales)", "alice's (their) cell won"


def test_both_keeps_both_cells(box: Box, pair: tuple[Path, Path]) -> None:
    alice_nb, bob_nb = pair
    edit_cell(alice_nb, 1, "statistics.median(sales)")
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent).returncode == 0
    edit_cell(bob_nb, 1, "statistics.fmean(sales)")
    assert box.run("bob", "git", "nbcollab", "sync", "--both", cwd=bob_nb.parent).returncode == 0
    assert sources(bob_nb)[1:3] == ["statistics.fmean(sales)", "statistics.median(sales)"]
    ids = [c["id"] for c in json.loads(bob_nb.read_text())["cells"]]
    assert len(ids) == len(set(ids)), "the second cell got a fresh id"


def set_metadata(path: Path, index: int, key: str, value: object) -> None:
    """Change one cell's metadata in a notebook file, keeping its owner."""
    nb = notebook.read(path.read_bytes(), str(path))
    nb.cells[index].metadata[key] = value
    owner = path.stat()
    path.write_bytes(notebook.dumps(nb))
    os.chown(path, owner.st_uid, owner.st_gid)


def test_what_a_merge_dropped_is_said_and_both_tags_are_kept(
    box: Box, pair: tuple[Path, Path]
) -> None:
    alice_nb, bob_nb = pair
    set_metadata(alice_nb, 1, "scrolled", True)
    set_metadata(alice_nb, 1, "tags", ["alice"])
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent).returncode == 0
    set_metadata(bob_nb, 1, "scrolled", False)
    set_metadata(bob_nb, 1, "tags", ["bob"])
    done = box.run("bob", "git", "nbcollab", "sync", cwd=bob_nb.parent)
    assert done.returncode == 0, done.stderr
    assert "metadata 'scrolled' changed by both" in done.stdout, done.stdout
    cell = notebook.read(bob_nb.read_bytes(), str(bob_nb)).cells[1]
    assert sorted(cell.metadata["tags"]) == ["alice", "bob"], "tags merge as sets"


def test_sync_outside_a_working_copy_is_refused(box: Box) -> None:
    done = box.run("alice", "git", "nbcollab", "sync")
    assert done.returncode == 1 and "not in a working copy" in done.stderr


def _rerun(path: Path, index: int, text: str, count: int) -> None:
    """Change only a cell's outputs and execution count, as re-running it would."""
    nb = notebook.read(path.read_bytes(), str(path))
    cell = nb.cells[index]
    cell.execution_count = count
    cell.outputs = [{"output_type": "stream", "name": "stdout", "text": text}]
    owner = path.stat()
    path.write_bytes(notebook.dumps(nb))
    os.chown(path, owner.st_uid, owner.st_gid)


def test_outputs_never_conflict_the_newer_run_wins(box: Box, pair: tuple[Path, Path]) -> None:
    alice_nb, bob_nb = pair
    _rerun(alice_nb, 2, "143 (alice's run)\n", 7)
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent).returncode == 0
    _rerun(bob_nb, 2, "143 (bob's run)\n", 9)
    done = box.run("bob", "git", "nbcollab", "sync", cwd=bob_nb.parent)
    assert done.returncode == 0, done.stderr
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent).returncode == 0
    for nb in pair:
        cell = notebook.read(nb.read_bytes(), str(nb)).cells[2]
        assert (cell.execution_count, cell.outputs[0]["text"]) == (9, "143 (bob's run)\n")


def test_a_hub_that_refuses_the_fetch_is_an_error_not_a_crash(
    box: Box, pair: tuple[Path, Path]
) -> None:
    _, bob_nb = pair
    copy = bob_nb.parent
    assert (
        box.run(
            "bob", "git", "remote", "set-url", "origin", box.url("ffffffff"), cwd=copy
        ).returncode
        == 0
    )
    before = box.snapshot()
    done = box.run("bob", "git", "nbcollab", "sync", cwd=copy)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        "git nbcollab: git fetch from the hub failed: no such collaboration: ffffffff"
        " (see yours with `git nbcollab list`)"
    ]
    fetch_record = str(copy / ".git" / "FETCH_HEAD")  # git's own note of the fetch it tried
    assert set(box.changes(before)) <= {fetch_record}, "no commit, index, file or ref moved"


def test_an_edit_in_the_second_the_last_sync_wrote_the_file_is_synced(
    box: Box, pair: tuple[Path, Path]
) -> None:
    """git compares file times in whole seconds: a same-size edit made in the second a sync
    wrote the file is seen only by git's racy check against the index file's own time."""
    alice_nb, bob_nb = pair
    edit_cell(alice_nb, 2, "print(1)")
    for short, nb in (("alice", alice_nb), ("bob", bob_nb)):  # bob's sync writes his file
        done = box.run(short, "git", "nbcollab", "sync", cwd=nb.parent)
        assert done.returncode == 0, done.stderr
    written = bob_nb.stat()
    edit_cell(bob_nb, 2, "print(2)")
    assert bob_nb.stat().st_size == written.st_size
    index = bob_nb.parent / ".git" / "index"
    for path in (bob_nb, index):  # the edit and the index in the second the sync wrote them
        os.utime(path, ns=(written.st_atime_ns, written.st_mtime_ns))
    trust = ("git", "config", "core.trustctime", "false")  # utime sets the ctime to now
    assert box.run("bob", *trust, cwd=bob_nb.parent).returncode == 0
    time.sleep(1.1)  # the next sync starts in a later second
    done = box.run("bob", "git", "nbcollab", "sync", cwd=bob_nb.parent)
    assert done.returncode == 0, done.stderr
    status = box.run("bob", "git", "status", "--porcelain", cwd=bob_nb.parent).stdout
    assert status == "", "bob's edit was left out of the sync"
    shown = box.run("bob", "git", "show", f"origin/u/{box.user('bob')}/main:{bob_nb.name}",
                    cwd=bob_nb.parent)  # fmt: skip
    assert '"print(2)"' in shown.stdout


def _ssh_left(box: Box, short: str) -> list[str]:
    """The ssh processes of a teammate still running (not the exited ones waiting for init)."""
    listed = subprocess.run(
        ["ps", "-u", box.user(short), "-o", "stat=,comm="], capture_output=True, text=True
    ).stdout.splitlines()
    return [line for line in listed if line.split()[-1] == "ssh" and not line.startswith("Z")]


def test_a_sync_starts_ssh_once_for_the_fetch_and_once_for_the_push(
    box: Box, pair: tuple[Path, Path]
) -> None:
    """They share one connection, which ends with the sync (the master is asked to exit over its
    own socket: no third ssh for `ssh -O exit`)."""
    alice_nb, bob_nb = pair
    edit_cell(alice_nb, 0, "# one incoming change")
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent).returncode == 0
    edit_cell(bob_nb, 2, "print('and one of mine')")
    logged = box.home("bob") / "ssh-calls"
    wrapper = box.home("bob") / "ssh-wrapper"
    wrapper.mkdir()
    (wrapper / "ssh").write_text(f'#!/bin/sh\necho "$*" >> {logged}\nexec /usr/bin/ssh "$@"\n')
    (wrapper / "ssh").chmod(0o755)
    path = f"PATH={wrapper}:{box.bin_dir}:/usr/bin:/bin"
    done = box.run("bob", "env", path, "git", "nbcollab", "sync", cwd=bob_nb.parent)
    assert done.returncode == 0, done.stderr
    calls = logged.read_text().splitlines()
    assert [call.rsplit(" ", 1)[0].rsplit(" ", 1)[-1] for call in calls] == [
        "git-upload-pack",
        "git-receive-pack",
    ], calls
    deadline = time.monotonic() + 10
    while _ssh_left(box, "bob") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ssh_left(box, "bob") == [], "the shared connection outlived the sync"
    assert sources(alice_nb)[0] == sources(bob_nb)[0] == "# one incoming change"
