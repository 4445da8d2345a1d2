"""Notebooks both sides changed are merged after git's merge: git reads stand-ins, not them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pygit2
import pytest

from git_nbcollab.commands.merge_driver import merge_driver
from git_nbcollab.notebooks import deferred, notebook, treemerge
from git_nbcollab.notebooks.filemerge import Settings
from tests.notebooks.test_choices import _ids
from tests.notebooks.test_treemerge import AUTHOR, SALES, edited, file_at, fork, git, sources

NB = SALES.read_bytes()
ALICE, BOB = edited(NB, 0, "# alice"), edited(NB, 2, "print('bob')")


def changed(
    tmp_path: Path, ours: dict[str, bytes | None], theirs: dict[str, bytes | None]
) -> set[str]:
    base = {"sales.ipynb": NB, "notes.txt": b"x\n"}
    repo, alice, bob = fork(tmp_path, base, ours, theirs)
    start = git(repo, "merge-base", alice.commit, bob.commit)
    return set(deferred.both_changed(pygit2.Repository(str(repo)), start, alice.commit, bob.commit))


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        ({"sales.ipynb": ALICE}, {"sales.ipynb": BOB}, {"sales.ipynb"}),
        ({"sales.ipynb": ALICE}, {"notes.txt": b"y\n"}, set()),  # one side only: git reads nothing
        ({"sales.ipynb": ALICE}, {"sales.ipynb": ALICE}, set()),  # the same change
        # renamed on one side: git compares contents to find the rename, so it keeps them
        ({"sales.ipynb": None, "q3.ipynb": ALICE}, {"sales.ipynb": BOB}, set()),
        # a version also found at another path could be compared as a rename
        ({"sales.ipynb": ALICE, "copy.ipynb": ALICE}, {"sales.ipynb": BOB}, set()),
        ({"new.ipynb": ALICE}, {"new.ipynb": BOB}, set()),  # added by both: no merge base
    ],
)
def test_only_notebooks_git_would_read_just_to_merge_them_are_deferred(
    tmp_path: Path,
    ours: dict[str, bytes | None],
    theirs: dict[str, bytes | None],
    expected: set[str],
) -> None:
    assert changed(tmp_path, ours, theirs) == expected


def test_the_driver_leaves_a_stand_in_conflicted_and_untouched(tmp_path: Path) -> None:
    stand_ins = []
    for name in ("base", "ours", "theirs"):
        stand_ins.append(tmp_path / name)
        stand_ins[-1].write_bytes(deferred.MARK + b"0" * 40 + b"\n")
    before = stand_ins[1].read_bytes()
    assert merge_driver(base=stand_ins[0], ours=stand_ins[1], theirs=stand_ins[2], path="x") == 1
    assert stand_ins[1].read_bytes() == before


def test_git_merges_the_tree_with_stand_ins_and_leaves_the_real_versions(tmp_path: Path) -> None:
    repo, alice, bob = fork(
        tmp_path, {"sales.ipynb": NB}, {"sales.ipynb": ALICE}, {"sales.ipynb": BOB}
    )
    pyrepo = pygit2.Repository(str(repo))
    real = {
        n: git(repo, "rev-parse", f"{c}:sales.ipynb")
        for n, c in ((2, alice.commit), (3, bob.commit))
    }
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(names=("alice", "bob"), notes=f"{tmp}/notes")
        Path(settings.notes).touch()
        start = git(repo, "merge-base", alice.commit, bob.commit)
        later = deferred.both_changed(pyrepo, start, alice.commit, bob.commit)
        _tree, stages = treemerge._merge_tree(pyrepo, (alice, bob), settings, None, later)
        assert Path(settings.notes).read_text() == "", "the driver merged nothing"
    assert {n: blob for n, (_mode, blob) in stages["sales.ipynb"].items() if n > 1} == real
    assert not list(repo.glob(".git/refs/replace/*")), "the repo got no replace ref"


def test_a_deferred_notebook_merges_and_says_what_it_kept(tmp_path: Path) -> None:
    sides = []
    for collapsed in (True, False):
        nb = notebook.read(NB, "nb")
        nb.cells[1].metadata["collapsed"] = collapsed
        sides.append(notebook.dumps(nb))
    repo, alice, bob = fork(
        tmp_path, {"sales.ipynb": NB}, {"sales.ipynb": sides[0]}, {"sales.ipynb": sides[1]}
    )
    merged = treemerge.merge(pygit2.Repository(str(repo)), [alice, bob], author=AUTHOR)
    expected = notebook.merge(NB, *sides, newer="theirs", ours_name="alice", theirs_name="bob")
    assert merged.commit is not None and expected.notebook is not None
    assert file_at(repo, merged.commit, "sales.ipynb") == expected.notebook
    assert expected.notes, "both changed one value: the merge says whose it kept"
    assert merged.notes == tuple(f"sales.ipynb: {n}" for n in expected.notes)


def appended(data: bytes, source: str) -> bytes:
    doc = json.loads(data)
    doc["cells"].append({**doc["cells"][-1], "source": source, "outputs": []})
    return json.dumps(doc).encode()


@pytest.mark.parametrize("style", ["none", "independent", "positional"])
def test_deferred_merges_keep_every_cell_once_whatever_the_ids(tmp_path: Path, style: str) -> None:
    base = _ids(NB, style, "b")
    ours = _ids(appended(edited(NB, 0, "# alice"), "alice = 1"), style, "a")
    theirs = _ids(edited(NB, 2, "print('bob')"), style, "t")
    repo, alice, bob = fork(
        mkdir(tmp_path / "clean"),
        {"sales.ipynb": base},
        {"sales.ipynb": ours},
        {"sales.ipynb": theirs},
    )
    pyrepo = pygit2.Repository(str(repo))
    start = git(repo, "merge-base", alice.commit, bob.commit)
    assert set(deferred.both_changed(pyrepo, start, alice.commit, bob.commit)) == {"sales.ipynb"}
    merged = treemerge.merge(pyrepo, [alice, bob], author=AUTHOR)
    assert merged.commit is not None, merged.conflicts
    got = sources(file_at(repo, merged.commit, "sales.ipynb"))
    assert got == ["# alice", sources(NB)[1], "print('bob')", "alice = 1"], "each cell once"
    again = _ids(edited(NB, 2, "print('alice')"), style, "a")
    repo, alice, bob = fork(
        mkdir(tmp_path / "collide"),
        {"sales.ipynb": base},
        {"sales.ipynb": again},
        {"sales.ipynb": theirs},
    )
    collided = treemerge.merge(pygit2.Repository(str(repo)), [alice, bob], author=AUTHOR)
    assert collided.commit is None, "the same cell changed twice stops the merge"
    assert any("alice" in c and "bob" in c for c in collided.conflicts), collided.conflicts


def mkdir(path: Path) -> Path:
    path.mkdir()
    return path
