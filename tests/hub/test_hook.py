"""The pre-receive hook on a real repo, without sshd: git writes the pushed objects, the hook
sees the refs as they were (as in git's quarantine). The same over ssh: test_intake.py."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from git_nbcollab.hub import hook, intake, repos
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
    given = io.StringIO("".join(f"{line}\n" for line in lines))
    code = hook.pre_receive("bob", given, str(repo / ".git"), os.getpid())
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
    assert hook.pre_receive(None, io.StringIO(""), str(repo / ".git"), os.getpid()) == 1
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


# The git that receives a push, as the gate starts it: the child that answers the hook is
# forked, then this process becomes what argv[2:] says (the shim, or git ending without a hook).
RECEIVER = """
import os, sys
from git_nbcollab.hub import hookserver
hookserver.start(sys.argv[1])
os.execvp(sys.argv[2], sys.argv[2:])
"""


def through_the_gates_child(repo: Path, tmp_path: Path, *lines: str) -> tuple[int, str]:
    """The real pre-receive shim, answered by the child `hookserver.start` forks. The shim's
    own Python is `false`: only the child can let a push in."""
    shim = tmp_path / "pre-receive"
    shim.write_bytes(repos._shim("pre-receive", "false"))
    done = subprocess.run(
        [sys.executable, "-c", RECEIVER, str(repo / ".git"), "sh", str(shim)],
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        env={**os.environ, hook.IDENTITY: "bob"},
        timeout=60,
    )
    return done.returncode, done.stderr


def test_the_gates_child_answers_the_hook(repo: Path, tmp_path: Path) -> None:
    old = git(repo, "rev-parse", "refs/heads/u/bob/main")
    new = commit(repo, {"sales.ipynb": SALES}, old)
    assert through_the_gates_child(repo, tmp_path, f"{old} {new} refs/heads/u/bob/main") == (0, "")
    code, err = through_the_gates_child(repo, tmp_path, f"{old} {new} refs/heads/master")
    assert (code, err) == (
        1,
        "refused refs/heads/master: master moves only through `git nbpublish`\n",
    )


def test_a_pushed_path_cannot_say_the_verdict(repo: Path, tmp_path: Path) -> None:
    """The refusals name paths the pusher chose; the exit code comes first, on its own line."""
    old = git(repo, "rev-parse", "refs/heads/u/bob/main")
    for name in ("x\n0\n", "0\n", "\n0"):
        new = commit(repo, {name: bytes(2**20 + 1)}, old)
        code, err = through_the_gates_child(repo, tmp_path, f"{old} {new} refs/heads/u/bob/main")
        assert code == 1 and "over the hub's limit" in err, (name, err)


@pytest.mark.parametrize(
    "pipes",
    ["8>/dev/null 9</dev/null", "8>/dev/full 9</dev/null", "8>&- 9<&-"],
    ids=["no answer", "cannot ask", "no pipes"],
)
def test_without_an_answer_the_shim_refuses(tmp_path: Path, pipes: str) -> None:
    shim = tmp_path / "pre-receive"
    shim.write_bytes(repos._shim("pre-receive", "false"))
    done = subprocess.run(
        ["sh", "-c", f'exec {pipes} sh "$0"', str(shim)],
        input=f"{ZERO} {'1' * 40} refs/heads/u/bob/main\n".encode(),
        env={**os.environ, "NBCOLLAB_HOOK_SERVER": "1"},
        capture_output=True,
        timeout=60,
    )
    assert done.returncode != 0


def test_the_child_leaves_when_git_ends_without_the_hook(repo: Path) -> None:
    """A push with nothing to update runs no hook: the child sees its pipe close, and ends.
    The receiving git is a `cat` here, which ends when its input does."""
    argv = [sys.executable, "-c", RECEIVER, str(repo / ".git"), "cat"]
    receiver = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    wanted = "\0".join(argv).encode() + b"\0"  # the child is a fork: the same command line

    def children() -> list[str]:
        return [p.name for p in Path("/proc").iterdir() if p.name.isdigit()
                and p.name != str(receiver.pid) and _cmdline(p) == wanted]  # fmt: skip

    def until(done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not done() and time.monotonic() < deadline:
            time.sleep(0.02)

    until(lambda: _cmdline(Path(f"/proc/{receiver.pid}")) == b"cat\0")  # forks done
    assert len(children()) == 1, "the check below can fail"
    assert receiver.communicate(timeout=30) == (None, None) and receiver.returncode == 0
    until(lambda: children() == [])
    assert children() == []


def _cmdline(process: Path) -> bytes:
    try:
        return (process / "cmdline").read_bytes()
    except OSError:  # ended meanwhile
        return b""
