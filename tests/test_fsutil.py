"""fsutil.sync_tree: every file and folder of a tree synced, links not followed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from git_nbcollab.fsutil import sync_tree


def test_sync_tree_syncs_every_file_and_folder_and_follows_no_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    (tree / "a" / "b").mkdir(parents=True)
    (outside / "c").mkdir(parents=True)
    for path in (tree / "top", tree / "a" / "one", tree / "a" / "b" / "two", outside / "x"):
        path.write_text("data")
    (tree / "a" / "file-link").symlink_to(outside / "x")
    (tree / "a" / "folder-link").symlink_to(outside / "c")
    synced: list[str] = []
    fsync = os.fsync

    def recorded(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recorded)
    sync_tree(tree)
    monkeypatch.undo()
    wanted = ["", "top", "a", "a/one", "a/b", "a/b/two"]
    assert sorted(synced) == sorted(str(tree / rel).rstrip("/") for rel in wanted)
