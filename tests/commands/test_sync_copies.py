"""What sync commits and where, as real users over the real sshd: run from a sub-folder, two
machines on one branch, untracked files, Jupyter's checkpoints, refusals that change nothing."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

from tests.box import Box, edit_cell
from tests.commands.test_sync import sources


@pytest.fixture
def copies(box: Box, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """alice shares a notebook with bob; both clone it. Returns both working copies."""
    name = f"copy-{request.node.name.split('[')[0][-18:].replace('_', '-')}"
    cid = box.share("alice", ["bob"], f"{name}.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, name).returncode == 0
    return box.home("alice") / "notebooks" / name, box.home("bob") / "notebooks" / name


def _nb(copy: Path) -> Path:
    return copy / f"{copy.name}.ipynb"


def _sync(box: Box, short: str, where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return box.run(short, "git", "nbcollab", "sync", *args, cwd=where)


def _hub_file(box: Box, copy: Path, short: str, path: str) -> str:
    shown = box.git(short, "show", f"origin/u/{box.user(short)}/main:{path}", cwd=copy)
    return shown.stdout if shown.returncode == 0 else ""


def test_sync_from_a_sub_folder_commits_the_whole_working_copy(
    box: Box, copies: tuple[Path, Path]
) -> None:
    alice, _ = copies
    sub = alice / "figures"
    assert box.run("alice", "mkdir", str(sub)).returncode == 0
    edit_cell(_nb(alice), 0, "# edited above the sub-folder")
    done = _sync(box, "alice", sub)
    assert done.returncode == 0, done.stderr
    assert "# edited above the sub-folder" in _hub_file(box, alice, "alice", _nb(alice).name)
    assert box.run("alice", "git", "status", "--porcelain", cwd=alice).stdout == ""


def test_two_machines_on_one_branch_merge_each_other(box: Box, copies: tuple[Path, Path]) -> None:
    """alice syncs on the box, then in a second working copy (her laptop) on the same branch."""
    alice, _ = copies
    laptop = alice.parent / f"{alice.name}-laptop"
    cid = box.run("alice", "git", "config", "nbcollab.id", cwd=alice).stdout.strip()
    assert box.run("alice", "git", "nbcollab", "clone", cid, laptop.name).returncode == 0
    edit_cell(_nb(alice), 0, "# from the box")
    assert _sync(box, "alice", alice).returncode == 0
    edit_cell(laptop / _nb(alice).name, 2, "print('from the laptop')")
    done = _sync(box, "alice", laptop)
    assert done.returncode == 0, done.stderr
    assert _sync(box, "alice", alice).returncode == 0
    for copy in (alice, laptop):
        assert sources(copy / _nb(alice).name)[0] == "# from the box"
        assert sources(copy / _nb(alice).name)[2] == "print('from the laptop')"


def test_a_push_refused_as_non_fast_forward_says_so_and_what_to_do(
    box: Box, copies: tuple[Path, Path]
) -> None:
    """The laptop pushes to alice's branch while the box's sync is between fetch and push (a
    pre-push hook does it at that moment)."""
    alice, _ = copies
    laptop = alice.parent / f"{alice.name}-laptop"
    cid = box.run("alice", "git", "config", "nbcollab.id", cwd=alice).stdout.strip()
    assert box.run("alice", "git", "nbcollab", "clone", cid, laptop.name).returncode == 0
    edit_cell(laptop / _nb(alice).name, 2, "print('from the laptop')")
    assert box.run("alice", "git", "commit", "-qam", "laptop", cwd=laptop).returncode == 0
    hook = alice / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\nenv -u GIT_DIR git -C {laptop} push -q origin HEAD\n")
    hook.chmod(0o755)
    os.chown(hook, *(lambda s: (s.st_uid, s.st_gid))(alice.stat()))
    edit_cell(_nb(alice), 0, "# from the box")
    done = _sync(box, "alice", alice)
    hook.unlink()
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"git nbcollab: merged here, not pushed: the hub refused a non-fast-forward push of"
        f" u/{box.user('alice')}/main (it moved since this sync fetched, e.g. a sync from"
        " another machine); run `git nbcollab sync` again to merge that in"
    ]
    again = _sync(box, "alice", alice)
    assert again.returncode == 0, again.stderr
    assert sources(_nb(alice))[0] == "# from the box"
    assert sources(_nb(alice))[2] == "print('from the laptop')"


def _owned_file(box: Box, short: str, path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    for made in (path, *path.relative_to(box.home(short)).parents):
        os.chown(box.home(short) / made, *(lambda s: (s.st_uid, s.st_gid))(box.home(short).stat()))


def test_sync_commits_tracked_changes_and_new_notebooks_only(
    box: Box, copies: tuple[Path, Path]
) -> None:
    alice, _ = copies
    edit_cell(_nb(alice), 0, "# tracked change")
    _owned_file(box, "alice", alice / "results.csv", "week,sales\n1,120\n")
    box.put("alice", _nb(alice), f"{alice.name}/extra.ipynb")
    _owned_file(
        box, "alice", alice / "deep" / "er" / ".ipynb_checkpoints" / "x-checkpoint.ipynb", "{}"
    )
    done = _sync(box, "alice", alice)
    assert done.returncode == 0, done.stderr
    assert f"committed {alice.name}.ipynb, extra.ipynb" in done.stdout
    assert (
        "left out untracked files (not notebooks): results.csv; share one with"
        " `git add FILE && git nbcollab sync`" in done.stdout
    )
    pushed = box.git("alice", "ls-tree", "-r", "--name-only", "HEAD", cwd=alice).stdout.split()
    assert sorted(pushed) == sorted([_nb(alice).name, "extra.ipynb"])
    ignored = box.run(
        "alice",
        "git",
        "check-ignore",
        "-q",
        "deep/er/.ipynb_checkpoints/x-checkpoint.ipynb",
        cwd=alice,
    )
    assert ignored.returncode == 0, "Jupyter's checkpoints are ignored at every depth"


def test_an_incoming_file_never_overwrites_an_untracked_or_ignored_one(
    box: Box, copies: tuple[Path, Path]
) -> None:
    alice, bob = copies
    for name, text in (("data.csv", "bob's data\n"), ("model.pkl", "bob's model\n")):
        _owned_file(box, "bob", bob / name, text)
    assert box.run("bob", "git", "add", "data.csv", "model.pkl", cwd=bob).returncode == 0
    assert _sync(box, "bob", bob).returncode == 0
    exclude = alice / ".git" / "info" / "exclude"
    exclude.write_text(exclude.read_text() + "*.pkl\n")
    _owned_file(box, "alice", alice / "data.csv", "alice's own data\n")
    _owned_file(box, "alice", alice / "model.pkl", "alice's own model\n")
    assert box.run("alice", "git", "fetch", "-q", cwd=alice).returncode == 0
    for clash in ("data.csv", "model.pkl"):
        before = box.snapshot()
        done = _sync(box, "alice", alice)
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            f"git nbcollab: sync stopped: a teammate's {clash} would overwrite your untracked"
            f" {clash}; move it away (or `git add` it to share it), then sync again (nothing"
            " was changed)"
        ]
        assert set(box.changes(before)) <= {str(alice / ".git" / "FETCH_HEAD")}
        (alice / clash).rename(alice / f"{clash}.mine")
    assert _sync(box, "alice", alice).returncode == 0
    assert (alice / "model.pkl.mine").read_text() == "alice's own model\n"


def test_sync_on_a_detached_head_is_one_line_and_changes_nothing(
    box: Box, copies: tuple[Path, Path]
) -> None:
    alice, _ = copies
    assert box.run("alice", "git", "checkout", "-q", "--detach", cwd=alice).returncode == 0
    before = box.snapshot()
    done = _sync(box, "alice", alice)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "git nbcollab: HEAD is detached (no branch is checked out):"
        f" `git switch u/{box.user('alice')}/main`, then sync"
    ]
    assert box.changes(before) == {}


def _started_sync(box: Box, short: str, where: Path) -> subprocess.Popen[str]:
    """`git nbcollab sync` as a teammate, in the background."""
    env = [f"HOME={box.home(short)}", f"PATH={box.bin_dir}:/usr/bin:/bin"]
    return subprocess.Popen(
        ["runuser", "-u", box.user(short), "--", "env", "-i", *env, "git", "nbcollab", "sync"],
        cwd=where,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_sync_waits_for_a_status_fetch_or_another_sync_then_syncs(
    box: Box, copies: tuple[Path, Path]
) -> None:
    """JupyterLab's status holds the working copy's sync lock while it fetches (lab.actions
    `_fetch`): a sync started then (another tab, the terminal) waits for it and then syncs,
    and two syncs started together both finish."""
    alice, _ = copies
    edit_cell(_nb(alice), 0, "# waiting")
    fd = os.open(alice / ".git", os.O_RDONLY | os.O_DIRECTORY)  # as the status fetch holds it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        waiting = _started_sync(box, "alice", alice)
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=3)  # neither refused nor done while the lock is held
    finally:
        os.close(fd)
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "# waiting" in _hub_file(box, alice, "alice", _nb(alice).name)
    edit_cell(_nb(alice), 2, "print('two at once')")
    two = [_started_sync(box, "alice", alice) for _ in range(2)]
    for sync in two:
        _, err = sync.communicate(timeout=120)
        assert sync.returncode == 0, err
    assert "two at once" in _hub_file(box, alice, "alice", _nb(alice).name)
    assert sources(_nb(alice))[:3:2] == ["# waiting", "print('two at once')"]
    assert box.run("alice", "git", "status", "--porcelain", cwd=alice).stdout == ""


def test_a_killed_sync_leaves_quarantines_that_the_next_sync_removes(
    box: Box, copies: tuple[Path, Path]
) -> None:
    alice, _ = copies
    stale = alice / ".git" / "objects" / "incoming-k1ll3d"
    assert box.run("alice", "mkdir", "-p", str(stale / "ab")).returncode == 0
    assert box.run("alice", "touch", str(stale / "ab" / "cdef")).returncode == 0
    assert _sync(box, "alice", alice).returncode == 0
    assert not stale.exists()


def test_sync_runs_gits_auto_maintenance_once_after_its_fetch(
    box: Box, copies: tuple[Path, Path]
) -> None:
    """The fetch leaves git's auto maintenance to the sync, which runs it while it pushes."""
    alice, _ = copies
    edit_cell(_nb(alice), 0, "# maintained")
    trace = alice.parent / "maintenance-trace.txt"
    done = box.run("alice", "env", f"GIT_TRACE={trace}", "git", "nbcollab", "sync", cwd=alice)
    assert done.returncode == 0, done.stderr
    lines = trace.read_text().splitlines()
    runs = [line.split("built-in: ", 1)[1] for line in lines if "built-in: git maint" in line]
    assert runs == ["git maintenance run --auto --quiet"]
