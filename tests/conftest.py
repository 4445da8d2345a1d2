"""Hermetic tests; `box` gives integration tests a real hub, real users and a real sshd."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import lab
from tests.box import Box, missing_prerequisite

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own HOME and git config, a fixed author and fixed dates."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test Person")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.invalid")
        monkeypatch.setenv(f"GIT_{role}_DATE", "2026-01-01T00:00:00+0000")
    monkeypatch.delenv("NBCOLLAB_ROOT", raising=False)


def require(reason: str | None) -> None:
    """Outside CI a missing prerequisite skips; in CI it fails loudly."""
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    require(missing_prerequisite())
    with Box.started() as started:
        yield started


@pytest.fixture(scope="module")
def own_box() -> Iterator[Box]:
    """A box for one test module alone, for tests that need names or files nobody else made."""
    require(missing_prerequisite())
    with Box.started() as started:
        yield started


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's chromium, driven by Playwright (see tests/lab.py for JupyterLab itself)."""
    require(lab.missing_browser())
    with lab.browser() as started:
        yield started
