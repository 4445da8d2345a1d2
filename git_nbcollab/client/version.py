"""A published version's files, for checking it anywhere: from this clone's tag when it has
it (a working copy, a CI checkout, a mirror), else fetched from the hub."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from git_nbcollab import proc
from git_nbcollab.client import link
from git_nbcollab.hub.runner import unpack
from git_nbcollab.names import final_file, parse_shown, version_tag


class VersionFiles(NamedTuple):
    folder: Path  # the tag's commit, written out
    notebook: str  # NAME_FINAL.ipynb
    check_command: str  # the project's own check, as it was when the version was published


def _fetched(version: str, tag: str, bare: Path) -> None:
    proc.run("git", "init", "--quiet", "--bare", str(bare))
    with link.connect() as client:
        meta = client.call("show", version)["version"]
        url = client.repo_url(meta["collab"])
        client.git("fetch", "--quiet", "--no-tags", url, f"{tag}:{tag}", cwd=str(bare))


@contextlib.contextmanager
def files(version: str) -> Iterator[VersionFiles]:
    """`NAME:vX.Y.Z` written out to a temporary folder (removed afterwards)."""
    name, number = parse_shown(version)
    tag = version_tag(name, number)
    with tempfile.TemporaryDirectory(prefix="nbcollab-version-") as tmp:
        here = proc.run("git", "rev-parse", "--verify", "--quiet", tag, check=False)
        git = ["git"]
        if here.returncode != 0:  # not in this clone: the hub has it (or says it does not)
            _fetched(version, tag, Path(tmp) / "repo.git")
            git += ["--git-dir", str(Path(tmp) / "repo.git")]
        archive = proc.run(*git, "archive", "--format=tar", f"{tag}^{{commit}}").stdout
        body = proc.out(*git, "cat-file", "tag", tag).split("\n\n", 1)[1]
        try:
            project = json.loads(body.split("\n\n", 1)[1]).get("project") or {}
        except (IndexError, ValueError):
            project = {}
        folder = Path(tmp) / "files"
        folder.mkdir()
        unpack(io.BytesIO(archive), str(folder))
        yield VersionFiles(folder, final_file(name), str(project.get("check_command") or ""))
