"""A JupyterLab tab opened before a sync, saved over the merged file ("Overwrite"): sync keeps
the user's edits and the teammates' cells, as real users over the real sshd, for notebooks
without cell ids, with independent random ids on each side, and with positional ids."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

from git_nbcollab.client import savedover
from git_nbcollab.notebooks import notebook
from tests.box import Box

CELLS = [
    ("markdown", "# Weekly sales"),
    ("code", "import statistics\nsales = [120, 80, 143]"),
    ("code", "statistics.mean(sales)"),
    ("code", "print(max(sales))"),
]
IDS = ("none", "random", "positional")


def _doc(cells: list[tuple[str, str]], ids: str, old: list[str | None] | None = None) -> bytes:
    """A notebook as a JupyterLab tab saves it. `ids`: none (nbformat 4.4), random (each tab
    gives a cell a random id once, then keeps it through edits: `old` holds the ids the tab's
    cells had), or positional (ids are the cells' positions, as some cleaning tools write)."""
    doc: dict[str, object] = {
        "nbformat": 4,
        "nbformat_minor": 4 if ids == "none" else 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [],
    }
    for i, (kind, source) in enumerate(cells):
        cell: dict[str, object] = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell |= {"execution_count": None, "outputs": []}
        if ids == "random":
            kept = old[i] if old and i < len(old) else None
            cell["id"] = kept or secrets.token_hex(4)
        elif ids == "positional":
            cell["id"] = f"cell-{i}"
        doc["cells"].append(cell)  # type: ignore[attr-defined]
    return notebook.dumps(notebook.read(json.dumps(doc).encode(), "test notebook"))


def _save(path: Path, cells: list[tuple[str, str]], ids: str, tab: bytes | None = None) -> None:
    """Save `cells` over `path` as its owner's JupyterLab tab would; the tab holds the file as
    it was when opened (`tab`, default the file on disk) and keeps its cells' ids."""
    held = tab if tab is not None else path.read_bytes()
    old = [c.get("id") for c in notebook.read(held, str(path)).cells]
    owner = path.stat()
    path.write_bytes(_doc(cells, ids, old))
    os.chown(path, owner.st_uid, owner.st_gid)


def _cells(path: Path) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in notebook.read(path.read_bytes(), str(path)).cells]


def _pair(box: Box, name: str, ids: str) -> tuple[Path, Path]:
    box.put("alice", _doc(CELLS, ids), f"{name}.ipynb")
    names = box.user("bob")
    assert box.run("alice", "git", "nbshare", names, f"{name}.ipynb").returncode == 0
    assert (
        box.run("bob", "git", "nbcollab", "clone", f"{box.user('alice')},{names}:{name}").returncode
        == 0
    )
    return (
        box.home("alice") / "notebooks" / name / f"{name}.ipynb",
        box.home("bob") / "notebooks" / name / f"{name}.ipynb",
    )


BOBS = {1: "import statistics\nsales = [120, 80, 143, 99]", 2: "statistics.fmean(sales)"}


def _stale_tab(
    box: Box, name: str, ids: str, bob_cells: tuple[int, ...] = (1,)
) -> tuple[Path, list[tuple[str, str]]]:
    """bob changes cell 2 (index 1; or those given) and syncs; alice, who saved an edit to
    cell 1, syncs from the terminal; her tab still holds her pre-sync file, and she saves it
    with another edit. Returns alice's notebook and the cells her tab saved."""
    alice_nb, bob_nb = _pair(box, name, ids)
    bobs = [*CELLS]
    for index in bob_cells:
        bobs[index] = ("code", BOBS[index])
    _save(bob_nb, bobs, ids)
    assert box.run("bob", "git", "nbcollab", "sync", cwd=bob_nb.parent).returncode == 0
    tab = [*CELLS]
    tab[0] = ("markdown", "# Weekly sales, by alice")
    _save(alice_nb, tab, ids)
    opened = alice_nb.read_bytes()
    synced = box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent)
    assert synced.returncode == 0, synced.stderr
    assert _cells(alice_nb)[1] == bobs[1], "the sync brought bob's cell into the file"
    tab[3] = ("code", "print(max(sales), min(sales))")  # her unsaved edit, then Ctrl+S, Overwrite
    _save(alice_nb, tab, ids, opened)
    return alice_nb, tab


