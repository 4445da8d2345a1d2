"""Tests for git_nbcollab.notebooks.nbjson: nbformat's v4 reading and writing without nbformat,
against nbformat itself (differential) on every real notebook the tests have."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import check, nbjson, notebook
from tests.box import FIXTURES
from tests.notebooks.test_check import REAL, SALES

FIXTURE = FIXTURES / "notebooks"


def _v4(paths: list[Path]) -> list[Path]:
    return [p for p in paths if json.loads(p.read_bytes()).get("nbformat") == 4]


def _tricky() -> dict[str, Any]:
    """What nbformat's reader and writer treat specially, in one notebook."""
    doc = copy.deepcopy(SALES)
    doc["metadata"].update(signature="sha256:x", orig_nbformat=3, orig_nbformat_minor=0)
    doc["metadata"]["kernelspec"]["display_name"] = 'Python 3 ✓ "quoted"'
    markdown, code = doc["cells"][0], doc["cells"][1]
    markdown["metadata"]["trusted"] = True
    markdown["attachments"] = {"a.png": {"image/png": "iVBORw0KGgo=", "text/plain": ["a\n", "b"]}}
    code["metadata"]["trusted"] = False
    code["source"] = ["x = 1\n", "\n", "y = 'é'\r\n", "z"]
    code["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": ["one\n", "two\n"]},
        {"output_type": "stream", "name": "stderr", "text": "three\nfour"},
        {"output_type": "display_data", "metadata": {}, "data": {
            "application/json": {"k": ["v\n", "w"]},
            "application/vnd.custom+json": ["a\n", "b"],
            "image/svg+xml": ["<svg>\n", "</svg>"],
            "application/javascript": "a();\nb();",
            "text/html": "<b>\n</b>\n",
            "image/png": "iVBORw0KGgo=",
        }},
        {"output_type": "execute_result", "execution_count": 3, "metadata": {},
         "data": {"text/plain": ""}},
        {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t\n", "u"]},
    ]  # fmt: skip
    code["execution_count"] = 3
    return doc


def _nbformat_read(doc: dict[str, Any]) -> Any:
    return notebook._nbformat().v4.to_notebook_json(copy.deepcopy(doc))


CASES = {p.name: json.loads(p.read_bytes()) for p in _v4(REAL)} | {"tricky": _tricky()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_reads_as_nbformat_reads(case: str) -> None:
    doc = CASES[case]
    ours, theirs = nbjson.to_node(copy.deepcopy(doc)), _nbformat_read(doc)
    assert ours == theirs
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_writes_as_nbformat_writes_and_changes_nothing(case: str) -> None:
    nbformat = notebook._nbformat()
    for nb in (nbjson.to_node(copy.deepcopy(CASES[case])), _nbformat_read(CASES[case])):
        before = copy.deepcopy(nb)
        assert nbjson.writes(nb) == nbformat.v4.writes(nb), "byte for byte"
        assert nb == before and type(nb) is type(before), "the notebook written is not changed"


def test_the_tricky_case_holds_what_it_tests() -> None:
    node = nbjson.to_node(_tricky())
    assert "signature" not in node.metadata and "trusted" not in node.cells[1].metadata
    assert node.cells[1].source == "x = 1\n\ny = 'é'\r\nz"
    written = json.loads(nbjson.writes(node))
    assert written["cells"][1]["outputs"][1]["text"] == ["three\n", "four"]
    assert check.schema_error(_tricky()) is None, "a valid notebook"


def test_bytes_are_written_as_text_and_other_objects_refused() -> None:
    nb = nbjson.to_node(copy.deepcopy(SALES))
    output = {"output_type": "display_data", "metadata": {}, "data": {"image/png": b"iVBORw0KGgo="}}
    nb.cells[1].outputs = [nbjson.from_dict(output)]
    assert nbjson.writes(nb) == notebook._nbformat().v4.writes(nb)
    nb.metadata["when"] = object()
    with pytest.raises(TypeError):
        nbjson.writes(nb)


def test_nodes_read_as_attributes() -> None:
    node = nbjson.from_dict({"a": {"b": [{"c": 1}]}, "t": (1, 2)})
    assert node.a.b[0].c == 1 and node.t == [1, 2]
    node.d = 2
    assert node["d"] == 2
    with pytest.raises(AttributeError):
        _ = node.missing


def test_a_merge_imports_neither_nbformat_nor_jsonschema() -> None:
    """A cell-by-cell merge of valid notebooks with cell ids (what a sync merges) pays for
    neither import: they cost it more than the merge."""
    code = (
        "import sys, json\n"
        "from git_nbcollab.notebooks import notebook\n"
        f"base = open({str(REAL[0])!r}, 'rb').read()\n"
        "doc = json.loads(base)\n"
        "ours = json.loads(base); ours['cells'][0]['source'] = 'ours'\n"
        "theirs = json.loads(base); theirs['cells'][-1]['source'] = 'theirs'\n"
        "done = notebook.merge(base, json.dumps(ours).encode(), json.dumps(theirs).encode())\n"
        "assert done.notebook is not None and b'ours' in done.notebook\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbformat', 'jsonschema')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_merge_the_check_refuses_goes_through_nbformat_as_before() -> None:
    """Where the check refuses a merged notebook, nbformat validates it as it always did: it
    gives a 4.5 cell without an id one (in place), and refuses what breaks its schema."""
    doc = copy.deepcopy(SALES)
    del doc["cells"][1]["id"]
    written = json.loads(notebook._written(doc))
    ids = [c["id"] for c in written["cells"]]
    assert len(set(ids)) == len(ids) == len(SALES["cells"]) and all(ids)
    doc = copy.deepcopy(SALES)
    doc["cells"][1]["outputs"] = "not a list"
    with pytest.raises(UserError, match=r"^refusing to write the merge: the merged result is not"):
        notebook._written(doc)
    assert notebook._written(copy.deepcopy(SALES)) == (FIXTURE / "sales.ipynb").read_bytes()
