"""The cell merge against nbdime on nbdime's own test notebooks (nbdime/tests/files in its wheel).

The triplets are those nbdime's own suite merges: each base `X` with every pair of its variants
`X--a`, `X--b` (its `matching_nb_triplets`), and the three-way sets `X--1/2/3`,
`cellids--base/local/remote`, `multilevel-test-*`. For each, the right result: the same
conflict verdict as nbdime and, when both are clean, the same cells (type and source), except
where the project deliberately differs (`DIFFERS` says why); a side that changed nothing gives
the other side's bytes, and the same change on both sides comes out once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import notebook


def _files() -> Path:
    notebook._nbformat()
    import nbdime

    return Path(nbdime.__file__).parent / "tests" / "files"


FILES = _files()
NAMES = sorted(p.stem for p in FILES.glob("*.ipynb"))


def _triplets() -> list[tuple[str, str, str]]:
    groups: dict[str, list[str]] = {}
    for name in NAMES:
        match = re.match(r"^(.*)--(.*)$", name)
        if match:
            groups.setdefault(match.group(1), []).append(name)
    found = [
        (base, names[i], names[j])
        for base, names in sorted(groups.items())
        if base in NAMES
        for i in range(len(names))
        for j in range(i, len(names))
    ]
    for x in ("inline-conflict", "source-conflict", "output-conflict", "mixed-conflicts"):
        found.append((f"{x}--1", f"{x}--2", f"{x}--3"))
    found.append(("cellids--base", "cellids--local", "cellids--remote"))
    found.append(("multilevel-test-base", "multilevel-test-local", "multilevel-test-remote"))
    return found


TRIPLETS = _triplets()
OUTPUTS = "both sides changed the outputs: nbdime conflicts; here the newer run wins"
DIFFERS = {
    ("apap", "apap--1", "apap--2"): "two cells inserted at one place: nbdime conflicts;"
    " both are kept here, ours first",
    ("cellids--base", "cellids--local", "cellids--remote"): "the base is nbformat 4.5 with a"
    " cell without id, which nbformat refuses: a one-line error here (Jupyter would repair it)",
    **{
        ("single_cell_nb", f"single_cell_nb--{a}", f"single_cell_nb--{b}"): OUTPUTS
        for a, b in [
            ("changed_output", "json_output"),
            ("changed_output", "json_output_changed"),
            ("changed_source_output", "json_output"),
            ("changed_source_output", "json_output_changed"),
            ("changed_source_output_ec", "json_output"),
            ("changed_source_output_ec", "json_output_changed"),
            ("json_output", "json_output_changed"),
        ]
    },
}


def _read(name: str) -> bytes:
    return (FILES / f"{name}.ipynb").read_bytes()


def _nbdime(base: bytes, ours: bytes, theirs: bytes) -> tuple[list[tuple[str, str]], bool]:
    nbformat = notebook._nbformat()
    from nbdime import merge_notebooks
    from nbdime.nbmergeapp import _build_arg_parser

    args = _build_arg_parser().parse_args(["", "", ""])
    sides = [nbformat.reads(data.decode(), as_version=4) for data in (base, ours, theirs)]
    merged, decisions = merge_notebooks(*sides, args)
    return [(c.cell_type, c.source) for c in merged.cells], any(d.conflict for d in decisions)


def test_the_nbdime_cases_are_there() -> None:
    assert len(TRIPLETS) >= 60, f"nbdime's test notebooks were found: {len(TRIPLETS)} triplets"


@pytest.mark.parametrize("names", TRIPLETS, ids=["+".join(t) for t in TRIPLETS])
def test_merge_agrees_with_nbdime_or_says_why(names: tuple[str, str, str]) -> None:
    base, ours, theirs = (_read(n) for n in names)
    nbdime_cells, nbdime_conflict = _nbdime(base, ours, theirs)
    try:
        result = notebook.merge(base, ours, theirs)
    except UserError as e:
        assert names in DIFFERS and "\n" not in str(e), f"refused: {e}"
        return
    conflict = bool(result.conflicts)
    cells = None
    if result.notebook is not None:
        cells = [(c.cell_type, c.source) for c in notebook.read(result.notebook, "merged").cells]
    agrees = conflict == nbdime_conflict and (conflict or cells == nbdime_cells)
    if names in DIFFERS:
        assert not agrees, f"stated difference from nbdime no longer holds: {DIFFERS[names]}"
    else:
        assert agrees, f"same verdict and cells as nbdime: {[str(c) for c in result.conflicts]}"


@pytest.mark.parametrize("name", [n for n in NAMES if n != "cellids--base"])
def test_unchanged_side_and_same_change_twice(name: str) -> None:
    data = _read(name)
    other = _read("multi_cell_nb")
    assert notebook.merge(other, other, data).notebook == data, "ours unchanged: theirs' bytes"
    assert notebook.merge(other, data, other).notebook == data, "theirs unchanged: ours' bytes"
    twice = notebook.merge(other, data, data)
    assert twice.conflicts == (), "the same change on both sides is one change"
    assert twice.notebook is not None
    assert notebook.read(twice.notebook, "x") == notebook.read(data, "x"), "and comes out once"
