from __future__ import annotations

import pytest

from git_nbcollab.errors import UserError
from git_nbcollab.hub.gate import parse_request, repo_id


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
