"""Failed commands are reported by the line that says why."""

from __future__ import annotations

import pytest

from git_nbcollab.proc import ProcessError, reason, run

GIT_WRAPPED = b"""git-nbcollab: no such collaboration: ffffffff
fatal: Could not read from remote repository.

Please make sure you have the correct access rights
and the repository exists.
"""


@pytest.mark.parametrize(
    ("stderr", "why"),
    [
        (GIT_WRAPPED, "no such collaboration: ffffffff"),
        (b"warning: x\nfatal: not a git repository\n", "not a git repository"),
        (
            b"ssh: connect to host 127.0.0.1 port 9: Connection refused\n",
            "ssh: connect to host 127.0.0.1 port 9: Connection refused",
        ),
        (b"", ""),
    ],
)
def test_the_reason_is_the_line_that_says_why(stderr: bytes, why: str) -> None:
    assert reason(stderr) == why


def test_process_errors_carry_the_reason() -> None:
    with pytest.raises(ProcessError) as failed:
        run("git", "--git-dir", "/nonexistent", "rev-parse", "HEAD")
    assert failed.value.code != 0 and "not a git repository" in failed.value.message
