"""Teammates who merge each other's work make criss-cross histories (several merge bases);
sync and publish merge them against a virtual base, as git's `ort` does, so work that only
one person changed never collides. Real teammates, plain git and the real hub."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from git_nbcollab.notebooks import notebook
from tests.box import Box, edit_cell


def _git(box: Box, short: str, copy: Path, *args: str) -> None:
    done = box.run(short, "git", *args, cwd=copy)
    assert done.returncode == 0, f"{short}: git {' '.join(args)}: {done.stdout}{done.stderr}"


def _write(box: Box, short: str, path: Path, text: str) -> None:
    path.write_text(text)
    shutil.chown(path, box.user(short), box.user(short))


def criss_cross(box: Box, name: str) -> tuple[Path, Path]:
    """alice edits cell 0 of the notebook, bob writes bob.txt; each merges the other's first
    commit at the same time (two merge commits: a criss-cross); then alice edits cell 0 again
    and bob edits bob.txt again, and both push. Returns (alice's copy, bob's copy)."""
    cid = box.share("alice", ["bob"], f"{name}.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, name).returncode == 0
    alice = box.home("alice") / "notebooks" / name
    bob = box.home("bob") / "notebooks" / name
    edit_cell(alice / f"{name}.ipynb", 0, "# alice 1")
    _git(box, "alice", alice, "commit", "-qam", "alice 1")
    _write(box, "bob", bob / "bob.txt", "bob 1\n")
    _git(box, "bob", bob, "add", "bob.txt")
    _git(box, "bob", bob, "commit", "-qm", "bob 1")
    for short, copy in (("alice", alice), ("bob", bob)):
        _git(box, short, copy, "push", "-q")
    for short, copy in (("alice", alice), ("bob", bob)):
        _git(box, short, copy, "fetch", "-q")  # both see the other's first commit only
    for short, other, copy in (("alice", "bob", alice), ("bob", "alice", bob)):
        _git(box, short, copy, "merge", "-q", "--no-edit", f"origin/u/{box.user(other)}/main")
        _git(box, short, copy, "push", "-q")
    edit_cell(alice / f"{name}.ipynb", 0, "# alice 2")
    _git(box, "alice", alice, "commit", "-qam", "alice 2")
    _write(box, "bob", bob / "bob.txt", "bob 2\n")
    _git(box, "bob", bob, "commit", "-qam", "bob 2")
    for short, copy in (("alice", alice), ("bob", bob)):
        _git(box, short, copy, "push", "-q")
    return alice, bob


def _first_cell(path: Path) -> str:
    return str(notebook.read(path.read_bytes(), str(path)).cells[0].source)


def test_sync_after_merging_each_other_is_clean(box: Box) -> None:
    alice, _ = criss_cross(box, "crisssync")
    done = box.run("alice", "git", "nbcollab", "sync", cwd=alice)
    assert done.returncode == 0, done.stderr
    assert (alice / "bob.txt").read_text() == "bob 2\n"
    assert _first_cell(alice / "crisssync.ipynb") == "# alice 2"


def test_publish_after_merging_each_other_is_clean(box: Box) -> None:
    alice, _ = criss_cross(box, "crisspub")
    done = box.run("alice", "git", "nbpublish", "--", "crisspub", cwd=alice)
    assert done.returncode == 0, done.stderr
    copy = box.root / "published" / "crisspub" / "v1.0.0" / "crisspub_FINAL.ipynb"
    assert _first_cell(copy) == "# alice 2"


def _own_work_at_once(
    box: Box, name: str, people: dict[str, Path], rounds: int, publish: bool
) -> list[str]:
    """Everyone at once, `rounds` times: change only their own cell (the first few people) and
    their own text file, sync, and (with `publish`) publish. Returns what went wrong."""

    def loop(short: str, cell: int) -> list[str]:
        copy, failures = people[short], []
        for k in range(rounds):
            if cell < 3:
                edit_cell(copy / f"{name}.ipynb", cell, f"# {short} {k}")
            _write(box, short, copy / f"{short}.txt", f"{short} {k}\n")
            _git(box, short, copy, "add", f"{short}.txt")  # sync shares only what git tracks
            steps = [["git", "nbcollab", "sync"]] + [["git", "nbpublish", "--", name]] * publish
            for step in steps:
                done = box.run(short, *step, cwd=copy)
                if done.returncode != 0 and "nothing new to publish" not in done.stderr:
                    failures.append(f"{short} round {k}: {' '.join(step)}: {done.stderr}")
        return failures

    with ThreadPoolExecutor(len(people)) as pool:
        runs = [pool.submit(loop, short, cell) for cell, short in enumerate(people)]
        return [failure for run in runs for failure in run.result()]


def _team_copies(box: Box, name: str, people: list[str]) -> dict[str, Path]:
    cid = box.share(people[0], people[1:], f"{name}.ipynb")
    for short in people[1:]:
        assert box.run(short, "git", "nbcollab", "clone", cid, name).returncode == 0
    return {short: box.home(short) / "notebooks" / name for short in people}


def test_three_teammates_edit_sync_and_publish_at_once(box: Box) -> None:
    people = _team_copies(box, "atonce", ["alice", "bob", "carol"])
    assert _own_work_at_once(box, "atonce", people, rounds=5, publish=True) == []
    for short, copy in people.items():  # one more round each, in turn, and all have it all
        assert box.run(short, "git", "nbcollab", "sync", cwd=copy).returncode == 0
    for short, copy in people.items():
        assert box.run(short, "git", "nbcollab", "sync", cwd=copy).returncode == 0
        cells = notebook.read((copy / "atonce.ipynb").read_bytes(), short).cells
        assert [c.source for c in cells] == ["# alice 4", "# bob 4", "# carol 4"]
        assert (copy / "carol.txt").read_text() == "carol 4\n"


EXTRA = ("dave", "erin", "frank", "grace", "heidi")


@pytest.fixture
def eight(box: Box) -> Iterator[list[str]]:
    """Five more teammates on the box, removed afterwards."""
    try:
        for short in EXTRA:
            assert box.admin("user", "add", box.user(short)) == 0
        yield ["alice", "bob", "carol", *EXTRA]
    finally:
        for short in EXTRA:
            subprocess.run(["pkill", "-u", box.user(short)], capture_output=True)
            subprocess.run(["userdel", "--remove", box.user(short)], capture_output=True)


def test_eight_teammates_syncing_at_once_never_collide(box: Box, eight: list[str]) -> None:
    people = _team_copies(box, "eight", eight)
    assert _own_work_at_once(box, "eight", people, rounds=2, publish=False) == []
    for short, copy in [*people.items(), *people.items()]:
        assert box.run(short, "git", "nbcollab", "sync", cwd=copy).returncode == 0
    for copy in people.values():
        assert {p.name: p.read_text() for p in copy.glob("*.txt")} == {
            f"{short}.txt": f"{short} 1\n" for short in eight
        }
