"""The cell rules that the merge table does not show on its own: notes for what one side lost,
ids that are not identities, ids and bytes kept (issue 9, items 6 to 8; issue 10's --both)."""

from __future__ import annotations

import json
from typing import Any

from git_nbcollab.notebooks import notebook
from tests.box import FIXTURES
from tests.notebooks.test_notebook import fixture, ids, validated

ANALYSIS = FIXTURES / "notebooks" / "analysis.ipynb"
NAMES = {"ours_name": "alice", "theirs_name": "bob"}


def doc() -> dict[str, Any]:
    return dict(json.loads(fixture(ANALYSIS)))


def data(nb: dict[str, Any]) -> bytes:
    return json.dumps(nb).encode()


def sources(result: notebook.MergeResult) -> list[str]:
    assert result.notebook is not None, [str(c) for c in result.conflicts]
    return ["".join(c["source"]) for c in validated(result.notebook)["cells"]]


def test_moves_on_both_sides_are_both_kept() -> None:
    base, ours, theirs = doc(), doc(), doc()
    ours["cells"][1:3] = ours["cells"][2:0:-1]
    theirs["cells"][5:7] = theirs["cells"][6:4:-1]
    result = notebook.merge(data(base), data(ours), data(theirs), newer="theirs", **NAMES)
    want = ids(base)
    want[1:3], want[5:7] = want[2:0:-1], want[6:4:-1]
    assert ids(validated(result.notebook or b"")) == want, "each side's move"
    assert result.notes == (), "nothing lost, nothing to say"


def test_a_cell_both_moved_differently_goes_where_the_newer_put_it_and_says_so() -> None:
    base, ours, theirs = doc(), doc(), doc()
    ours["cells"].append(ours["cells"].pop(1))
    theirs["cells"].insert(4, theirs["cells"].pop(1))
    result = notebook.merge(data(base), data(ours), data(theirs), newer="theirs", **NAMES)
    assert ids(validated(result.notebook or b"")) == ids(theirs), "the newer side's place"
    assert result.notes == ("both moved the same cells; kept bob's order",), "said, with whose"


def test_a_metadata_key_both_changed_is_named_and_tags_merge_as_sets() -> None:
    base, ours, theirs = doc(), doc(), doc()
    ours["cells"][1]["metadata"] |= {"collapsed": True, "tags": ["a"]}
    theirs["cells"][1]["metadata"] |= {"collapsed": False, "tags": ["b"]}
    theirs["metadata"]["kernelspec"]["display_name"] = "Python 3.12"
    ours["metadata"]["kernelspec"]["display_name"] = "Py3"
    result = notebook.merge(data(base), data(ours), data(theirs), newer="ours", **NAMES)
    merged = validated(result.notebook or b"")
    assert merged["cells"][1]["metadata"] == {"collapsed": True, "tags": ["a", "b"]}
    assert result.notes == (
        "cell 2 (id sales-01): metadata 'collapsed' changed by both; kept alice's",
        "notebook metadata 'kernelspec.display_name' changed by both; kept alice's",
    ), "one line per value one side lost, with the cell as JupyterLab counts it"


def test_resolve_both_tags_each_cell_and_says_so() -> None:
    base, ours, theirs = doc(), doc(), doc()
    ours["cells"][2]["source"] = "sales = [1, 2]"
    theirs["cells"][2]["source"] = "sales = [3, 4]"
    result = notebook.merge(data(base), data(ours), data(theirs), resolve="both", **NAMES)
    cells = validated(result.notebook or b"")["cells"]
    assert [c["metadata"].get("tags") for c in cells[2:4]] == [["from-alice"], ["from-bob"]]
    assert result.notes == (
        "cell 3 (id sales-02): kept both versions: alice's, then bob's as a new cell"
        " (tagged from-alice and from-bob)",
    )


def test_ids_that_share_nothing_with_the_base_align_by_content() -> None:
    base, ours, theirs = doc(), doc(), doc()
    for i, cell in enumerate(theirs["cells"]):
        cell["id"] = f"new-{i}"  # a tool gave every cell a new id
    ours["cells"][1]["source"] = "import statistics as st"
    theirs["cells"][4]["source"] = "max(sales)"
    result = notebook.merge(data(base), data(ours), data(theirs), **NAMES)
    got = sources(result)
    assert len(got) == len(base["cells"]), "every cell once"
    assert got[1] == "import statistics as st" and got[4] == "max(sales)", "both edits"
    assert ids(validated(result.notebook or b"")) == ids(ours), "ours' ids kept"


def test_a_side_upgraded_to_ids_gives_its_ids_not_fresh_ones() -> None:
    old = fixture(FIXTURES / "notebooks" / "old_format.ipynb")
    ours = json.loads(old)
    ours["cells"][1]["source"] = "y = 2"
    theirs = json.loads(old)
    theirs["nbformat_minor"] = 5
    for i, cell in enumerate(theirs["cells"]):
        cell["id"] = f"up-{i}"
    result = notebook.merge(old, data(ours), data(theirs))
    assert ids(validated(result.notebook or b"")) == ids(theirs), "theirs' ids, none invented"


def test_a_notebook_that_passes_through_keeps_its_bytes() -> None:
    base = doc()
    ours = doc()
    ours["cells"][1]["source"] = "import statistics as st"
    compact = data(ours)  # not as Jupyter writes it: the merge must not rewrite it
    assert notebook.merge(data(base), compact, data(base)).notebook == compact
    assert notebook.merge(data(base), compact, compact).notebook == compact
    assert notebook.merge(data(base), compact, data(ours) + b"\n").notebook == compact


def test_both_sides_saved_without_ids_merge_into_a_notebook_without_ids() -> None:
    """A base shared with ids (4.5), both sides saved by a Jupyter that drops them (4.4)."""
    base = doc()
    sides = []
    for i, source in ((0, "# alice's title"), (1, "x = 'bob'")):
        side = doc()
        side["nbformat_minor"] = 4
        for cell in side["cells"]:
            del cell["id"]
        side["cells"][i]["source"] = source
        sides.append(side)
    result = notebook.merge(data(base), data(sides[0]), data(sides[1]), **NAMES)
    assert sources(result)[:2] == ["# alice's title", "x = 'bob'"]
    assert ids(validated(result.notebook or b"")) == [None] * len(base["cells"])
