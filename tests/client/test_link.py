"""The teammate's side of the hub link: who their commits say they are."""

from __future__ import annotations

import subprocess
from pathlib import Path

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


def test_one_config_read_answers_as_git_config_get(tmp_path: Path) -> None:
    """`read_config` (one git command for all of a sync's settings) agrees with `git config
    --get` key by key: the repo's value over the global one, values with newlines and `=`."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    settings = {
        "nbcollab.hub": "ssh://svc@box:22",
        "nbcollab.identity": "/home/a b/.ssh/key",
        "merge.nbcollab.driver": "git nbcollab merge-driver %O %A %B %P",
        "user.name": "two\nlines = odd",
    }
    subprocess.run(["git", "config", "--global", "nbcollab.hub", "ssh://global@box"], check=True)
    for key, value in settings.items():
        subprocess.run(["git", "config", key, value], cwd=tmp_path, check=True)
    found = link.read_config(str(tmp_path))
    for key in [*settings, "nbcollab.id"]:
        assert found.get(key) == link.git_config(key, cwd=str(tmp_path)), key
    assert link.configured(found) == link.Client("ssh://svc@box:22", "/home/a b/.ssh/key")
