"""Working-copy set-up that every sync repeats: nothing to do costs no git command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from git_nbcollab import proc
from git_nbcollab.client import link, workcopy


def test_checks_notes_already_set_up_run_no_git_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for key, value in workcopy.CHECKS_NOTES_CONFIG:
        subprocess.run(["git", "-C", str(tmp_path), "config", "--add", key, value], check=True)
    config = link.read_config(str(tmp_path))  # as sync reads it
    ran: list[tuple[str, ...]] = []
    monkeypatch.setattr(proc, "run", lambda *cmd, **_: ran.append(cmd))
    workcopy.fetch_checks_notes(tmp_path / ".git", config)
    assert ran == []


def test_checks_notes_are_added_once_to_an_old_working_copy(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for _ in range(2):
        workcopy.fetch_checks_notes(tmp_path / ".git", link.read_config(str(tmp_path)))
    config = subprocess.run(
        ["git", "-C", str(tmp_path), "config", "--get-all", "remote.origin.fetch"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert config.stdout.splitlines() == ["+refs/notes/*:refs/notes/*"]
