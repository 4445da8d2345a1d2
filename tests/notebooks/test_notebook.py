"""Tests for git_nbcollab.notebooks.notebook: reading, writing and merging real notebook files.

The merge table is fixtures/merge/<case>/: base.ipynb (absent: both sides added the file),
ours.ipynb, theirs.ipynb, optional options.json (keyword arguments of `merge`), and either
expected.ipynb or conflict.json. In expected.ipynb a cell id "fresh" stands for a new id that
no input uses. Every notebook read or written here is validated with nbformat.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import cellmerge, notebook
from tests.box import FIXTURES

NOTEBOOKS = sorted((FIXTURES / "notebooks").glob("*.ipynb"))
CASES = sorted(p for p in (FIXTURES / "merge").iterdir() if p.is_dir())
FRESH = "fresh"


def validated(data: bytes) -> dict[str, Any]:
    """The notebook as a dict, after nbformat says it is a valid v4 notebook."""
    nbformat = notebook._nbformat()
    doc: dict[str, Any] = json.loads(data)
    nbformat.validate(nbformat.from_dict(doc))
    return doc


def fixture(path: Path) -> bytes:
    data = path.read_bytes()
    validated(data)
    return data


def ids(doc: dict[str, Any]) -> list[str]:
    return [c.get("id") for c in doc["cells"]]


def check_fresh_ids(merged: dict[str, Any], expected: dict[str, Any], inputs: list[bytes]) -> None:
    """Where expected has id "fresh", the merge must have made a new id; then compare as equal."""
    used = {i for data in inputs for i in ids(json.loads(data))}
    for got, want in zip(merged["cells"], expected["cells"], strict=False):
        if want.get("id") == FRESH:
            assert got["id"] not in used, f"cell kept twice must get a new id, got {got['id']!r}"
            want["id"] = got["id"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_merge_case(case: Path) -> None:
    base = fixture(case / "base.ipynb") if (case / "base.ipynb").exists() else None
    ours, theirs = fixture(case / "ours.ipynb"), fixture(case / "theirs.ipynb")
    options = (
        json.loads((case / "options.json").read_text()) if (case / "options.json").exists() else {}
    )

    result = notebook.merge(base, ours, theirs, **options)

    if (case / "conflict.json").exists():
        expected_conflicts = json.loads((case / "conflict.json").read_text())["conflicts"]
        assert result.notebook is None, "a merge with conflicts must not produce a notebook"
        got = [asdict(c) | {"sides": list(c.sides)} for c in result.conflicts]
        assert got == expected_conflicts, "conflicting cells, their sides and kind"
        for c in result.conflicts:
            assert "\n" not in str(c) and c.sides[0] in str(c), f"one readable line: {c}"
        return
    assert result.conflicts == (), (
        f"expected a clean merge, got {[str(c) for c in result.conflicts]}"
    )
    assert result.notebook is not None, "a clean merge produces a notebook"
    merged = validated(result.notebook)
    expected_bytes = fixture(case / "expected.ipynb")
    expected = json.loads(expected_bytes)
    check_fresh_ids(merged, expected, [ours, theirs, base or b'{"cells": []}'])
    assert ids(merged) == ids(expected), "cell order and cell ids"
    assert merged == expected, "merged notebook equals expected.ipynb"
    if FRESH not in ids(json.loads(expected_bytes)):
        assert result.notebook == expected_bytes, "written as Jupyter writes, byte for byte"


def test_merge_table_covers_each_rule() -> None:
    names = {c.name for c in CASES}
    for case in ("different-cells-edited", "same-cell-edited", "same-cell-resolve-both",
                 "both-appending", "delete-vs-edit", "outputs-newer-ours", "outputs-newer-theirs",
                 "metadata-changes", "cells-moved-and-edited"):  # fmt: skip
        assert case in names, f"fixtures/merge/{case} is missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_read_dumps_round_trip_is_byte_identical(path: Path) -> None:
    data = fixture(path)
    nb = notebook.read(data, path.name)
    out = notebook.dumps(nb)
    validated(out)
    assert out == data, "dumps(read(file)) reproduces a Jupyter-written file byte for byte"


def test_merge_unchanged_sides_returns_the_base() -> None:
    data = fixture(FIXTURES / "notebooks" / "analysis.ipynb")
    result = notebook.merge(data, data, data)
    assert result.conflicts == () and result.notebook == data, "nothing changed, nothing moves"


def test_merge_of_one_sided_change_is_that_side() -> None:
    case = FIXTURES / "merge" / "different-cells-edited"
    base, theirs = fixture(case / "base.ipynb"), fixture(case / "theirs.ipynb")
    assert notebook.merge(base, base, theirs).notebook == theirs, "only theirs changed: theirs"
    assert notebook.merge(base, theirs, base).notebook == theirs, "only ours changed: ours"


VALID = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
BAD_INPUTS = {
    "empty file": b"",
    "whitespace only": b"\n  \n",
    "not JSON": b"{ this is not json",
    "not UTF-8": b"\xff\xfe{}",
    "JSON list": b"[1, 2, 3]",
    "JSON object, not a notebook": b'{"name": "x"}',
    "nbformat 3": b'{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}',
    "cells not a list": VALID.replace("[]", "3").encode(),
    "missing metadata": b'{"nbformat": 4, "nbformat_minor": 5, "cells": []}',
    "cell missing id": VALID.replace(
        "[]", '[{"cell_type": "raw", "source": "", "metadata": {}}]'
    ).encode(),
    "bad output": VALID.replace(
        "[]",
        '[{"cell_type": "code", "source": "", "metadata": {}, "id": "a", "execution_count": null,'
        ' "outputs": [{"output_type": "stream", "name": "stdout"}]}]',
    ).encode(),
}
RAW_CELL = {"cell_type": "raw", "source": "", "metadata": {}, "id": "a"}
BAD_INPUTS["duplicate cell ids"] = json.dumps(
    json.loads(VALID) | {"cells": [RAW_CELL] * 2}
).encode()


@pytest.mark.parametrize("data", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_read_bad_input_is_one_line_user_error(data: bytes) -> None:
    with pytest.raises(UserError) as err:
        notebook.read(data, "alice.ipynb")
    message = str(err.value)
    assert message.startswith("alice.ipynb is not a valid notebook: "), message
    assert "\n" not in message and len(message) < 250, f"one short line: {message!r}"


def test_read_valid_minimal_notebook() -> None:
    nb = notebook.read(VALID.encode(), "x")
    assert nb.cells == [] and nb.nbformat == 4, "a minimal valid notebook reads"


def test_merge_names_the_invalid_side() -> None:
    data = fixture(FIXTURES / "notebooks" / "analysis.ipynb")
    with pytest.raises(UserError, match=r"^bob is not a valid notebook: not JSON"):
        notebook.merge(data, data, b"<<<<<<< HEAD", theirs_name="bob")


def test_merge_refuses_an_invalid_result(monkeypatch: pytest.MonkeyPatch) -> None:
    case = FIXTURES / "merge" / "different-cells-edited"
    base, ours, theirs = (fixture(case / f"{n}.ipynb") for n in ("base", "ours", "theirs"))
    invalid = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "x"}]}
    outcome = cellmerge.Merged([], (), ())
    monkeypatch.setattr(notebook, "merge_notebooks", lambda *args: (invalid, outcome))
    with pytest.raises(UserError, match=r"^refusing to write the merge: the merged result is not"):
        notebook.merge(base, ours, theirs)


def test_conflict_str_is_one_readable_line() -> None:
    c = notebook.Conflict(3, "import pandas as pd", ("alice", "bob"), "deleted", "1a2b")
    assert str(c) == "cell 4 ('import pandas as pd', id 1a2b): edited by alice but deleted by bob"
    c = notebook.Conflict(0, "x = 1", ("alice", "bob"))
    assert str(c) == "cell 1 ('x = 1'): edited differently by alice and bob", "counted from 1"


def test_import_is_cheap() -> None:
    code = (
        "import sys, git_nbcollab.notebooks.notebook\n"
        "print(sorted({'nbformat', 'nbdime'} & {*sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert out.stdout.strip() == "[]", "importing the module must not import nbformat or nbdime"


def test_dumps_matches_nbformat_writer_with_large_payloads() -> None:
    png = base64.b64encode(b"\x89PNG" + bytes(range(256)) * 40).decode()
    lookalike = "\0" + "ab" * 16 + "-0"  # what dumps uses as a token, in a real cell
    doc = json.loads(VALID)
    doc["cells"] = [
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1,
         "source": f"print({lookalike!r})\nshow()",
         "outputs": [
            {"output_type": "stream", "name": "stdout", "text": lookalike + "\n\\u0000x\n"},
            {"output_type": "display_data", "metadata": {},
             "data": {"image/png": png, "image/svg+xml": "<svg>\n</svg>\n",
                      "text/plain": "<Figure>\nsize"}},
         ]},
    ]  # fmt: skip
    data = json.dumps(doc).encode()
    nb = notebook.read(data, "big")
    expected = (notebook._nbformat().v4.writes(nb) + "\n").encode()
    out = notebook.dumps(nb)
    validated(out)
    assert out == expected, "dumps writes exactly what nbformat's writer does"
    assert notebook.read(out, "again") == nb, "and reads back to the same notebook"


def _with_source(data: bytes, index: int, source: str) -> bytes:
    doc = json.loads(data)
    doc["cells"][index]["source"] = source
    return json.dumps(doc).encode()


def test_both_added_same_cells_with_same_ids() -> None:
    data = fixture(FIXTURES / "notebooks" / "cleaning.ipynb")
    same = notebook.merge(None, data, data)
    assert same.notebook == data, "both added the same notebook: it is kept once"
    ours, theirs = _with_source(data, 3, "parse(rows[0])"), _with_source(data, 3, "parse(rows[1])")
    result = notebook.merge(None, ours, theirs)
    want = [notebook.Conflict(3, "parse(rows[0])", ("ours", "theirs"), "edited", "clean-03")]
    assert list(result.conflicts) == want, "same cell id added with two sources conflicts"


def test_old_base_and_a_side_upgraded_to_cell_ids() -> None:
    old = fixture(FIXTURES / "notebooks" / "old_format.ipynb")
    doc = json.loads(old)
    doc["nbformat_minor"] = 5
    for i, cell in enumerate(doc["cells"]):
        cell["id"] = f"up-{i}"
    ours = json.dumps(doc).encode()
    validated(ours)
    theirs = _with_source(old, 2, "x * 3")
    result = notebook.merge(old, ours, theirs)
    assert result.notebook is not None, "an upgrade on one side is no conflict"
    merged = validated(result.notebook)
    assert merged["nbformat_minor"] == 5, "the result has the newer minor version"
    assert ids(merged) == ["up-0", "up-1", "up-2", "up-3"], "ours' new cell ids are kept"
    assert merged["cells"][2]["source"] == ["x * 3"], "theirs' edit is matched to the same cell"


V3 = {
    "nbformat": 3,
    "nbformat_minor": 0,
    "metadata": {"name": "old"},
    "worksheets": [
        {
            "metadata": {},
            "cells": [
                {"cell_type": "heading", "level": 1, "source": "Old", "metadata": {}},
                {"cell_type": "code", "input": "1 + 1", "language": "python",
                 "outputs": [], "prompt_number": 1, "metadata": {}},
            ],
        }
    ],
}  # fmt: skip
MD = {"cell_type": "markdown", "source": "x", "metadata": {}}
JUPYTER_OPENS = {
    "nbformat 3": (V3, "upgraded from nbformat 3.0 to 4.5, with cell ids"),
    "4.4 without ids": (
        {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [MD, MD]},
        "gave every cell an id: nbformat 4.4 to 4.5",
    ),
    "4.4 with a stray id": (
        {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [MD, MD | {"id": "a"}]},
        "gave every cell an id (its stray ids replaced): nbformat 4.4 to 4.5",
    ),
    "4.5 with repeated ids": (
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [MD | {"id": "a"}] * 3},
        "gave new ids to 2 cells whose ids were missing or repeated",
    ),
}


@pytest.mark.parametrize("doc,said", JUPYTER_OPENS.values(), ids=JUPYTER_OPENS.keys())
def test_shareable_repairs_what_jupyter_opens_and_says_so(doc: dict[str, Any], said: str) -> None:
    data, message = notebook.shareable(json.dumps(doc).encode(), "old.ipynb")
    assert message == f"old.ipynb: {said} (as Jupyter does)", "one line naming the repair"
    nb = validated(data)
    assert nb["nbformat_minor"] == 5, "shared as nbformat 4.5"
    cell_ids = ids(nb)
    assert all(isinstance(i, str) for i in cell_ids) and len(set(cell_ids)) == len(cell_ids)
    assert notebook.read(data, "again") is not None, "what is shared reads back strictly"


def test_shareable_keeps_a_good_notebook_byte_for_byte() -> None:
    data = fixture(FIXTURES / "notebooks" / "analysis.ipynb")
    assert notebook.shareable(data, "analysis.ipynb") == (data, ""), "nothing to repair"


@pytest.mark.parametrize("name", ["not JSON", "JSON list", "bad output", "empty file"])
def test_shareable_still_refuses_what_is_not_a_notebook(name: str) -> None:
    with pytest.raises(UserError, match=r"^alice.ipynb is not a valid notebook: "):
        notebook.shareable(BAD_INPUTS[name], "alice.ipynb")


def test_merge_inputs_read_as_nbformat_reads_them_with_their_images_held_once() -> None:
    """A merge reads each side with its large base64 values taken out of the bytes first
    (`payloads.lifted`): what it reads must equal a plain read, whatever a cell's text holds."""
    png = base64.b64encode(b"\x89PNG" + bytes(range(256)) * 40).decode()
    tricky = f'x = {{"k": "{png}"}}'  # in the JSON: \"k\": \"<base64>\", escaped
    lookalike = "\0" + "ab" * 16 + "-0"  # what a lifted value's token looks like
    image = {"output_type": "display_data", "metadata": {}, "data": {"image/png": png}}
    doc = json.loads(VALID)
    doc["cells"] = [
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1, "source": tricky,
         "outputs": [image, {"output_type": "stream", "name": "stdout", "text": lookalike}]},
    ]  # fmt: skip
    data = notebook.dumps(notebook.read(json.dumps(doc), "nb"))
    assert b'": "' + png.encode() + b'"' in data, "written as Jupyter writes it"
    pool: dict[Any, Any] = {}
    ours, theirs = (notebook._side(data, side, pool) for side in ("ours", "theirs"))
    assert ours == theirs == notebook.read(data, "plain")
    images = [nb.cells[0].outputs[0].data["image/png"] for nb in (ours, theirs)]
    assert images[0] is images[1], "the image is held once for both sides"


@pytest.mark.parametrize(
    "broken",
    [b'", "x": 1 ]}', b'"}\xff', b'", "nbformat": "4"}'],  # bad JSON, not UTF-8, not a notebook
)
def test_a_broken_merge_input_is_refused_as_a_plain_read_refuses_it(broken: bytes) -> None:
    png = base64.b64encode(bytes(range(256)) * 40)
    data = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [], "x": "' + png
    data += broken
    with pytest.raises(UserError) as plain:
        notebook.read(data, "ours")
    with pytest.raises(UserError) as merged:
        notebook._side(data, "ours", {})
    assert str(merged.value) == str(plain.value)
