"""One notebook merged as git's merge driver: always a notebook, conflicts marked in their cells."""

from __future__ import annotations

from pathlib import Path

from git_nbcollab.notebooks import notebook
from git_nbcollab.notebooks.filemerge import Settings, merge_file
from tests.box import FIXTURES

SALES = (FIXTURES / "notebooks" / "sales.ipynb").read_bytes()
NAMES = Settings(names=("alice", "bob"))


def edited(data: bytes, changes: dict[int, str | None]) -> bytes:
    """The notebook with cells' sources changed (None deletes the cell)."""
    nb = notebook.read(data, "test notebook")
    for index, source in sorted(changes.items(), reverse=True):
        if source is None:
            del nb.cells[index]
        else:
            nb.cells[index].source = source
    return notebook.dumps(nb)


def sources(data: bytes) -> list[str]:
    return [c.source for c in notebook.read(data, "the driver's result").cells]


def test_different_cells_merge_cleanly() -> None:
    ours, theirs = edited(SALES, {0: "# alice"}), edited(SALES, {2: "print('bob')"})
    merged = merge_file(SALES, ours, theirs, NAMES)
    assert merged.conflicts == ()
    assert merged.data == notebook.merge(SALES, ours, theirs).notebook


def test_each_conflicting_cell_holds_both_versions_marked() -> None:
    ours = edited(SALES, {0: "# alice", 2: "print('alice')"})
    theirs = edited(SALES, {0: "# bob", 2: "print('bob')"})
    merged = merge_file(SALES, ours, theirs, NAMES)
    assert len(merged.conflicts) == 2 and merged.conflicts[0].startswith("cell 1 (")
    got = sources(merged.data)  # reading validates: the result is a notebook
    assert got[0] == "<<<<<<< alice\n# alice\n=======\n# bob\n>>>>>>> bob\n"
    assert got[1] == sources(SALES)[1], "the cell nobody changed is untouched"
    assert got[2] == "<<<<<<< alice\nprint('alice')\n=======\nprint('bob')\n>>>>>>> bob\n"
    assert len(got) == 3, "one cell per conflict, as nbdime's inline merge leaves it"


def test_a_cell_deleted_on_one_side_and_edited_on_the_other_is_marked() -> None:
    ours = edited(SALES, {1: None, 2: "print('alice')"})
    theirs = edited(SALES, {1: "statistics.median(sales)"})
    merged = merge_file(SALES, ours, theirs, NAMES)
    assert merged.conflicts == (
        "cell 2 ('import statistics', id mean): edited by bob but deleted by alice",
    )
    got = sources(merged.data)
    assert got[1] == "<<<<<<< alice\n=======\nstatistics.median(sales)\n>>>>>>> bob\n"
    assert got[2] == "print('alice')"


def test_resolve_settles_what_would_conflict() -> None:
    ours, theirs = edited(SALES, {0: "# alice"}), edited(SALES, {0: "# bob"})
    merged = merge_file(SALES, ours, theirs, Settings(resolve="theirs"))
    assert merged.conflicts == () and sources(merged.data)[0] == "# bob"


def test_settings_travel_through_the_environment() -> None:
    settings = Settings(newer="ours", resolve="both", names=("a", "b"), notes="/tmp/x")
    assert Settings.from_env(settings.env()) == settings
    assert Settings.from_env({}) == Settings()


def test_files_merge_as_their_bytes_do(tmp_path: Path) -> None:
    """The driver hands the merge its three files (read when needed, so a large notebook is not
    held three times over): the same results as the bytes, unchanged sides included."""
    ours, theirs = edited(SALES, {0: "# alice"}), edited(SALES, {2: "print('bob')"})
    files = {}
    for name, data in (("base", SALES), ("ours", ours), ("theirs", theirs)):
        files[name] = tmp_path / f"{name}.ipynb"
        files[name].write_bytes(data)
    for base, one, other in ((SALES, ours, theirs), (SALES, SALES, theirs), (ours, ours, SALES)):
        from_bytes = merge_file(base, one, other, NAMES)
        paths = [files[n] for d in (base, one, other) for n in files if files[n].read_bytes() == d]
        from_files = merge_file(paths[0], paths[1], paths[2], NAMES)
        assert from_files == from_bytes
    assert notebook.blob_id(files["ours"]) == notebook.blob_id(ours)
