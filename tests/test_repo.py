"""Hub repo helpers: object staging and all-or-nothing ref transactions, on real repos."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from git_nbcollab import repo
from git_nbcollab.hub import repos
from git_nbcollab.proc import ProcessError


def _objects(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in (path / "objects").rglob("*")}


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    path = tmp_path / "hub.git"
    repos.init_bare(path, "/usr/bin/python3")
    return path


def test_staged_objects_vanish_unless_kept(bare: Path) -> None:
    before = _objects(bare)
    with repo.staging(bare) as staged:
        staged.repo.create_blob(b"thrown away")
    assert _objects(bare) == before, "a refused operation leaves no object behind"
    with repo.staging(bare) as staged:
        kept = str(staged.repo.create_blob(b"kept"))
        staged.keep()
    assert repo.git(bare, "cat-file", "-p", kept) == "kept"


def test_ref_updates_are_all_or_nothing(bare: Path) -> None:
    a = repo.commit_file(bare, "a.ipynb", b"{}", author=("A", "a@x"), message="a")
    repo.update_refs(bare, [repo.RefUpdate("refs/heads/u/a/main", a)], "test")
    b = repo.commit_file(bare, "b.ipynb", b"{}", author=("A", "a@x"), message="b")
    stale = [
        repo.RefUpdate("refs/heads/u/b/main", b),
        repo.RefUpdate("refs/heads/u/a/main", b, old=b),
    ]
    with pytest.raises(ProcessError):
        repo.update_refs(bare, stale, "test")
    assert repo.branches(bare) == ["u/a/main"], "the stale old value rejected the whole update"


def test_new_repos_get_the_hub_hook_and_config(bare: Path) -> None:
    hook = (bare / "hooks" / "pre-receive").read_text()
    assert "/usr/bin/python3 -I -m git_nbcollab.hook pre-receive" in hook
    config = subprocess.run(
        ["git", "--git-dir", str(bare), "config", "receive.denyNonFastForwards"],
        capture_output=True,
        text=True,
    ).stdout
    assert config.strip() == "true"


def _no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def test_init_bare_writes_what_git_init_and_config_write_without_a_git_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = tmp_path / "made.git"
    with monkeypatch.context() as m:
        _no_processes(m)
        repos.init_bare(made, "/usr/bin/python3")
    by_git = tmp_path / "by-git.git"
    git_init = ["git", "init", "-q", "--bare", "--template=", "--initial-branch=master"]
    subprocess.run([*git_init, str(by_git)], check=True)
    for key, value in repos.REPO_CONFIG.items():
        subprocess.run(["git", "--git-dir", str(by_git), "config", key, value], check=True)

    def listing(path: Path) -> set[str]:
        return {str(p.relative_to(path)) for p in path.rglob("*")}

    def config(path: Path) -> str:
        cmd = ["git", "--git-dir", str(path), "config", "--list", "--local"]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    assert listing(by_git) <= listing(made), "every file and folder git init makes"
    assert config(made) == config(by_git)
    git_dir = ["git", "--git-dir", str(made)]
    bare = subprocess.run([*git_dir, "rev-parse", "--is-bare-repository"], capture_output=True)
    head = subprocess.run([*git_dir, "symbolic-ref", "HEAD"], capture_output=True)
    assert (bare.stdout, head.stdout) == (b"true\n", b"refs/heads/master\n")
    with pytest.raises(FileExistsError):
        repos.init_bare(made, "/usr/bin/python3")  # never over a repo that is there
