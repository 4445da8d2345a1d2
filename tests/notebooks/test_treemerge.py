"""Branch merges in real repos: notebooks cell by cell whatever git's text merge says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest

from git_nbcollab.notebooks import notebook
from git_nbcollab.notebooks.treemerge import Side, merge
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
