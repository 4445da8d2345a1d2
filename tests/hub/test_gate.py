from __future__ import annotations

import json
import pwd
import shutil
import time
from pathlib import Path

import pytest

from git_nbcollab.errors import UserError
from git_nbcollab.hub import repos
from git_nbcollab.hub.gate import parse_request, repo_id
from tests.box import Box, edit_cell


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        ("git-upload-pack '/0a1b2c3d'", ["git-upload-pack", "/0a1b2c3d"]),
        ("git-receive-pack '0a1b2c3d.git'", ["git-receive-pack", "0a1b2c3d.git"]),
        ("nbcollab list", ["nbcollab", "list"]),
        ("nbcollab resolve 'alice,bob:nb'", ["nbcollab", "resolve", "alice,bob:nb"]),
    ],
)
def test_pack_commands_and_tool_operations_are_accepted(request_: str, words: list[str]) -> None:
    assert parse_request(request_) == words


@pytest.mark.parametrize(
    "request_",
    [
        "",
        "sh",
        "bash -i",
        "id",
        "git-upload-archive '/0a1b2c3d'",
        "git-upload-pack '/0a1b2c3d'; id",
        "git-upload-pack '/x' extra",
        "git-upload-pack 'x",
        "nbcollab",
        "scp -t /tmp",
    ],
)
def test_anything_else_is_refused(request_: str) -> None:
    with pytest.raises(UserError, match="git fetch/push and git-nbcollab commands only"):
        parse_request(request_)


@pytest.mark.parametrize("path", ["/0a1b2c3d", "0a1b2c3d", "/0a1b2c3d.git", "0a1b2c3d.git/"])
def test_repo_paths_as_git_sends_them(path: str) -> None:
    assert repo_id(path) == "0a1b2c3d"


def test_a_push_through_the_gate_starts_no_git_gc(box: Box) -> None:
    """The repos have gc.auto=0 (the uploader packs them): receive-pack's `git gc --auto` could
    only find that out. git's own trace of the push (the service account's trace2, whose home is
    the hub root, set for this test) lists every process it started."""
    cid = box.share("alice", ["bob"], "no-gc.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, "no-gc").returncode == 0
    copy = box.home("bob") / "notebooks" / "no-gc"
    edit_cell(copy / "no-gc.ipynb", 0, "# pushed with git's trace on")
    assert box.run("bob", "git", "commit", "-qam", "edit", cwd=copy).returncode == 0
    traces, settings = box.root / "trace2", box.root / ".gitconfig"
    traces.mkdir()
    shutil.chown(traces, box.service, box.service)
    settings.write_text(f"[trace2]\n\teventTarget = {traces}\n")
    try:
        done = box.run("bob", "git", "push", "-q", cwd=copy)
    finally:
        settings.unlink()
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for f in traces.iterdir() for line in f.read_text().splitlines()]
    shutil.rmtree(traces)
    started = [e["argv"] for e in events if e["event"] == "child_start"]
    assert any("hooks/pre-receive" in argv[0] for argv in started), "the trace sees the push"
    assert [argv for argv in started if "gc" in argv or "maintenance" in argv] == []


def _gates_alive(box: Box) -> list[str]:
    """The service account's processes still running the gate (its children are forks of it)."""
    found = []
    for process in Path("/proc").iterdir():
        try:
            owner = process.stat().st_uid
            cmdline = (process / "cmdline").read_bytes()
        except OSError:  # not a process, or it ended meanwhile
            continue
        if owner == pwd.getpwnam(box.service).pw_uid and b"git_nbcollab.gate" in cmdline:
            found.append(process.name)
    return found


def test_a_push_through_the_gate_is_checked_by_the_gates_child(box: Box) -> None:
    """The hub's hook shim is made unable to run the rules itself (its Python is `false`): a
    push is still let in, or refused with its reason, by the gate's child; and no gate process
    is left once the pushes are done, also after one that had nothing to update."""
    cid = box.share("alice", ["bob"], "warm.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, "warm").returncode == 0
    copy = box.home("bob") / "notebooks" / "warm"
    shim = box.root / "collabs" / f"{cid}.git" / "hooks" / "pre-receive"
    kept = shim.read_bytes()
    shim.write_bytes(repos._shim("pre-receive", "false"))
    try:
        edit_cell(copy / "warm.ipynb", 0, "# checked by the gate's child")
        assert box.run("bob", "git", "commit", "-qam", "edit", cwd=copy).returncode == 0
        done = box.run("bob", "git", "push", "-q", cwd=copy)
        assert done.returncode == 0, done.stderr
        refused = box.run("bob", "git", "push", "origin", "HEAD:master", cwd=copy)
        assert refused.returncode != 0
        assert "refused refs/heads/master: master moves only through `git nbpublish`" in (
            refused.stderr
        )
        assert box.run("bob", "git", "push", "-q", cwd=copy).returncode == 0, "up to date"
    finally:
        shim.write_bytes(kept)
    head = box.hub_git(cid, "rev-parse", f"refs/heads/u/{box.user('bob')}/main").strip()
    assert head == box.run("bob", "git", "rev-parse", "HEAD", cwd=copy).stdout.strip()
    deadline = time.monotonic() + 10
    while _gates_alive(box) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gates_alive(box) == []


def test_a_repo_with_an_older_shim_still_takes_pushes(box: Box) -> None:
    """Until `init` refreshes them, repos keep the shim that runs the hook in Python."""
    cid = box.share("alice", ["bob"], "older.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, "older").returncode == 0
    copy = box.home("bob") / "notebooks" / "older"
    shim = box.root / "collabs" / f"{cid}.git" / "hooks" / "pre-receive"
    python = shim.read_text().rsplit("exec ", 1)[1].split()[0]  # the runtime's
    shim.write_text(f"#!/bin/sh\nexec {python} -I -m git_nbcollab.hook pre-receive\n")
    edit_cell(copy / "older.ipynb", 0, "# through the older shim")
    assert box.run("bob", "git", "commit", "-qam", "edit", cwd=copy).returncode == 0
    done = box.run("bob", "git", "push", "-q", cwd=copy)
    assert done.returncode == 0, done.stderr
    refused = box.run("bob", "git", "push", "origin", "HEAD:master", cwd=copy)
    assert refused.returncode != 0 and "master moves only through" in refused.stderr
