"""`git nbcollab versions` and `git nbcollab show`: what has been published, and where."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from git_nbcollab import fsutil, proc
from git_nbcollab.client import link
from git_nbcollab.commands.publish import collab_or_here
from git_nbcollab.errors import UserError
from git_nbcollab.names import final_file, notebook_name, parse_shown
from git_nbcollab.output import print_json, say, table


def versions(*, which: str | None, as_json: bool = False) -> int:
    """`which` is a notebook name, a collaboration, or (None) the working copy's."""
    try:
        query = ["--spec", str(collab_or_here(which))]
    except UserError:
        if not which:
            raise
        query = ["--name", notebook_name(which)]
    found = link.configured().call("versions", *query)["versions"]
    if as_json:
        print_json(found)
        return 0
    rows = [
        (v["shown"], checks_state(v), v["time"], v["published_by"], ", ".join(v["authors"]),
         v["message"])
        if "incomplete" not in v
        else (v["shown"], "", "", "", "", f"incomplete on the hub: {v['incomplete']}")
        for v in found
    ]  # fmt: skip
    table(
        ("version", "checks", "published", "by", "authors", "message"),
        rows,
        empty="nothing published yet: publish with `git nbpublish -- NotebookName`",
    )
    return 0


def checks_state(meta: dict[str, Any]) -> str:
    """`passed`, `failed: executes`, `queued`, ... (hubs older than checks say nothing)."""
    found = meta.get("checks") or {}
    first = found.get("first_failure")
    return f"{found.get('state', '')}" + (f": {first}" if first else "")


def _checks_lines(meta: dict[str, Any]) -> list[str]:
    """The checks of a version, one line each and one per cell they name."""
    found = meta.get("checks") or {}
    lines = [f"  checks: {checks_state(meta)}"]
    for check in found.get("checks", []):
        mark = "ok  " if check["passed"] else ("FAIL" if check.get("required", True) else "warn")
        lines.append(f"    {mark} {check['name']}: {check['message']}")
        lines += [f"         cell {c['cell']}: {c['message']}" for c in check.get("cells", [])]
    return lines


def _fetch(client: link.Client, meta: dict[str, str]) -> Path:
    """Fetch the version's tag from the hub and write its file here; returns the file."""
    target = Path(final_file(meta["name"]))
    if target.exists() or target.is_symlink():
        raise UserError(f"{target} exists here: move it away or run this in another folder")
    with tempfile.TemporaryDirectory(prefix="nbcollab-show-") as tmp:
        proc.run("git", "init", "--quiet", "--bare", tmp)
        tag = meta["tag"]
        client.git(
            "fetch",
            "--quiet",
            "--no-tags",
            client.repo_url(meta["collab"]),
            f"{tag}:{tag}",
            cwd=tmp,
        )
        body = proc.run("git", "show", f"{tag}:{target.name}", cwd=tmp).stdout
    fsutil.atomic_write(target, body)
    return target


def show(*, version: str, fetch: bool = False, as_json: bool = False) -> int:
    """Where a published version is; off the box (its file not here), how to get it, or with
    `fetch` the file itself, written here."""
    parse_shown(version)
    with link.connect() as client:
        meta = client.call("show", version)["version"]
        if as_json:
            print_json(meta)
            return 0
        if fetch:
            say(f"wrote {_fetch(client, meta)}")
        elif os.access(meta["file"], os.R_OK):
            say(meta["file"])
        else:
            tag = meta["tag"].removeprefix("refs/tags/")
            say(
                f"{meta['file']} is on the box: `git nbcollab show {version} --fetch` writes"
                f" {final_file(meta['name'])} here (in a clone: `git fetch origin tag {tag}"
                f" && git show {tag}:{final_file(meta['name'])}`)"
            )
    project = meta.get("project") or {}
    for key in ("title", "task", "tags"):
        if project.get(key):
            value = project[key]
            say(f"  {key}: {', '.join(value) if isinstance(value, list) else value}")
    say(f"  published {meta['time']} by {meta['published_by']} from {meta['spec']}")
    if meta["message"]:
        say(f"  {meta['message']}")
    for line in _checks_lines(meta):
        say(line)
    return 0
