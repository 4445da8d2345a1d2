"""Plain git in a working copy (pull, stash pop, rebase) merges notebooks cell by cell, as sync
does, through `git nbcollab merge-driver`; run by real teammates against the real hub."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from git_nbcollab.notebooks import notebook
from tests.box import Box, edit_cell


@pytest.fixture
def pair(box: Box, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """alice shares a notebook with bob, both clone it; alice has pushed an edit of cell 0.
    Returns the two notebooks (alice's, bob's)."""
    name = f"drv-{request.node.name.removeprefix('test_')[:18].replace('_', '-')}"
    cid = box.share("alice", ["bob"], f"{name}.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, name).returncode == 0
    alice = box.home("alice") / "notebooks" / name / f"{name}.ipynb"
    bob = box.home("bob") / "notebooks" / name / f"{name}.ipynb"
    return alice, bob


def git_ok(box: Box, short: str, copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = box.run(short, "git", *args, cwd=copy)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stdout}{done.stderr}"
    return done


def alice_pushes(box: Box, alice_nb: Path, cell: int, source: str) -> None:
    edit_cell(alice_nb, cell, source)
    git_ok(box, "alice", alice_nb.parent, "commit", "-qam", "alice's edit")
    git_ok(box, "alice", alice_nb.parent, "push", "-q")


def sources(path: Path) -> list[str]:
    return [c.source for c in notebook.read(path.read_bytes(), str(path)).cells]


def test_pull_merges_different_cells(box: Box, pair: tuple[Path, Path]) -> None:
    alice_nb, bob_nb = pair
    alice_pushes(box, alice_nb, 0, "# reviewed by alice")
    edit_cell(bob_nb, 2, "print(min(sales))")
    git_ok(box, "bob", bob_nb.parent, "commit", "-qam", "bob's edit")
    done = git_ok(
        box,
        "bob",
        bob_nb.parent,
        "pull",
        "--no-rebase",
        "--no-edit",
        "origin",
        f"u/{box.user('alice')}/main",
    )
    assert "CONFLICT" not in done.stdout
    got = sources(bob_nb)
    assert (got[0], got[2]) == ("# reviewed by alice", "print(min(sales))")


def test_stash_pop_merges_different_cells(box: Box, pair: tuple[Path, Path]) -> None:
    alice_nb, bob_nb = pair
    alice_pushes(box, alice_nb, 0, "# reviewed by alice")
    edit_cell(bob_nb, 2, "print(min(sales))")
    copy = bob_nb.parent
    git_ok(box, "bob", copy, "stash", "-q")
    git_ok(box, "bob", copy, "pull", "-q", "--ff-only", "origin", f"u/{box.user('alice')}/main")
    git_ok(box, "bob", copy, "stash", "pop")
    got = sources(bob_nb)
    assert (got[0], got[2]) == ("# reviewed by alice", "print(min(sales))")


def test_rebase_merges_different_cells(box: Box, pair: tuple[Path, Path]) -> None:
    alice_nb, bob_nb = pair
    alice_pushes(box, alice_nb, 0, "# reviewed by alice")
    edit_cell(bob_nb, 2, "print(min(sales))")
    copy = bob_nb.parent
    git_ok(box, "bob", copy, "commit", "-qam", "bob's edit")
    git_ok(box, "bob", copy, "fetch", "-q")
    git_ok(box, "bob", copy, "rebase", "-q", f"origin/u/{box.user('alice')}/main")
    got = sources(bob_nb)
    assert (got[0], got[2]) == ("# reviewed by alice", "print(min(sales))")


def test_the_same_cell_is_a_conflict_with_both_versions_marked(
    box: Box, pair: tuple[Path, Path]
) -> None:
    alice_nb, bob_nb = pair
    alice_pushes(box, alice_nb, 1, "statistics.median(sales)")
    edit_cell(bob_nb, 1, "statistics.fmean(sales)")
    edit_cell(bob_nb, 2, "print(min(sales))")
    copy = bob_nb.parent
    git_ok(box, "bob", copy, "commit", "-qam", "bob's edit")
    done = box.run(
        "bob",
        "git",
        "pull",
        "--no-rebase",
        "--no-edit",
        "origin",
        f"u/{box.user('alice')}/main",
        cwd=copy,
    )
    assert done.returncode == 1, done.stderr
    assert f"CONFLICT (content): Merge conflict in {bob_nb.name}" in done.stdout
    got = sources(bob_nb)  # reading validates: still a notebook Jupyter opens
    assert got[1] == (
        "<<<<<<< ours\nstatistics.fmean(sales)\n=======\nstatistics.median(sales)\n>>>>>>> theirs\n"
    )
    assert got[2] == "print(min(sales))", "the cell only bob changed merged cleanly"
    status = git_ok(box, "bob", copy, "status", "--porcelain").stdout
    assert status.startswith(f"UU {bob_nb.name}"), "git knows the file is conflicted"


def test_a_working_copy_made_before_the_driver_gets_it_on_sync(
    box: Box, pair: tuple[Path, Path]
) -> None:
    _, bob_nb = pair
    copy = bob_nb.parent
    attributes = copy / ".git" / "info" / "attributes"
    attributes.write_text("*.ipynb merge=binary\n")  # what copies were given before
    shutil.chown(attributes, box.user("bob"), box.user("bob"))
    git_ok(box, "bob", copy, "config", "--unset", "merge.nbcollab.driver")
    git_ok(box, "bob", copy, "nbcollab", "sync")
    driver = git_ok(box, "bob", copy, "config", "merge.nbcollab.driver").stdout.strip()
    assert driver == "git nbcollab merge-driver %O %A %B %P"
    check = git_ok(box, "bob", copy, "check-attr", "merge", "--", bob_nb.name).stdout
    assert check.strip().endswith("merge: nbcollab")


def test_a_missing_file_is_one_line_and_ours_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from git_nbcollab.cli import nbcollab

    ours = tmp_path / "ours.ipynb"
    ours.write_bytes(b"{}")
    assert nbcollab(["merge-driver", str(tmp_path / "gone"), str(ours), str(ours), "x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err and "gone" in err
    assert ours.read_bytes() == b"{}"
