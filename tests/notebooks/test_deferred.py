"""Notebooks both sides changed are merged after git's merge: git reads stand-ins, not them."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from git_nbcollab.commands.merge_driver import merge_driver
from git_nbcollab.notebooks import deferred, notebook, treemerge
from git_nbcollab.notebooks.filemerge import Settings
from git_nbcollab.notebooks.treemerge import Side
from tests.notebooks.test_choices import _ids
from tests.notebooks.test_treemerge import (
    AUTHOR,
    SALES,
    case,
    criss_cross,
    edited,
    file_at,
    fork,
    git,
    sources,
)

NB = SALES.read_bytes()
OTHER = case("same-cell-edited")["base"]  # another notebook
ALICE, BOB = edited(NB, 0, "# alice"), edited(NB, 2, "print('bob')")


def later(repo: Path, alice: Side, bob: Side) -> set[str]:
    """The notebooks the tree merge defers in the merge of alice's and bob's tips."""
    env = treemerge._git_env(repo / ".git", None)
    with tempfile.TemporaryDirectory() as tmp:
        found = treemerge._deferred(pygit2.Repository(str(repo)), (alice, bob), env, Path(tmp))
    return set(found[0])


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        ({"sales.ipynb": ALICE}, {"sales.ipynb": BOB}, {"sales.ipynb"}),
        ({"sales.ipynb": ALICE}, {"notes.txt": b"y\n"}, set()),  # one side only: git reads nothing
        ({"sales.ipynb": ALICE}, {"sales.ipynb": ALICE}, set()),  # the same change
        # renamed on one side, the only path it deleted and added: git pairs them (asked first)
        ({"sales.ipynb": None, "q3.ipynb": ALICE}, {"sales.ipynb": BOB}, {"q3.ipynb"}),
        # not if it deleted or added another path: git compares contents to pair them
        ({"sales.ipynb": None, "q3.ipynb": ALICE, "x.txt": b"x\n"}, {"sales.ipynb": BOB}, set()),
        (
            {"sales.ipynb": None, "q3.ipynb": ALICE},
            {"sales.ipynb": BOB, "q3.ipynb": NB + b" "},
            set(),
        ),
        # a moved copy of the notebook as the base had it (an exact rename) is merged by git
        ({"sales.ipynb": None, "q3.ipynb": NB}, {"sales.ipynb": BOB}, set()),
        # moved and rewritten: git does not pair them (a git of its own is asked first)
        ({"sales.ipynb": None, "q3.ipynb": OTHER}, {"sales.ipynb": BOB}, set()),
        # not a notebook any more
        ({"sales.ipynb": None, "q3.txt": ALICE}, {"sales.ipynb": BOB}, set()),
        # a version also found at another path could be compared as a rename
        ({"sales.ipynb": ALICE, "copy.ipynb": ALICE}, {"sales.ipynb": BOB}, set()),
        ({"new.ipynb": ALICE}, {"new.ipynb": BOB}, {"new.ipynb"}),  # added by both
        # added by both, and a file deleted: git could see a rename in the addition
        ({"new.ipynb": ALICE, "notes.txt": None}, {"new.ipynb": BOB}, set()),
        ({"new.ipynb": ALICE}, {"new.ipynb": BOB, "sales.ipynb": None}, set()),
    ],
)
def test_only_notebooks_git_would_read_just_to_merge_them_are_deferred(
    tmp_path: Path,
    ours: dict[str, bytes | None],
    theirs: dict[str, bytes | None],
    expected: set[str],
) -> None:
    repo, alice, bob = fork(tmp_path, {"sales.ipynb": NB, "notes.txt": b"x\n"}, ours, theirs)
    assert later(repo, alice, bob) == expected


def test_the_driver_describes_what_it_was_handed_and_leaves_it_conflicted(tmp_path: Path) -> None:
    base, ours, theirs = (tmp_path / name for name in ("base", "ours", "theirs"))
    base.write_bytes(b"")  # added by both: git hands over an empty base
    ours.write_bytes(deferred.MARK + b"1" * 40 + b"\n")
    theirs.write_bytes(b'{"cells": []}')  # a real version (git read it): its content's blob
    assert merge_driver(base=base, ours=ours, theirs=theirs, path="x") == 1
    blob = notebook.blob_id(theirs)
    assert ours.read_bytes() == deferred.MARK + f"merge - {'1' * 40} {blob}\n".encode()


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"x y",
        b"- a b",
        "\u00e9 \u00e9 \u00e9".encode("latin-1"),
        b"- %s %s %s" % ((b"1" * 40,) * 3),
    ],
)
def test_a_blob_that_only_starts_as_a_description_is_none(tmp_path: Path, text: bytes) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    crafted = str(repo.create_blob(deferred.MARK + b"merge " + text))
    assert deferred.described(repo, crafted) is None
    real = str(repo.create_blob(deferred.MARK + b"merge - %s %s\n" % (b"1" * 40, b"2" * 40)))
    assert deferred.described(repo, real) == (None, "1" * 40, "2" * 40)


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
        env = treemerge._git_env(repo / ".git", None)
        deferring, criss_cross = treemerge._deferred(pyrepo, (alice, bob), env, Path(tmp))
        _tree, stages = treemerge._merge_tree(
            pyrepo, (alice, bob), settings, None, deferring, criss_cross
        )
        assert Path(settings.notes).read_text() == "", "the driver merged nothing"
    assert {n: blob for n, (_mode, blob) in stages["sales.ipynb"].items() if n > 1} == real
    assert not list(repo.glob(".git/refs/replace/*")), "the repo got no replace ref"


def test_the_scratch_git_dir_swaps_each_version_and_makes_few_folders(tmp_path: Path) -> None:
    """git reads each deferred version as its stand-in there (and the rest as in the repo);
    the folders it holds are only those git needs: each is removed after the merge, at 3 ms a
    folder on a disk mounted with `discard`."""
    repo, alice, bob = fork(
        tmp_path, {"sales.ipynb": NB}, {"sales.ipynb": ALICE}, {"sales.ipynb": BOB}
    )
    versions = {git(repo, "rev-parse", f"{c.commit}:sales.ipynb") for c in (alice, bob)}
    scratch = tmp_path / "scratch.git"
    deferred.scratch_git_dir(scratch, repo / ".git" / "config", {"sales.ipynb": versions})
    env = treemerge._git_env(repo / ".git", None, scratch)
    for blob in versions:
        shown = subprocess.run(["git", "cat-file", "blob", blob], env=env, capture_output=True)
        assert shown.stdout.startswith(deferred.MARK + blob.encode() + b"\n"), shown.stderr
        assert shown.stdout == deferred._stand_in(blob, "sales.ipynb")
    tree = subprocess.run(["git", "cat-file", "-t", f"{bob.commit}^{{tree}}"], env=env)
    assert tree.returncode == 0, "the repo's own objects are read there too"
    folders = {str(p.relative_to(scratch)) for p in scratch.rglob("*") if p.is_dir()}
    loose = {f for f in folders if f.startswith("objects/")}
    assert folders - loose == {"objects", "refs"}
    assert len(loose) <= len(versions), "a folder per stand-in at most"


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
    assert later(repo, alice, bob) == {"sales.ipynb"}
    merged = treemerge.merge(pygit2.Repository(str(repo)), [alice, bob], author=AUTHOR)
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


def collapsed(data: bytes, value: bool) -> bytes:
    """The notebook with cell 1's `collapsed` set: both sides setting it differently is noted."""
    doc = json.loads(data)
    doc["cells"][1]["metadata"]["collapsed"] = value
    return json.dumps(doc).encode()


