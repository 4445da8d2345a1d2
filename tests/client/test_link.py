"""The teammate's side of the hub link: who their commits say they are."""

from __future__ import annotations

import subprocess

import pytest

from git_nbcollab.client import link
from git_nbcollab.errors import UserError


@pytest.mark.parametrize("unset", ["name", "email"])
def test_author_names_what_to_set_when_git_has_no_identity(
    unset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{role}_NAME")
        monkeypatch.delenv(f"GIT_{role}_EMAIL")
    other = "email" if unset == "name" else "name"
    subprocess.run(["git", "config", "--global", f"user.{other}", "x"], check=True)
    with pytest.raises(UserError, match=f"git config --global user.{unset}"):
        link.author()


def test_author_is_git_config_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    subprocess.run(["git", "config", "--global", "user.name", "Alice Example"], check=True)
    subprocess.run(["git", "config", "--global", "user.email", "alice@example.org"], check=True)
    assert link.author() == ("Alice Example", "alice@example.org")
