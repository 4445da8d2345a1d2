"""Differential tests of the cell merge against nbdime, on generated realistic notebooks.

Each case is a concurrent edit (what ours and theirs do to one base) and states the right result,
built here from the edits, independently of the merge code: both sides' edits once each,
untouched cells unchanged, ids unique and ours' ids kept, a conflict exactly where both sides
changed one cell differently. Every case runs in the three id variants of `gen.with_ids`. The
same inputs go through nbdime; where the project deliberately differs, the case says why.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from git_nbcollab.notebooks import notebook
from tests.notebooks import gen

Cells = list[gen.Cell]
AGREES = "agrees"
BY_ID = "nbdime pairs cells by id: with each side's own random ids no cell is the same cell"


def differs(reason: str, *variants: str) -> dict[str, str]:
    return dict.fromkeys(variants or gen.VARIANTS, reason)


@dataclass(frozen=True)
class Case:
    """`edit` returns ours' and theirs' cells from a copy of the base cells; `expected` is the
    merged cells, or the conflicts as (1-based cell number, kind)."""

    name: str
    edit: Callable[[Cells, random.Random], tuple[Cells, Cells]]
    expected: Callable[[Cells, Cells, Cells], Cells] | list[tuple[int, str]]
    nbdime: dict[str, str] = field(default_factory=dict)  # variant: why the project differs
    notes: tuple[str, ...] = ()  # what the notes say (none when empty)
    options: dict[str, Any] = field(default_factory=dict)
    no_base: bool = False
    moved_by_theirs: bool = False  # a cell theirs moved is theirs' insert, with theirs' id


def src(cell: gen.Cell, text: str) -> gen.Cell:
    return {**cell, "source": text}


def append(cell: gen.Cell, line: str) -> gen.Cell:
    return src(cell, cell["source"] + "\n" + line)


def meta(cell: gen.Cell, **changes: Any) -> gen.Cell:
    return {**cell, "metadata": {**cell["metadata"], **changes}}


def replaced(cells: Cells, **at: gen.Cell) -> Cells:
    out = list(cells)
    for key, cell in at.items():
        out[int(key.removeprefix("c"))] = cell
    return out


def swapped(cells: Cells, i: int) -> Cells:
    out = list(cells)
    out[i], out[i + 1] = out[i + 1], out[i]
    return out


NOTE = gen.markdown("## Note\n\nThe week 3 numbers were re-entered by hand.")
FIX = "revenue = load('revenue.csv', parse_dates=['week'])"


def _rerun_all(cells: Cells, rng: random.Random) -> Cells:
    return [
        gen.run(c, 100 + i, rng) if c["cell_type"] == "code" else c for i, c in enumerate(cells)
    ]


CASES = [
    Case(
        "different-cells-edited",
        lambda b, rng: (
            replaced(b, c1=append(b[1], "# checked")),
            replaced(b, c5=gen.run(append(b[5], "# by region"), 50, rng)),
        ),
        lambda b, o, t: replaced(b, c1=o[1], c5=t[5]),
        nbdime=differs(BY_ID, "random"),
    ),
    Case(  # item 1: each side sees the other's rewrite as delete + add
        "same-cell-rewritten",
        lambda b, rng: (
            replaced(b, c2=src(b[2], "total = sum(x for x in rows)")),
            replaced(b, c2=src(b[2], "import numpy as np\nnp.mean(rows)")),
        ),
        [(3, "edited")],
    ),
    Case(
        "same-cell-edited",
        lambda b, rng: (
            replaced(b, c2=append(b[2], "print('ours')")),
            replaced(b, c2=append(b[2], "print('theirs')")),
        ),
        [(3, "edited")],
    ),
    Case(  # item 2: the same rewrite on both sides is one change
        "same-rewrite-both",
        lambda b, rng: (replaced(b, c6=src(b[6], FIX)), replaced(b, c6=src(b[6], FIX))),
        lambda b, o, t: replaced(b, c6=o[6]),
        nbdime=differs(BY_ID, "random"),
    ),
    Case(
        "same-line-fix-both",
        lambda b, rng: (
            replaced(b, c5=src(b[5], b[5]["source"].replace("sum()", "mean()"))),
            replaced(b, c5=src(b[5], b[5]["source"].replace("sum()", "mean()"))),
        ),
        lambda b, o, t: replaced(b, c5=o[5]),
        nbdime=differs(BY_ID, "random"),
    ),
    Case(  # item 2: both add the same cell
        "both-add-same-cell",
        lambda b, rng: ([*b[:4], NOTE, *b[4:]], [*b[:4], NOTE, *b[4:]]),
        lambda b, o, t: [*b[:4], NOTE, *b[4:]],
        nbdime=differs(BY_ID, "random")
        | differs("nbdime keeps the cell twice: each side's JupyterLab gave it an id", "stable"),
    ),
    Case(
        "both-append-different",
        lambda b, rng: (
            [*b, gen.run(gen.code("forecast(rows)", [], None), 20, rng)],
            [*b, gen.markdown("## Next\n\nAsk finance about week 7.")],
        ),
        lambda b, o, t: [*b, o[-1], t[-1]],
        nbdime=differs(
            "nbdime calls two inserts at one place a conflict (with positional ids it"
            " fails: 'cell types cannot differ'); both cells are kept, ours first"
        ),
    ),
    Case(  # item 6: the newer run wins, even when the source edit is a rewrite
        "rewrite-vs-rerun",
        lambda b, rng: (
            replaced(b, c7=src(b[7], "summary = describe(rows)")),
            replaced(b, c7=gen.run(b[7], 70, rng)),
        ),
        lambda b, o, t: replaced(b, c7={**t[7], "source": o[7]["source"]}),
        nbdime=differs(
            "nbdime drops theirs' newer run under ours' rewrite: the newer run wins",
            "none",
            "random",
        ),
    ),
    Case(
        "delete-vs-edit",
        lambda b, rng: ([*b[:5], *b[6:]], replaced(b, c5=append(b[5], "# keep this"))),
        [(6, "deleted")],
    ),
    Case(
        "delete-and-edit-elsewhere",
        lambda b, rng: ([*b[:6], *b[7:]], replaced(b, c2=append(b[2], "# theirs"))),
        lambda b, o, t: [*b[:2], t[2], *b[3:6], *b[7:]],
        nbdime=differs(BY_ID, "random"),
    ),
    Case(  # item 7: lists merge as sets
        "tags-added-both",
        lambda b, rng: (
            replaced(b, c1=meta(b[1], tags=["ours-tag"])),
            replaced(b, c1=meta(b[1], tags=["theirs-tag"])),
        ),
        lambda b, o, t: replaced(b, c1=meta(b[1], tags=["ours-tag", "theirs-tag"])),
        nbdime=differs(
            "nbdime's inline strategy marks the tag lists a conflict; lists merge as sets"
        ),
    ),
    Case(  # item 7: anything else dropped is named
        "metadata-key-both",
        lambda b, rng: (
            replaced(b, c2=meta(b[2], collapsed=True)),
            replaced(b, c2=meta(b[2], collapsed=False)),
        ),
        lambda b, o, t: replaced(b, c2=t[2]),
        nbdime=differs(
            "nbdime marks the key a conflict; here the newer side wins and a note says so"
        ),
        notes=("cell 3", "'collapsed' changed by both; kept theirs'"),
    ),
    Case(  # both sides move different cells: both moves are kept (by content: delete + insert)
        "both-move-cells",
        lambda b, rng: (swapped(b, 1), swapped(b, 5)),
        lambda b, o, t: swapped(swapped(b, 1), 5),
        nbdime=differs(BY_ID, "random"),
        moved_by_theirs=True,
    ),
    Case(  # item 5: the same notebook added on both sides with no common version; theirs ran it
        "both-add-notebook-no-base",
        lambda b, rng: (b, _rerun_all(b, rng)),
        lambda b, o, t: t,
        nbdime=differs("nbdime with an empty base sees every cell added twice: a conflict"),
        no_base=True,
    ),
]


def _normal(cells: Cells) -> Cells:
    """Cells without ids, as nbformat writes them (multi-line strings joined)."""
    doc = {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": copy.deepcopy(cells)}
    for cell in doc["cells"]:
        cell.pop("id", None)
    text = notebook.dumps(notebook._nbformat().from_dict(doc))
    return list(json.loads(text)["cells"])


def _inputs(case: Case, variant: str, seed: int) -> tuple[gen.Notebook, ...]:
    rng = random.Random(seed)
    base = gen.notebook(seed)
    if variant == "stable":
        base = gen.with_ids(base, variant, rng, is_base=True)
    ours_cells, theirs_cells = case.edit(copy.deepcopy(base["cells"]), rng)
    sides = [{**base, "cells": c} for c in (ours_cells, theirs_cells)]
    made = [gen.with_ids(nb, variant, rng, is_base=i == 0) for i, nb in enumerate([base, *sides])]
    if variant == "random":  # as JupyterLab saves: each side's ids are its own
        made[1:] = [gen.with_ids(nb, variant, random.Random(seed + k), is_base=False)
                    for k, nb in enumerate(sides, 1)]  # fmt: skip
    return tuple(made)


def _bytes(nb: gen.Notebook) -> bytes:
    return notebook.dumps(notebook._nbformat().from_dict(nb))


def _nbdime(base: gen.Notebook | None, ours: gen.Notebook, theirs: gen.Notebook) -> Any:
    notebook._nbformat()
    from nbdime import merge_notebooks
    from nbdime.nbmergeapp import _build_arg_parser

    empty = {"nbformat": 4, "nbformat_minor": ours["nbformat_minor"], "metadata": {}, "cells": []}
    args = _build_arg_parser().parse_args(["", "", ""])
    sides = [
        notebook._nbformat().from_dict(copy.deepcopy(nb)) for nb in (base or empty, ours, theirs)
    ]
    try:
        merged, decisions = merge_notebooks(*sides, args)
    except AssertionError:  # nbdime 4.0.4 on same ids with different cell types
        return None, True
    return merged, any(d.conflict for d in decisions)


def _check_ids(merged: gen.Notebook, ours: gen.Notebook, variant: str, moved: bool) -> None:
    ids = [c.get("id") for c in merged["cells"]]
    if variant == "none":
        assert ids == [None] * len(ids), "no ids in, no ids out"
        return
    assert all(isinstance(i, str) for i in ids), "every cell has an id (nbformat 4.5)"
    assert len(set(ids)) == len(ids), f"ids are unique: {ids}"
    ours_by_body = {json.dumps(_normal([c])): c["id"] for c in ours["cells"]}
    for cell in merged["cells"]:
        body = json.dumps(_normal([cell]))
        if body in ours_by_body and not moved:
            assert cell["id"] == ours_by_body[body], "a cell kept as ours keeps ours' id"


@pytest.mark.parametrize("variant", gen.VARIANTS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_merge_against_the_stated_result_and_nbdime(case: Case, variant: str) -> None:
    base, ours, theirs = _inputs(case, variant, seed=len(case.name))
    given_base = None if case.no_base else base
    result = notebook.merge(
        None if given_base is None else _bytes(given_base), _bytes(ours), _bytes(theirs),
        ours_name="ours", theirs_name="theirs", **case.options,
    )  # fmt: skip
    nbdime_merged, nbdime_conflict = _nbdime(given_base, ours, theirs)
    if isinstance(case.expected, list):
        got = [(c.index + 1, c.kind) for c in result.conflicts]
        assert got == case.expected, f"conflicts exactly where both changed one cell: {result}"
        assert result.notebook is None, "no notebook while a conflict remains"
        assert nbdime_conflict, "nbdime also calls it a conflict"
        return
    assert result.conflicts == (), f"a clean merge: {[str(c) for c in result.conflicts]}"
    assert result.notebook is not None
    merged = json.loads(result.notebook)
    notebook._nbformat().validate(notebook._nbformat().from_dict(merged))
    notes = case.notes
    want = _normal(case.expected(base["cells"], ours["cells"], theirs["cells"]))
    assert _normal(merged["cells"]) == want, "each side's edits once, other cells unchanged"
    _check_ids(merged, ours, variant, case.moved_by_theirs and variant != "stable")
    said = "\n".join(result.notes)
    assert all(words in said for words in notes), f"notes {result.notes} name the loss"
    assert bool(said) == bool(notes), f"notes only where something was dropped: {said!r}"
    agrees = nbdime_merged is not None and not nbdime_conflict
    agrees = agrees and _normal(nbdime_merged["cells"]) == want
    reason = case.nbdime.get(variant, AGREES)
    if reason == AGREES:
        assert agrees, "nbdime merges this the same way"
    else:
        assert not agrees, f"stated difference from nbdime no longer holds: {reason}"
