"""Branch merges in real repos: notebooks cell by cell whatever git's text merge says."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from git_nbcollab.notebooks import notebook
from git_nbcollab.notebooks.treemerge import Merged, Side, merge
from tests.box import FIXTURES

CASES = FIXTURES / "merge"
AUTHOR = ("Test Person", "test@example.invalid")


def git(repo: Path, *args: str, date: str = "2026-01-01T00:00:00+0000") -> str:
    env_date = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    import os

    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env_date},
        check=True,
    )
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, bytes | None], message: str, **kw: str) -> str:
    for name, data in files.items():
        if data is None:
            git(repo, "rm", "-q", name)
        else:
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_bytes(data)
            git(repo, "add", name)
    git(repo, "commit", "-qm", message, **kw)
    return git(repo, "rev-parse", "HEAD")


def fork(
    tmp_path: Path,
    base: dict[str, bytes],
    ours: dict[str, bytes | None],
    theirs: dict[str, bytes | None],
) -> tuple[Path, Side, Side]:
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    start = commit(repo, dict(base), "base")
    mine = commit(repo, ours, "ours")
    git(repo, "checkout", "-q", "-b", "other", start)
    other = commit(repo, theirs, "theirs", date="2026-01-02T00:00:00+0000")
    return repo, Side("alice", mine), Side("bob", other)


def case(name: str) -> dict[str, bytes]:
    return {
        side: (CASES / name / f"{side}.ipynb").read_bytes() for side in ("base", "ours", "theirs")
    }


def file_at(repo: Path, commit_id: str, path: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit_id}:{path}"], capture_output=True, check=True
    ).stdout


@pytest.mark.parametrize(
    "name", ["both-appending", "different-cells-edited", "cells-moved-and-edited"]
)
def test_notebooks_changed_on_both_sides_merge_cell_by_cell(tmp_path: Path, name: str) -> None:
    nb = case(name)
    repo, ours, theirs = fork(
        tmp_path, {"nb.ipynb": nb["base"]}, {"nb.ipynb": nb["ours"]}, {"nb.ipynb": nb["theirs"]}
    )
    merged = merge(pygit2.Repository(str(repo)), [ours, theirs], author=AUTHOR)
    assert merged.commit is not None, merged.conflicts
    expected = notebook.merge(nb["base"], nb["ours"], nb["theirs"], newer="theirs").notebook
    assert file_at(repo, merged.commit, "nb.ipynb") == expected
    parents = git(repo, "log", "-1", "--format=%P", merged.commit).split()
    assert parents == [ours.commit, theirs.commit]


def test_a_text_merge_would_have_broken_the_appending_case(tmp_path: Path) -> None:
    nb = case("both-appending")
    for side, data in nb.items():
        (tmp_path / side).write_bytes(data)
    text = subprocess.run(
        [
            "git",
            "merge-file",
            "-p",
            str(tmp_path / "ours"),
            str(tmp_path / "base"),
            str(tmp_path / "theirs"),
        ],
        capture_output=True,
    )
    assert text.returncode != 0 and b"<<<<<<<" in text.stdout, "why merging is cell-aware"


def test_the_same_cell_edited_twice_is_a_conflict_naming_both(tmp_path: Path) -> None:
    nb = case("same-cell-edited")
    repo, ours, theirs = fork(
        tmp_path, {"nb.ipynb": nb["base"]}, {"nb.ipynb": nb["ours"]}, {"nb.ipynb": nb["theirs"]}
    )
    merged = merge(pygit2.Repository(str(repo)), [ours, theirs], author=AUTHOR)
    assert merged.commit is None
    assert merged.conflicts and all(c.startswith("nb.ipynb: cell ") for c in merged.conflicts)
    assert "alice" in merged.conflicts[0] and "bob" in merged.conflicts[0]
    resolved = merge(pygit2.Repository(str(repo)), [ours, theirs], author=AUTHOR, resolve="theirs")
    assert resolved.commit is not None


def test_other_files_that_collide_are_refused(tmp_path: Path) -> None:
    repo, ours, theirs = fork(
        tmp_path, {"notes.txt": b"a\n"}, {"notes.txt": b"b\n"}, {"notes.txt": b"c\n"}
    )
    merged = merge(pygit2.Repository(str(repo)), [ours, theirs], author=AUTHOR)
    assert merged.commit is None
    assert merged.conflicts == (
        "notes.txt: changed by both alice and bob; not a notebook, so merge it with git",
    )


def test_a_notebook_deleted_on_one_side_and_changed_on_the_other(tmp_path: Path) -> None:
    nb = case("different-cells-edited")
    repo, ours, theirs = fork(
        tmp_path, {"nb.ipynb": nb["base"]}, {"nb.ipynb": None}, {"nb.ipynb": nb["theirs"]}
    )
    assert merge(pygit2.Repository(str(repo)), [ours, theirs], author=AUTHOR).conflicts == (
        "nb.ipynb: deleted by alice but changed by bob",
    )
    kept = merge(pygit2.Repository(str(repo)), [ours, theirs], author=AUTHOR, resolve="theirs")
    assert kept.commit is not None and file_at(repo, kept.commit, "nb.ipynb") == nb["theirs"]


def test_sides_already_merged_add_no_commit(tmp_path: Path) -> None:
    repo, ours, theirs = fork(tmp_path, {"a.txt": b"1\n"}, {"a.txt": b"2\n"}, {"b.txt": b"3\n"})
    assert (
        merge(
            pygit2.Repository(str(repo)),
            [ours, Side("bob", git(repo, "rev-parse", "main~1"))],
            author=AUTHOR,
        ).commit
        == ours.commit
    )
    both = merge(pygit2.Repository(str(repo)), [ours, theirs], author=AUTHOR).commit
    assert both is not None
    assert (
        merge(
            pygit2.Repository(str(repo)),
            [Side("x", git(repo, "rev-parse", "main~1")), Side("y", both)],
            author=AUTHOR,
        ).commit
        == both
    ), "fast-forward"


def test_three_authors_merge_in_order(tmp_path: Path) -> None:
    repo, ours, theirs = fork(tmp_path, {"a.txt": b"1\n"}, {"a.txt": b"2\n"}, {"b.txt": b"3\n"})
    git(repo, "checkout", "-q", "-b", "third", "main~1")
    third = commit(repo, {"c.txt": b"4\n"}, "third")
    merged = merge(
        pygit2.Repository(str(repo)), [ours, theirs, Side("carol", third)], author=AUTHOR
    )
    assert merged.commit is not None
    listing = git(repo, "ls-tree", "--name-only", merged.commit).split()
    assert listing == ["a.txt", "b.txt", "c.txt"]
    assert file_at(repo, merged.commit, "a.txt") == b"2\n"


SALES = FIXTURES / "notebooks" / "sales.ipynb"


def edited(data: bytes, index: int, source: str) -> bytes:
    """The notebook with one cell's source changed, as Jupyter would save it."""
    nb = notebook.read(data, "test notebook")
    nb.cells[index].source = source
    return notebook.dumps(nb)


