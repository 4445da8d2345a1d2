"""Restore gives a fresh repo its refs by writing packed-refs itself: git reads back exactly the
manifest's refs, and a name git would refuse is refused, with nothing written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from git_nbcollab import repo
from git_nbcollab.backup import replay
from git_nbcollab.backup.spool import read_refs
from git_nbcollab.errors import UserError
from git_nbcollab.hub import repos
from tests.test_repo import _no_processes


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "restored.git"
    repos.init_bare(path, "/usr/bin/python3")
    commit = repo.commit_file(path, "a.ipynb", b"{}", author=("A", "a@x"), message="a")
    return path, commit


def test_refs_are_written_as_git_reads_them_without_a_git_process(
    fresh: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, commit = fresh
    wanted = {
        "refs/heads/u/zoe/main": commit,
        "refs/heads/u/alice/main": commit,
        "refs/heads/u/ünï/x-1.2": commit,
        "refs/tags/nb/v1": commit,
    }
    with monkeypatch.context() as m:
        _no_processes(m)
        replay.set_refs(path, wanted)
    assert read_refs(path) == wanted
    fsck = subprocess.run(["git", "--git-dir", str(path), "fsck", "--strict"], capture_output=True)
    assert fsck.returncode == 0, fsck.stderr
    # the restored hub takes pushes as before: git moves a packed ref
    repo.update_refs(path, [repo.RefUpdate("refs/heads/u/alice/main", commit, old=commit)], "t")
    assert read_refs(path) == wanted


@pytest.mark.parametrize(
    "ref",
    [
        "HEAD",
        "refs/heads/a b",
        "refs/heads/../../config",
        "refs/heads/x.lock",
        "refs/heads/.hidden",
        "refs/heads/x/",
        "refs/heads/x.",
        "refs//x",
        "refs/heads/x@{1}",
        "refs/heads/a\n0000000000000000000000000000000000000000 refs/heads/b",
        "refs/heads/a~1",
        "refs/heads/a:b",
    ],
)
def test_a_ref_git_would_refuse_is_refused_and_nothing_written(
    fresh: tuple[Path, str], ref: str
) -> None:
    path, commit = fresh
    with pytest.raises(UserError, match="refs of the backup cannot be set"):
        replay.set_refs(path, {"refs/heads/ok": commit, ref: commit})
    assert not (path / "packed-refs").exists()
    assert read_refs(path) == {}


@pytest.mark.parametrize("oid", ["0" * 39, "A" * 40, "g" * 40, 7, None])
def test_an_object_id_that_is_not_one_is_refused(fresh: tuple[Path, str], oid: object) -> None:
    path, _ = fresh
    with pytest.raises(UserError, match="refs of the backup cannot be set"):
        replay.set_refs(path, {"refs/heads/ok": oid})  # type: ignore[dict-item]
    assert not (path / "packed-refs").exists()