def _history(tmp_path: Path, case: str, style: str) -> tuple[Path, Side, Side]:
    """A repo and alice's and bob's tips, for each kind of history."""

    def ids(data: bytes, side: str) -> bytes:
        return _ids(data, style, side)

    base = {"sales.ipynb": ids(NB, "b"), "notes.txt": b"x\n"}
    if case.startswith("renamed"):
        return fork(tmp_path, *_renamed(case, ids))
    if case.startswith("both added"):
        clash = case.endswith("collide")
        mine = edited(NB, 2, "print('alice')") if clash else appended(NB, "a = 1")
        ours = ids(collapsed(mine, False), "a")
        theirs = ids(edited(NB, 2, "print('bob')") if clash else collapsed(NB, True), "t")
        return fork(tmp_path, base, {"new.ipynb": ours}, {"new.ipynb": theirs})
    inner = case == "criss-cross, bases collide"
    firsts = (edited(NB, 2, "print('a1')") if inner else ALICE, BOB)
    both = notebook.merge(NB, *firsts, resolve="ours").notebook
    assert both is not None
    outer = case == "criss-cross, tips collide"
    again = (
        collapsed(edited(both, 1 if outer else 0, "# a2"), True),
        collapsed(edited(both, 1 if outer else 2, "print('b2')"), False),
    )
    steps = {
        "base": base,
        "alice 1": {"sales.ipynb": ids(firsts[0], "a")},
        "bob 1": {"sales.ipynb": ids(firsts[1], "t")},
        "merged": {"sales.ipynb": ids(both, "m")},
        "alice 2": {"sales.ipynb": ids(again[0], "a")},
        "bob 2": {"sales.ipynb": ids(again[1], "t")},
    }
    return criss_cross(tmp_path, steps)


