"""The pre-receive hook on a real repo, without sshd: git writes the pushed objects, the hook
sees the refs as they were (as in git's quarantine). The same over ssh: test_intake.py."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from git_nbcollab.hub import hook, intake
from git_nbcollab.names import ZERO
from tests.box import FIXTURES

SALES = (FIXTURES / "notebooks" / "sales.ipynb").read_bytes()


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().strip()


def commit(repo: Path, files: dict[str, bytes], parent: str | None = None) -> str:
    """A commit object with these files (on top of `parent`'s), and no ref moved."""
    index = repo / "scratch-index"
    env_git = ["env", f"GIT_INDEX_FILE={index}", "git", "-C", str(repo)]
    if parent:
        subprocess.run([*env_git, "read-tree", parent], check=True)
    else:
        index.unlink(missing_ok=True)
    for name, data in files.items():
        blob = git(repo, "hash-object", "-w", "--stdin", input=data)
        subprocess.run(
            [*env_git, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}"], check=True
        )
    tree = subprocess.run([*env_git, "write-tree"], capture_output=True, text=True, check=True)
    parents = ["-p", parent] if parent else []
    return git(repo, "commit-tree", tree.stdout.strip(), *parents, "-m", "x")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(path))
    first = commit(path, {"notes.txt": b"{not json"})
    git(path, "update-ref", "refs/heads/u/bob/main", first)
    for field, var in hook.LIMITS.items():
        monkeypatch.setenv(var, {"max_file_mb": "1", "max_refs": "3"}[field])
    return path


def pre_receive(repo: Path, *lines: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = hook.pre_receive(
        "bob", io.StringIO("".join(f"{line}\n" for line in lines)), str(repo / ".git")
    )
    return code, capsys.readouterr().err


def test_a_valid_notebook_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = git(repo, "rev-parse", "refs/heads/u/bob/main")
    new = commit(repo, {"sales.ipynb": SALES}, old)
    assert pre_receive(repo, f"{old} {new} refs/heads/u/bob/main", capsys=capsys) == (0, "")


@pytest.mark.parametrize(
    ("files", "why"),
    [
        ({"bad.ipynb": b"[1,2,3]"}, "refused bad.ipynb (commit "),
        ({"notes.ipynb": b"{not json"}, "refused notes.ipynb"),  # a blob the repo already has
        ({"big.bin": bytes(2**20 + 1)}, "refused big.bin"),
    ],
)
def test_what_a_push_may_not_bring_is_refused_by_path(
    repo: Path, capsys: pytest.CaptureFixture[str], files: dict[str, bytes], why: str
) -> None:
    old = git(repo, "rev-parse", "refs/heads/u/bob/main")
    new = commit(repo, files, old)
    code, err = pre_receive(repo, f"{old} {new} refs/heads/u/bob/main", capsys=capsys)
    assert code == 1 and why in err, err
    assert len(err.splitlines()) == 1


def test_branches_over_the_limit_are_refused_and_deletes_make_room(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tip = git(repo, "rev-parse", "refs/heads/u/bob/main")
    three = [f"{ZERO} {tip} refs/heads/u/bob/s{i}" for i in range(3)]
    code, err = pre_receive(repo, *three, capsys=capsys)
    assert code == 1 and "you would have 4 branches here, over the hub's limit of 3" in err
    git(repo, "update-ref", "refs/heads/u/bob/old", tip)
    swap = [f"{tip} {ZERO} refs/heads/u/bob/old", f"{ZERO} {tip} refs/heads/u/bob/s0"]
    assert pre_receive(repo, *swap, capsys=capsys) == (0, "")


def test_without_the_gate_nothing_is_taken(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert hook.pre_receive(None, io.StringIO(""), str(repo / ".git")) == 1
    assert "only through its ssh gate" in capsys.readouterr().err


def test_every_file_of_every_commit_is_listed_with_its_commit(repo: Path) -> None:
    old = git(repo, "rev-parse", "refs/heads/u/bob/main")
    one = commit(repo, {"a.ipynb": b"1"}, old)
    two = commit(repo, {"a.ipynb": b"2", "b.ipynb": b"[]"}, one)
    files = intake.pushed(str(repo / ".git"), [two]).files
    assert {(f.commit, f.path) for f in files} == {
        (one, "a.ipynb"),
        (two, "a.ipynb"),
        (two, "b.ipynb"),
    }


def test_a_branch_only_moves_forward(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push that would drop commits is refused by the hook (so the audit log has it); one
    whose own commits sit on the old tip is let in without asking git."""
    main = git(repo, "rev-parse", "refs/heads/u/bob/main")
    one = commit(repo, {"a.txt": b"1"}, main)
    git(repo, "update-ref", "refs/heads/u/bob/side", one)
    two = commit(repo, {"a.txt": b"2"}, one)
    stranger = commit(repo, {"b.txt": b"unrelated"})
    asked: list[tuple[str, ...]] = []
    run = intake.proc.run
    monkeypatch.setattr(intake.proc, "run", lambda *cmd, **kw: asked.append(cmd) or run(*cmd, **kw))

    def moved(ref: str, old: str, new: str) -> tuple[int, str]:
        return pre_receive(repo, f"{old} {new} refs/heads/u/bob/{ref}", capsys=capsys)

    assert moved("side", one, two) == (0, "")
    assert not any("merge-base" in cmd for cmd in asked), "the push's commits sit on the old tip"
    assert moved("main", main, one) == (0, ""), "an ancestor the hub has: git says so"
    for ref, old, new in (("side", one, main), ("main", main, stranger), ("side", one, stranger)):
        code, err = moved(ref, old, new)
        assert code == 1 and f"refused refs/heads/u/bob/{ref}: a non-fast-forward push" in err
    assert moved("side", one, ZERO) == (0, ""), "deleting a side branch is the way to start over"