def sources(data: bytes) -> list[str]:
    return [c.source for c in notebook.read(data, "merged").cells]


def test_a_rename_on_one_side_and_an_edit_on_the_other_merge(tmp_path: Path) -> None:
    nb = SALES.read_bytes()
    repo, ours, theirs = fork(
        tmp_path,
        {"sales.ipynb": nb},
        {"sales.ipynb": None, "q3.ipynb": edited(nb, 0, "# Q3 sales")},
        {"sales.ipynb": edited(nb, 2, "print(min(sales))")},
    )
    merged = merge(pygit2.Repository(str(repo)), [ours, theirs], author=AUTHOR)
    assert merged.commit is not None, merged.conflicts
    assert git(repo, "ls-tree", "--name-only", merged.commit).split() == ["q3.ipynb"]
    got = sources(file_at(repo, merged.commit, "q3.ipynb"))
    assert (got[0], got[2]) == ("# Q3 sales", "print(min(sales))"), "merged across the rename"


def criss_cross(tmp_path: Path, steps: dict[str, dict[str, bytes]]) -> tuple[Path, Side, Side]:
    """From `steps["base"]`, alice and bob each change their part ("alice 1", "bob 1"), merge
    each other's work at the same time (two merge commits holding `steps["merged"]`: a
    criss-cross), then change their own part again ("alice 2", "bob 2")."""
    repo, alice, bob = fork(tmp_path, steps["base"], steps["alice 1"], steps["bob 1"])
    for branch, other in (("main", bob.commit), ("other", alice.commit)):
        git(repo, "checkout", "-q", branch)
        git(repo, "merge", "-q", "--no-commit", "-s", "ours", other)
        commit(repo, steps["merged"], f"merge into {branch}")
    bob2 = commit(repo, steps["bob 2"], "bob again", date="2026-01-03T00:00:00+0000")
    git(repo, "checkout", "-q", "main")
    alice2 = commit(repo, steps["alice 2"], "alice again")
    assert len(git(repo, "merge-base", "--all", alice2, bob2).split()) == 2, "two merge bases"
    return repo, Side("alice", alice2), Side("bob", bob2)


def test_criss_cross_histories_merge_against_a_virtual_base(tmp_path: Path) -> None:
    repo, alice, bob = criss_cross(
        tmp_path,
        {
            "base": {"a.txt": b"alice 0\n", "b.txt": b"bob 0\n"},
            "alice 1": {"a.txt": b"alice 1\n"},
            "bob 1": {"b.txt": b"bob 1\n"},
            "merged": {"a.txt": b"alice 1\n", "b.txt": b"bob 1\n"},
            "alice 2": {"a.txt": b"alice 2\n"},
            "bob 2": {"b.txt": b"bob 2\n"},
        },
    )
    merged = merge(pygit2.Repository(str(repo)), [alice, bob], author=AUTHOR)
    assert merged.conflicts == (), "each file was changed by one person only"
    assert merged.commit is not None
    assert file_at(repo, merged.commit, "a.txt") == b"alice 2\n"
    assert file_at(repo, merged.commit, "b.txt") == b"bob 2\n"


