from __future__ import annotations

import json
import shutil

import pytest

from git_nbcollab.errors import UserError
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
