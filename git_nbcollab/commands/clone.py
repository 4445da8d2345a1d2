"""`git nbcollab clone`: a working copy of a collaboration, on your own branch."""

from __future__ import annotations

from pathlib import Path

from git_nbcollab.client import link, workcopy
from git_nbcollab.names import User, parse_spec
from git_nbcollab.output import say


def clone(*, spec: str, directory: Path | None) -> int:
    wanted = parse_spec(spec)
    if directory is not None:
        workcopy.check_free(directory)
    with link.connect() as hub:
        answer = hub.call("resolve", str(wanted))
        collab, you = answer["collab"], User(answer["you"])
        directory = directory or Path(collab["name"])
        workcopy.check_free(directory)
        workcopy.create(hub, collab, you, directory)
    others = [b for b in collab["branches"] if not b.startswith(f"u/{you}/")]
    say(f"cloned {collab['spec']} (id {collab['id']}) into {directory}, on branch u/{you}/main")
    if others:
        say(f"teammates' branches: {', '.join('origin/' + b for b in others)}")
    return 0
