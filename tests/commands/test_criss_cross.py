"""Teammates who merge each other's work make criss-cross histories (several merge bases);
sync and publish merge them against a virtual base, as git's `ort` does, so work that only
one person changed never collides. Real teammates, plain git and the real hub."""

from __future__ import annotations

import shutil
from pathlib import Path

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
