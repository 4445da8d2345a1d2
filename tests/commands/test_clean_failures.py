"""Failures that used to end in "internal error" and a crash log: each is one actionable line,
exit 1, and nothing changed. Real users over the real sshd; the full disk is a real tmpfs."""

from __future__ import annotations

import contextlib
import grp
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_nbcollab.cli import nbcollab
from tests.box import FIXTURES, Box, edit_cell
from tests.commands.test_backup import clone_as_bob
from tests.conftest import require

DEEP = (
    b'{"cells": [{"cell_type": "code", "id": "a", "metadata": {}, "outputs": [],'
    b' "execution_count": null, "source": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b'}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
)


def one_line(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert says in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "internal error" not in done.stderr


def plant(box: Box, cid: str, owner: str, name: str, data: bytes, mode: str = "100644") -> None:
    """Commit `data` as `name` on top of `owner`'s branch, straight into the hub's repo as the
    service account: a file that reached the hub before pushes were validated."""
    repo = str(box.root / "collabs" / f"{cid}.git")
    git = ["git", "-c", "user.name=Hub", "-c", "user.email=hub@example.invalid", "--git-dir", repo]
    branch = f"refs/heads/u/{box.user(owner)}/main"

    def run(*args: str, input: bytes | None = None) -> str:
        done = box.run_as(box.service, *git, *args, cwd=box.root, input=input)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    oid = run("hash-object", "-w", "--stdin", input=data) if mode == "100644" else "1" * 40
    kind = "blob" if mode == "100644" else "commit"
    tree = run("mktree", input=f"{mode} {kind} {oid}\t{name}\n".encode())
    tip = run("rev-parse", branch)
    commit = run("commit-tree", tree, "-p", tip, "-m", "planted")
    run("update-ref", branch, commit, tip)


@pytest.mark.parametrize(
    ("mode", "data", "says"),
    [("160000", b"", "is a submodule"), ("100644", DEEP, "nested more than")],
)
def test_publish_of_a_submodule_or_a_deeply_nested_notebook(
    box: Box, mode: str, data: bytes, says: str
) -> None:
    name = f"odd{mode}"
    cid = box.share("alice", ["bob"], f"{name}.ipynb")
    plant(box, cid, "bob", f"{name}.ipynb", data, mode)
    spec = f"{box.user('alice')},{box.user('bob')}:{name}"
    before = box.snapshot()
    one_line(box.run("alice", "git", "nbpublish", spec, "--", name), says)
    assert box.changes(before) == {}


def test_share_of_deeply_nested_json(box: Box) -> None:
    box.put("alice", DEEP, "deep.ipynb")
    before = box.snapshot()
    one_line(box.run("alice", "git", "nbshare", box.user("bob"), "deep.ipynb"), "nested more than")
    request = (
        f"nbcollab share --with {box.user('bob')} --name deep --file deep.ipynb --author A a@b"
    )
    target = f"{box.service}@127.0.0.1"
    raw = box.run("alice", *box.ssh("alice"), "-p", str(box.port), target, request, input=DEEP)
    one_line(raw, "nested more than")  # the hub checks too, whatever the client does
    assert box.changes(before) == {}


def test_clone_into_a_folder_you_cannot_write(box: Box) -> None:
    cid = box.share("alice", ["bob"], "noroot.ipynb")
    before = box.snapshot()
    for target in ("/root/x", "/root/x/y", "/proc/x"):
        one_line(box.run("bob", "git", "nbcollab", "clone", cid, target), "you may not write")
    assert box.changes(before) == {}


@contextlib.contextmanager
def group_lock_held() -> Iterator[None]:
    """Hold /etc/group.lock the way shadow-utils does (a file naming a live pid), as another
    program changing accounts would; other tools wait for it, so hold it briefly."""
    lock = Path("/etc/group.lock")
    deadline = time.monotonic() + 30
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:  # someone really is changing accounts: wait our turn
            assert time.monotonic() < deadline, "/etc/group.lock stayed held"
            time.sleep(0.1)
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink()


def test_init_while_another_program_holds_the_group_lock(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    root, svc, team = box.base / "locked-hub", f"{box.prefix}lsvc", f"{box.prefix}ltm"
    args = ["init", "--root", str(root), "--service-user", svc, "--team-group", team]
    capsys.readouterr()
    with group_lock_held():
        code = nbcollab([*args, "--bin-dir", str(box.bin_dir)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert "groupadd failed" in err and "try again" in err and "internal error" not in err
    assert not root.exists()
    for name in (svc, team):
        with pytest.raises(KeyError):
            grp.getgrnam(name)


@pytest.fixture(scope="module")
def full_box() -> Iterator[tuple[Box, str, Path]]:
    """A box whose hub is a 40 MB tmpfs, with a collaboration that has something to publish;
    then the hub's disk is filled to the last byte."""
    from tests.box import missing_prerequisite

    require(missing_prerequisite())
    with Box.started(hub_size="40m") as box:
        cid = box.share("alice", ["bob"], "filled.ipynb")
        copy = clone_as_bob(box, cid, "filled")
        edit_cell(copy / "filled.ipynb", 0, "# edited before the disk filled up")
        assert box.run("bob", "git", "nbcollab", "sync", cwd=copy).returncode == 0
        box.backups_idle()
        filler = box.root / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        fd = os.open(filler, os.O_WRONLY | os.O_APPEND)
        with contextlib.suppress(OSError):
            while True:  # the last bytes that dd's blocks did not fit
                os.write(fd, b"\0" * 512)
        os.close(fd)
        assert os.statvfs(box.root).f_bavail == 0, "the hub's disk is full"
        yield box, cid, copy


@pytest.mark.parametrize("what", ["publish", "share", "project set"])
def test_publish_share_and_project_set_on_a_full_disk(
    full_box: tuple[Box, str, Path], what: str
) -> None:
    box, _, copy = full_box
    box.put("alice", FIXTURES / "notebooks" / "sales.ipynb", "more.ipynb")
    short, cmd, cwd = {
        "publish": ("bob", ["git", "nbpublish", "--", "filled"], copy),
        "share": ("alice", ["git", "nbshare", box.user("bob"), "more.ipynb"], None),
        "project set": ("bob", ["git", "nbcollab", "project", "set", "--title", "T"], copy),
    }[what]
    before = box.snapshot()
    one_line(box.run(short, *cmd, cwd=cwd), "the hub's disk is full")
    assert box.changes(before) == {}