def appended(data: bytes, source: str) -> bytes:
    nb = notebook.read(data, "test notebook")
    nb.cells.append({**nb.cells[-1], "id": source.split()[0], "source": source})
    return notebook.dumps(nb)


def notebook_criss_cross(
    tmp_path: Path,
    nb: bytes,
    firsts: tuple[bytes, bytes],
    seconds: Callable[[bytes], tuple[bytes, bytes]],
) -> tuple[Path, Merged]:
    """alice and bob change `nb` (`firsts`), each merges the other's, then both change the
    merge again (`seconds`); the repo and the merge of their two tips."""
    both = notebook.merge(nb, *firsts).notebook
    assert both is not None
    again = seconds(both)
    repo, alice, bob = criss_cross(
        tmp_path,
        {
            "base": {"sales.ipynb": nb},
            "alice 1": {"sales.ipynb": firsts[0]},
            "bob 1": {"sales.ipynb": firsts[1]},
            "merged": {"sales.ipynb": both},
            "alice 2": {"sales.ipynb": again[0]},
            "bob 2": {"sales.ipynb": again[1]},
        },
    )
    return repo, merge(pygit2.Repository(str(repo)), [alice, bob], author=AUTHOR)


def test_criss_cross_notebooks_merge_cell_by_cell_against_the_virtual_base(
    tmp_path: Path,
) -> None:
    nb = SALES.read_bytes()
    firsts = edited(nb, 0, "# alice 1"), edited(nb, 2, "print('bob 1')")
    repo, merged = notebook_criss_cross(
        tmp_path,
        nb,
        firsts,
        lambda both: (edited(both, 0, "# alice 2"), edited(both, 2, "print('bob 2')")),
    )
    assert merged.conflicts == (), "only alice edited cell 0 again, only bob cell 2"
    assert merged.commit is not None
    got = sources(file_at(repo, merged.commit, "sales.ipynb"))
    assert got == ["# alice 2", sources(nb)[1], "print('bob 2')"]


def test_the_virtual_base_of_notebooks_is_merged_cell_by_cell(tmp_path: Path) -> None:
    """Both append a cell, merge each other, and append again: git's text merge of the two
    bases leaves markers inside the JSON; the virtual base must be a notebook to merge against."""
    nb = SALES.read_bytes()
    firsts = appended(nb, "alice_1 = 1"), appended(nb, "bob_1 = 1")
    repo, merged = notebook_criss_cross(
        tmp_path,
        nb,
        firsts,
        lambda both: (appended(both, "alice_2 = 2"), appended(both, "bob_2 = 2")),
    )
    assert merged.conflicts == ()
    assert merged.commit is not None
    got = sources(file_at(repo, merged.commit, "sales.ipynb"))
    both = notebook.merge(nb, *firsts).notebook
    assert both is not None and got == [*sources(both), "alice_2 = 2", "bob_2 = 2"]


@pytest.mark.parametrize("style", ["none", "independent", "positional"])
@pytest.mark.parametrize("renamed", ["no", "alone", "and a file added"])
def test_python_starts_only_for_notebooks_git_merges_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renamed: str, style: str
) -> None:
    """A notebook left to the tree merge (a stand-in, see `deferred`) is left conflicted by
    the driver command's shell: no Python start for it, also renamed where the rename was
    git's only candidate. One renamed among other changes still goes through the driver.
    All merge cell by cell, each cell once, whatever the cell ids."""
    import sys

    from tests.notebooks.test_choices import _ids

    starts = tmp_path / "starts"
    python = tmp_path / "python"  # logs each driver run, then runs it
    python.write_text(f'#!/bin/sh\necho "$*" >> {starts}\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))

    def saved(data: bytes, side: str) -> bytes:  # as Jupyter writes it: git sees the rename
        return notebook.dumps(notebook.read(_ids(data, style, side), side))

    base = SALES.read_bytes()
    mine = saved(edited(base, 0, "# alice"), "a")
    ours: dict[str, bytes | None] = {"sales.ipynb": mine}
    if renamed != "no":
        ours = {"sales.ipynb": None, "q3.ipynb": mine}
    if renamed == "and a file added":
        ours["more.txt"] = b"more\n"
    theirs = {"sales.ipynb": saved(edited(base, 2, "print('bob')"), "t")}
    repo, alice, bob = fork(tmp_path, {"sales.ipynb": saved(base, "b")}, ours, theirs)
    merged = merge(pygit2.Repository(str(repo)), [alice, bob], author=AUTHOR)
    assert merged.commit is not None, merged.conflicts
    path = "sales.ipynb" if renamed == "no" else "q3.ipynb"
    got = sources(file_at(repo, merged.commit, path))
    assert got == ["# alice", sources(base)[1], "print('bob')"], "each cell once"
    runs = starts.read_text().splitlines() if starts.exists() else []
    assert len(runs) == (1 if renamed == "and a file added" else 0), runs