@pytest.mark.parametrize("ids", IDS)
def test_a_save_from_a_stale_tab_keeps_her_edits_and_bobs_cells(box: Box, ids: str) -> None:
    name = f"stale-{ids}"
    alice_nb, tab = _stale_tab(box, name, ids)
    done = box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent)
    assert done.returncode == 0, done.stderr
    assert (
        f"{name}.ipynb was saved from a tab opened before the last sync: kept your edits and"
        f" {box.user('bob')}'s cell 2" in done.stdout
    ), done.stdout
    expected = [tab[0], ("code", "import statistics\nsales = [120, 80, 143, 99]"), tab[2], tab[3]]
    assert _cells(alice_nb) == expected, "her edits, and bob's cell as bob left it"
    pushed = box.git(
        "alice", "show", f"origin/u/{box.user('alice')}/main:{name}.ipynb", cwd=alice_nb.parent
    )
    assert [
        (c.cell_type, c.source) for c in notebook.read(pushed.stdout.encode(), "pushed").cells
    ] == expected


def test_take_saved_commits_the_stale_file_as_saved(box: Box) -> None:
    alice_nb, tab = _stale_tab(box, "stale-take", "random")
    done = box.run("alice", "git", "nbcollab", "sync", "--take-saved", cwd=alice_nb.parent)
    assert done.returncode == 0, done.stderr
    assert "saved from a tab" not in done.stdout
    assert _cells(alice_nb) == tab, "committed exactly as saved: bob's cell as it was before"


def test_a_stale_tab_that_edited_bobs_cell_too_is_a_conflict_and_changes_nothing(
    box: Box,
) -> None:
    """bob changed cells 2 and 3; her stale tab puts cell 3 back and has her own edit of 2."""
    alice_nb, tab = _stale_tab(box, "stale-clash", "random", bob_cells=(1, 2))
    tab[1] = ("code", "import statistics\nsales = [1, 2, 3]")
    _save(alice_nb, tab, "random")
    before = box.snapshot()
    done = box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent)
    assert done.returncode == 1, done.stdout
    assert "sync stopped" in done.stderr and "--take-saved" in done.stderr
    assert box.user("bob") in done.stderr and "your saved file" in done.stderr, done.stderr
    fetch_record = str(alice_nb.parent / ".git" / "FETCH_HEAD")  # git's own note of the fetch
    assert set(box.changes(before)) <= {fetch_record}, "no commit, index, file or ref moved"


def test_edits_after_the_sync_in_a_fresh_tab_are_committed_as_they_are(box: Box) -> None:
    alice_nb, _ = _stale_tab(box, "stale-fresh", "positional")
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent).returncode == 0
    fresh = _cells(alice_nb)
    fresh[1] = ("code", "import statistics\nsales = [1, 2]")  # bob's cell, edited since
    _save(alice_nb, fresh, "positional")
    done = box.run("alice", "git", "nbcollab", "sync", cwd=alice_nb.parent)
    assert done.returncode == 0 and "saved from a tab" not in done.stdout, done.stdout
    assert _cells(alice_nb) == fresh


ONE = (["a", "b0", "c"], ["a", "b1", "c"])  # before the merge, merged: bob changed b
TWO = (["a", "b0", "c0", "d"], ["a", "b1", "c1", "d"])  # bob changed b and c


@pytest.mark.parametrize(
    ("case", "saved", "expected"),
    [
        (ONE, ["a", "b0", "c"], [2]),  # bob's b1 put back to b0: stale
        (ONE, ["a2", "b0", "c", "d"], [2]),  # ... with her own edits elsewhere: stale
        (ONE, ["a", "b1", "c"], []),  # the merged file: not stale
        (ONE, ["a", "bx", "c"], []),  # she edited his cell after the sync: her edit
        (ONE, ["a", "c"], []),  # she deleted his cell after the sync: her edit
        (TWO, ["a", "b0", "c0", "d"], [2, 3]),  # both his cells put back
        (TWO, ["a", "bx", "c0", "d"], [2, 3]),  # one put back, one edited: stale (merge says)
        (TWO, ["a", "bx", "cx", "d"], []),  # both edited since: her edits
        (TWO, ["a", "b1", "c0", "d"], []),  # one of his cells is there: not stale
    ],
)
def test_stale_cells(
    case: tuple[list[str], list[str]], saved: list[str], expected: list[int]
) -> None:
    def nb(sources: list[str]) -> bytes:
        return _doc([("code", s) for s in sources], "none")

    before, merged = case
    assert savedover.stale_cells(nb(before), nb(merged), nb(saved), "x") == expected
