"""`git nbpublish`: publish a collaboration's notebook as a versioned, read-only copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from git_nbcollab.client import link, workcopy
from git_nbcollab.errors import UserError
from git_nbcollab.names import Spec, notebook_name, parse_spec
from git_nbcollab.notebooks.treemerge import report
from git_nbcollab.output import say


def collab_or_here(spec: str | None, at: Path | None = None) -> Spec:
    """The collaboration named, or the one of the working copy we are in (or `at` is in)."""
    if spec:
        return parse_spec(spec)
    here = workcopy.current_collab(at)
    if here is None:
        raise UserError(
            "name the collaboration (its id, or alice,bob:name), or run this inside a working copy"
        )
    return here


def _show(answer: dict[str, Any], dry_run: bool) -> None:
    for done in answer.get("repaired", ()):
        say(f"completed the interrupted publish of {done}")
    if "shown" not in answer:
        return
    verb = "would publish" if dry_run else "published"
    tag = answer["tag"].removeprefix("refs/tags/")
    say(f"{verb} {answer['shown']} from {answer['spec']} (tag {tag})")
    for line in answer["summary"]:
        say(f"  merged {line}")
    say(f"  {'would write' if dry_run else 'wrote'} {answer['file']} and its metadata.json")


def _check_synced(wanted: Spec, at: Path | None) -> None:
    """Publishing from a working copy publishes what the hub has: refuse if this copy holds
    more (it would be left out, silently)."""
    here = workcopy.current_collab(at)
    if here is None or str(wanted) != here:
        return
    pending = workcopy.unsynced(workcopy.top(at))
    if pending:
        raise UserError(
            f"this working copy has {pending}: run `git nbcollab sync` first, then publish"
        )


def publish(*, spec: str | None, name: str, bump: str | None, message: str, dry_run: bool) -> int:
    answer = ask_hub(spec=spec, name=name, bump=bump, message=message, dry_run=dry_run)
    _show(answer, dry_run)
    return 0


def ask_hub(
    *,
    spec: str | None,
    name: str,
    bump: str | None,
    message: str,
    dry_run: bool,
    at: Path | None = None,
) -> dict[str, Any]:
    """Publish (or with `dry_run`, say what publishing would do); the hub's answer. `at` is a
    folder in the working copy to publish from (default: where we are)."""
    wanted = collab_or_here(spec, at)
    _check_synced(wanted, at)
    name = notebook_name(name)
    options = ["--message", message, "--author", *link.author()]
    options += ["--bump", bump] if bump else []
    options += ["--dry-run"] if dry_run else []
    answer = link.configured().call("publish", str(wanted), name, *options)
    if "conflicts" in answer:
        raise UserError(report(answer["conflicts"], stopped=f"publishing {name} stopped"))
    return answer
