"""Colliding cells settled one by one (the JupyterLab conflict panel's rules), on real
notebooks: from a merge that stopped, and from cells plain git left between markers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import choices, filemerge
from tests.box import FIXTURES
from tests.notebooks.test_notebook import validated

SALES = (FIXTURES / "notebooks" / "sales.ipynb").read_bytes()
NAMES = ("alice", "bob")


def edited(index: int, text: str | None) -> bytes:
    """sales.ipynb with one cell's source changed (None: the cell deleted)."""
    doc = json.loads(SALES)
    if text is None:
        del doc["cells"][index]
    else:
        doc["cells"][index]["source"] = text
    return json.dumps(doc).encode()


def cells(data: bytes) -> list[dict[str, Any]]:
    return list(validated(data)["cells"])


def sources(data: bytes) -> list[str]:
    return ["".join(c["source"]) for c in cells(data)]


MINE, THEIRS = edited(2, "print('alice')"), edited(2, "print('bob')")


def test_the_colliding_cell_is_shown_with_both_versions() -> None:
    found = choices.conflict_cells("sales.ipynb", SALES, MINE, THEIRS, NAMES, "theirs")
    assert [c.to_json() for c in found] == [
        {
            "file": "sales.ipynb",
            "cell": 3,
            "index": 2,
            "mine": "print('alice')",
            "theirs": "print('bob')",
            "theirs_author": "bob",
            "kind": "edited",
        }
    ]


@pytest.mark.parametrize(
    ("choice", "want"),
    [
        ("mine", ["print('alice')"]),
        ("theirs", ["print('bob')"]),
        ("both", ["print('alice')", "print('bob')"]),
    ],
)
def test_each_choice_keeps_whole_cells(choice: choices.Choice, want: list[str]) -> None:
    data = choices.apply(SALES, MINE, THEIRS, NAMES, "theirs", {2: choice})
    assert sources(data)[:2] == sources(SALES)[:2] and sources(data)[2:] == want
    kept = cells(data)
    if choice != "both":
        assert kept[2]["id"] == "max", "the cell keeps its id whichever side is kept"
        assert "tags" not in kept[2]["metadata"], "a cell kept alone is not tagged from-"
    else:
        assert [c["metadata"]["tags"] for c in kept[2:]] == [["from-alice"], ["from-bob"]]
        assert len({c["id"] for c in kept}) == len(kept)


@pytest.mark.parametrize(("choice", "kept"), [("mine", False), ("theirs", True), ("both", True)])
def test_a_cell_i_deleted_and_they_edited(choice: choices.Choice, kept: bool) -> None:
    mine = edited(2, None)
    found = choices.conflict_cells("s", SALES, mine, THEIRS, NAMES, "theirs")
    assert [(c.kind, c.mine, c.theirs) for c in found] == [("deleted", "", "print('bob')")]
    data = choices.apply(SALES, mine, THEIRS, NAMES, "theirs", {2: choice})
    assert sources(data)[2:] == (["print('bob')"] if kept else [])


@pytest.mark.parametrize("chosen", [{}, {1: "mine"}, {2: "mine", 1: "theirs"}])
def test_choices_for_other_cells_than_the_colliding_ones_are_refused(
    chosen: dict[int, choices.Choice],
) -> None:
    with pytest.raises(UserError, match="colliding cells are now 3"):
        choices.apply(SALES, MINE, THEIRS, NAMES, "theirs", chosen, "sales.ipynb")


def _left_by_git() -> bytes:
    """What the merge driver leaves for plain git: the cell with both versions in markers."""
    merged = filemerge.merge_file(SALES, MINE, THEIRS, filemerge.Settings())
    assert merged.conflicts
    return merged.data


def test_cells_plain_git_left_between_markers_are_found() -> None:
    found = choices.marked_cells(_left_by_git(), "sales.ipynb")
    assert [(c.index, c.mine, c.theirs, c.theirs_author) for c in found] == [
        (2, "print('alice')", "print('bob')", "theirs")
    ]
    assert choices.marked_cells(SALES, "sales.ipynb") == []


@pytest.mark.parametrize(
    ("choice", "want"),
    [
        ("mine", ["print('alice')"]),
        ("theirs", ["print('bob')"]),
        ("both", ["print('alice')", "print('bob')"]),
    ],
)
def test_cells_between_markers_are_settled_as_chosen(
    choice: choices.Choice, want: list[str]
) -> None:
    data = choices.settle_marked(_left_by_git(), {2: choice}, "sales.ipynb")
    assert sources(data) == sources(SALES)[:2] + want
    assert "<<<<<<<" not in data.decode()
    with pytest.raises(UserError, match="both versions are 3"):
        choices.settle_marked(_left_by_git(), {1: choice}, "sales.ipynb")


def _ids(data: bytes, style: str, side: str) -> bytes:
    """The same notebook with its cell ids as a tool or an older nbformat leaves them: none
    (nbformat 4.4), independent random ids on each side, or positional ids (nbstripout)."""
    doc = json.loads(data)
    for n, cell in enumerate(doc["cells"]):
        if style == "none":
            cell.pop("id", None)
        elif style == "independent":
            cell["id"] = f"{side}-{n}-{abs(hash((side, n))) % 10**8}"
        else:
            cell["id"] = f"cell-{n}"
    if style == "none":
        doc["nbformat_minor"] = 4
    return json.dumps(doc).encode()


@pytest.mark.parametrize("style", ["none", "independent", "positional"])
@pytest.mark.parametrize(
    ("choice", "want"),
    [
        ("mine", ["print('alice')"]),
        ("theirs", ["print('bob')"]),
        ("both", ["print('alice')", "print('bob')"]),
    ],
)
def test_choices_hold_whatever_the_cell_ids(
    style: str, choice: choices.Choice, want: list[str]
) -> None:
    base, mine, theirs = (_ids(d, style, s) for d, s in ((SALES, "b"), (MINE, "a"), (THEIRS, "t")))
    found = choices.conflict_cells("sales.ipynb", base, mine, theirs, NAMES, "theirs")
    assert [(c.index, c.mine, c.theirs) for c in found] == [(2, "print('alice')", "print('bob')")]
    data = choices.apply(base, mine, theirs, NAMES, "theirs", {2: choice})
    assert sources(data) == sources(SALES)[:2] + want, "each cell once, the chosen ones as chosen"


def test_the_same_change_on_both_sides_is_no_collision() -> None:
    assert choices.conflict_cells("sales.ipynb", SALES, MINE, MINE, NAMES, "theirs") == []