def _renamed(
    case: str, ids: Callable[[bytes, str], bytes]
) -> tuple[dict[str, bytes], dict[str, bytes | None], dict[str, bytes | None]]:
    """The first commit's files, alice's and bob's changes, when one or both renamed the
    notebook (both edit it and set `collapsed` differently, which the merge notes); one line a
    value, as notebooks are written, so that git finds versions of one notebook alike."""

    def lines(data: bytes, side: str) -> bytes:
        return json.dumps(json.loads(ids(data, side)), indent=1).encode()

    base = {"sales.ipynb": lines(NB, "b"), "notes.txt": b"x\n"}
    mine = edited(NB, 2, "print('alice')") if case.endswith("collide") else ALICE
    ours, theirs = lines(collapsed(mine, False), "a"), lines(collapsed(BOB, True), "t")
    gone: dict[str, bytes | None] = {"sales.ipynb": None}
    similar = lines(edited(ALICE, 1, "# q4"), "c")  # like both the base and alice's version
    return base, *{
        "renamed by alice": ({**gone, "q3.ipynb": ours}, {"sales.ipynb": theirs}),
        "renamed by alice, collide": ({**gone, "q3.ipynb": ours}, {"sales.ipynb": theirs}),
        "renamed by bob": ({"sales.ipynb": ours}, {**gone, "q3.ipynb": theirs}),
        "renamed by alice, into a folder": (
            {**gone, "2026/sales.ipynb": ours},
            {"sales.ipynb": theirs},
        ),
        "renamed alike by both": ({**gone, "q3.ipynb": ours}, {**gone, "q3.ipynb": theirs}),
        "renamed apart by both": ({**gone, "q3.ipynb": ours}, {**gone, "q4.ipynb": theirs}),
        "renamed by alice, a similar one added": (
            {**gone, "q3.ipynb": ours, "q4.ipynb": similar},
            {"sales.ipynb": theirs},
        ),
        "renamed by alice, deleted by bob": ({**gone, "q3.ipynb": ours}, gone),
        "renamed by alice, bob adds a file": (
            {**gone, "q3.ipynb": ours},
            {"sales.ipynb": theirs, "more.txt": b"z\n", "notes.txt": None},
        ),
    }[case]


def _outcome(repo: Path, merged: treemerge.Merged) -> tuple[str | None, tuple[str, ...], ...]:
    tree = None if merged.commit is None else git(repo, "rev-parse", f"{merged.commit}^{{tree}}")
    return tree, merged.conflicts, merged.notes


