from __future__ import annotations

import pytest

from git_nbcollab.hub.rules import refusal
from git_nbcollab.names import ZERO, User

A, B = "a" * 40, "b" * 40


@pytest.mark.parametrize(
    ("ref", "old", "new"),
    [
        ("refs/heads/u/bob/main", A, B),  # update own main
        ("refs/heads/u/bob/topic", ZERO, A),  # create own branch
        ("refs/heads/u/bob/topic", A, ZERO),  # delete own side branch
    ],
)
def test_bob_may_move_his_own_branches(ref: str, old: str, new: str) -> None:
    assert refusal(User("bob"), ref, old, new) is None


@pytest.mark.parametrize(
    ("ref", "old", "new", "why"),
    [
        ("refs/heads/u/alice/main", A, B, "belongs to alice"),
        ("refs/heads/u/alice/main", A, ZERO, "belongs to alice"),
        ("refs/heads/u/alice/new", ZERO, A, "belongs to alice"),
        ("refs/heads/master", A, B, "git nbpublish"),
        ("refs/tags/nb/v1.0.0", ZERO, A, "git nbpublish"),
        ("refs/tags/nb/v1.0.0", A, B, "git nbpublish"),
        ("refs/heads/u/bob/main", A, ZERO, "cannot be deleted"),
        ("refs/heads/u/bob", ZERO, A, "your own branches"),
        ("refs/heads/topic", ZERO, A, "your own branches"),
        ("refs/notes/commits", ZERO, A, "your own branches"),
    ],
)
def test_bob_may_not_move_anything_else(ref: str, old: str, new: str, why: str) -> None:
    reason = refusal(User("bob"), ref, old, new)
    assert reason is not None and why in reason
