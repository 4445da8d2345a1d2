"""The tool's operations as the gate receives them (`nbcollab <op> ...`); answers are JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from git_nbcollab import audit
from git_nbcollab.errors import UserError
from git_nbcollab.hub import collabs, listing
from git_nbcollab.hub.collabs import Collab
from git_nbcollab.layout import Hub
from git_nbcollab.names import (
    User,
    notebook_file,
    notebook_name,
    parse_shown,
    parse_spec,
    users,
)
from git_nbcollab.usage import Parser

Handler = Callable[[Hub, User, argparse.Namespace], dict[str, Any]]


def _described(hub: Hub, collab: Collab) -> dict[str, Any]:
    return collabs.described(collab, str(hub.repo(collab.id)))


def _list(hub: Hub, caller: User, args: argparse.Namespace) -> dict[str, Any]:
    return {"collabs": listing.entries(hub, caller)}  # from the listing index, not 10,000 repos


def _team(hub: Hub, caller: User, args: argparse.Namespace) -> dict[str, Any]:
    """The teammates, to share with (every teammate knows the others' names)."""
    return {"members": hub.teammates()}


def _resolve(hub: Hub, caller: User, args: argparse.Namespace) -> dict[str, Any]:
    return {"collab": _described(hub, collabs.resolve(hub, caller, args.spec))}


def _share(hub: Hub, caller: User, args: argparse.Namespace) -> dict[str, Any]:
    from git_nbcollab.hub import sharing

    limit = hub.settings.max_file_mb  # the same limit as for a file pushed
    data = sys.stdin.buffer.read(limit * 2**20 + 1)
    if len(data) > limit * 2**20:
        raise UserError(f"{args.file} is over the hub's limit of {limit} MB a file")
    collab = sharing.share(
        hub,
        caller,
        others=args.others,
        name=args.name,
        filename=args.file,
        data=data,
        author=tuple(args.author),
    )
    return {"collab": _described(hub, collab)}


def _add_members(hub: Hub, caller: User, args: argparse.Namespace) -> dict[str, Any]:
    from git_nbcollab.hub import sharing

    return {"collab": _described(hub, sharing.add_members(hub, caller, args.spec, args.others))}


def _publish(hub: Hub, caller: User, args: argparse.Namespace) -> dict[str, Any]:
    from git_nbcollab.hub import publish

    return publish.publish(
        hub,
        caller,
        args.spec,
        name=args.name,
        bump=args.bump,
        message=args.message,
        dry_run=args.dry_run,
        author=tuple(args.author),
    )


def _project(hub: Hub, caller: User, args: argparse.Namespace) -> dict[str, Any]:
    from git_nbcollab import backup
    from git_nbcollab.fsutil import locked
    from git_nbcollab.hub import project

    with locked(hub.collabs_lock):  # one writer at a time, as for publishing
        collab = collabs.resolve(hub, caller, args.spec)
        changes = {"title": args.title, "task": args.task, "tags": args.tags}
        changes["check_command"] = args.check_command
        written = project.write(hub.repo(collab.id), changes, tuple(args.author))
        backup.queue(hub, collab.id)
    return {"project": written, "collab": collab.to_json()}


def _versions(hub: Hub, caller: User, args: argparse.Namespace) -> dict[str, Any]:
    from git_nbcollab.hub import checking, published

    if args.name:
        names = [notebook_name(args.name)]
    else:
        collab = collabs.resolve(hub, caller, args.spec)
        names = published.names_of(hub, collab.id)
    return {
        "versions": [
            published.metadata(hub, n, v) | {"checks": checking.state(hub, n, v)}
            for n in names
            for v in published.versions(hub, n)
        ]
    }


def _show(hub: Hub, caller: User, args: argparse.Namespace) -> dict[str, Any]:
    from git_nbcollab.hub import checking, published

    name, version = args.version
    if version not in published.versions(hub, name):
        raise UserError(f"{name}:v{version} is not published (see `git nbcollab versions {name}`)")
    meta = published.metadata(hub, name, version)
    if "incomplete" in meta:
        raise UserError(
            f"{name}:v{version} is incomplete on the hub ({meta['incomplete']} in its folder):"
            " ask the admin to check it"
        )
    checks = published.checked(hub, name, version) or checking.state(hub, name, version)
    return {"version": meta | {"checks": checks}}


def _signature_part(text: str) -> str:
    if not text or any(c in text for c in "<>\n\0"):
        raise UserError("your git user.name and user.email must be set, without <, > or newlines")
    return text


def _author(parser: argparse.ArgumentParser) -> None:
    """Who the client says wrote the commits: their git identity, checked before git sees it."""
    parser.add_argument(
        "--author", nargs=2, metavar=("NAME", "EMAIL"), required=True, type=_signature_part
    )


def _parser() -> Parser:
    parser = Parser(prog="nbcollab")
    ops = parser.add_subparsers(dest="op", required=True)
    ops.add_parser("list")
    ops.add_parser("team")
    ops.add_parser("resolve").add_argument("spec", type=parse_spec)
    share = ops.add_parser("share")
    share.add_argument("--with", dest="others", type=users, required=True)
    share.add_argument("--name", type=notebook_name, required=True)
    share.add_argument("--file", type=notebook_file, required=True)
    _author(share)
    add = ops.add_parser("add-members")
    add.add_argument("spec", type=parse_spec)
    add.add_argument("others", type=users)
    pub = ops.add_parser("publish")
    pub.add_argument("spec", type=parse_spec)
    pub.add_argument("name", type=notebook_name)
    pub.add_argument("--bump", choices=("MAJOR", "MINOR", "HOTFIX"))
    pub.add_argument("--message", default="")
    pub.add_argument("--dry-run", action="store_true")
    _author(pub)
    proj = ops.add_parser("project")
    proj.add_argument("spec", type=parse_spec)
    for field in ("title", "task", "check-command"):
        proj.add_argument(f"--{field}")
    proj.add_argument("--tags", type=lambda text: [t.strip() for t in text.split(",") if t.strip()])
    _author(proj)
    which = ops.add_parser("versions").add_mutually_exclusive_group(required=True)
    which.add_argument("--spec", type=parse_spec)
    which.add_argument("--name")
    ops.add_parser("show").add_argument("version", type=parse_shown)
    return parser


HANDLERS: dict[str, Handler] = {
    "list": _list,
    "team": _team,
    "resolve": _resolve,
    "share": _share,
    "add-members": _add_members,
    "publish": _publish,
    "project": _project,
    "versions": _versions,
    "show": _show,
}


def dispatch(hub: Hub, caller: User, words: Sequence[str]) -> int:
    """Run one operation and log it, with the refs it moved or why it was refused."""
    args = None
    try:
        args = _parser().parse_args(words)
        answer = {"you": caller, **HANDLERS[args.op](hub, caller, args)}
    except UserError as e:
        asked = str(getattr(args, "spec", None) or "")
        audit.write(str(hub.root), caller, words[0][:40], asked, audit.moved, str(e))
        raise
    collab = answer.get("collab") or {}
    cid = collab if isinstance(collab, str) else str(collab.get("id", ""))
    audit.write(str(hub.root), caller, args.op, cid, audit.moved)
    sys.stdout.write(_encoded(answer))
    return 0


def _encoded(answer: dict[str, Any]) -> str:
    """The answer as JSON; `list`'s entries are JSON already, and go in as they are."""
    found = answer.get("collabs")
    if not isinstance(found, listing.Entries):
        return json.dumps(answer)
    rest = json.dumps({k: v for k, v in answer.items() if k != "collabs"})
    return f'{rest[:-1]}, "collabs": [{b", ".join(found).decode()}]}}'