CASES = {  # case -> the notebook whose merge is deferred
    "both added": "new.ipynb",
    "both added, collide": "new.ipynb",
    "criss-cross": "sales.ipynb",
    "criss-cross, bases collide": "sales.ipynb",
    "criss-cross, tips collide": "sales.ipynb",
    "renamed by alice": "q3.ipynb",
    "renamed by alice, collide": "q3.ipynb",
    "renamed by bob": "q3.ipynb",
    "renamed by alice, into a folder": "2026/sales.ipynb",  # git pairs the same name first
    "renamed alike by both": "q3.ipynb",
    "renamed by alice, bob adds a file": "q3.ipynb",
    # git merges these itself: one merge written at two paths; a rename git could pair with
    # either of two notebooks; no merge at all (the renamed notebook was deleted)
    "renamed apart by both": None,
    "renamed by alice, a similar one added": None,
    "renamed by alice, deleted by bob": None,
}


@pytest.mark.parametrize("style", ["none", "independent", "positional"])
@pytest.mark.parametrize("case", CASES)
def test_deferred_merges_equal_git_running_the_driver(
    tmp_path: Path, case: str, style: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each kind of history merges the same (tree, conflicts, notes) whether git runs the
    driver on the notebooks (as it still does where a rename is not certain without reading
    the notebooks) or the tree merge merges them after git."""
    repo, alice, bob = _history(tmp_path, case, style)
    deferring = CASES[case]
    assert later(repo, alice, bob) == ({deferring} if deferring else set())
    pyrepo = pygit2.Repository(str(repo))
    new = _outcome(repo, treemerge.merge(pyrepo, [alice, bob], author=AUTHOR))
    monkeypatch.setattr(treemerge, "_deferred", lambda *args: ({}, False))
    old = _outcome(repo, treemerge.merge(pyrepo, [alice, bob], author=AUTHOR))
    assert new == old
    if case.startswith("criss-cross"):
        assert (new[0] is None) == case.endswith("collide"), new
    noted = deferring and not case.endswith("collide")
    assert new[2] or not noted, "both set `collapsed`: the merge says whose won"
    if case.startswith("renamed") and noted:
        assert new[0] is not None, new


def test_a_criss_cross_whose_bases_added_the_notebook_keeps_git_s_whole_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The merge of the two merge bases sees the notebook added by both, with a file deleted
    on a side: git could pair it with the deleted file by content, so git reads it."""
    repo, alice, bob = criss_cross(
        tmp_path,
        {
            "base": {"notes.txt": b"x\n", "old.txt": b"y\n"},
            "alice 1": {"sales.ipynb": ALICE, "old.txt": None},
            "bob 1": {"sales.ipynb": BOB},
            "merged": {"sales.ipynb": ALICE},
            "alice 2": {"sales.ipynb": edited(ALICE, 1, "# a2")},
            "bob 2": {"sales.ipynb": collapsed(ALICE, True)},
        },
    )
    assert later(repo, alice, bob) == set()
    pyrepo = pygit2.Repository(str(repo))
    new = _outcome(repo, treemerge.merge(pyrepo, [alice, bob], author=AUTHOR))
    monkeypatch.setattr(treemerge, "_deferred", lambda *args: ({}, False))
    assert new == _outcome(repo, treemerge.merge(pyrepo, [alice, bob], author=AUTHOR))


def test_a_small_blob_is_written_from_here_and_a_large_one_streamed_by_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = pygit2.init_repository(str(tmp_path / "repo"), bare=True)
    small, large = NB, NB + b" " * deferred.HELD
    blobs = {str(repo.create_blob(data)): data for data in (small, large)}
    env = treemerge._git_env(Path(repo.path), None)
    started: list[tuple[str, ...]] = []
    to_file = deferred.proc.to_file
    monkeypatch.setattr(
        deferred.proc, "to_file", lambda *cmd, **kw: started.append(cmd) or to_file(*cmd, **kw)
    )
    for blob, data in blobs.items():
        assert deferred.streamed(repo, tmp_path, blob, env).read_bytes() == data
    assert [cmd[-1] for cmd in started] == [str(repo.create_blob(large))], "git streams the large"
    assert deferred.streamed(repo, tmp_path, blob, env) == tmp_path / f"blob-{blob}", "once"
    assert len(started) == 1
