"""`git nbcollab versions` and `git nbcollab show`: what has been published, and where."""

from __future__ import annotations

from git_nbcollab.client import link
from git_nbcollab.commands.publish import collab_or_here
from git_nbcollab.errors import UserError
from git_nbcollab.names import notebook_name, parse_shown
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
        (v["shown"], v["time"], v["published_by"], ", ".join(v["authors"]), v["message"])
        for v in found
    ]
    table(
        ("version", "published", "by", "authors", "message"),
        rows,
        empty="nothing published yet: publish with `git nbpublish -- NotebookName`",
    )
    return 0


def show(*, version: str, as_json: bool = False) -> int:
    parse_shown(version)
    meta = link.configured().call("show", version)["version"]
    if as_json:
        print_json(meta)
        return 0
    say(meta["file"])
    project = meta.get("project") or {}
    for key in ("title", "task", "tags"):
        if project.get(key):
            value = project[key]
            say(f"  {key}: {', '.join(value) if isinstance(value, list) else value}")
    say(f"  published {meta['time']} by {meta['published_by']} from {meta['spec']}")
    if meta["message"]:
        say(f"  {meta['message']}")
    return 0
