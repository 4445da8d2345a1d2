"""The tool's operations as the gate receives them (`nbcollab <op> ...`); answers are JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from git_nbcollab import collabs, repo
from git_nbcollab.cli import Parser
from git_nbcollab.collabs import Collab
from git_nbcollab.errors import UserError
from git_nbcollab.hub import Hub
from git_nbcollab.names import User, notebook_file, notebook_name, parse_spec, users

MAX_NOTEBOOK = 512 * 1024 * 1024


def _described(hub: Hub, collab: Collab) -> dict[str, Any]:
    return {**collab.to_json(), "branches": repo.branches(hub.repo(collab.id), "refs/heads/u/")}


def _parser() -> Parser:
    parser = Parser(prog="nbcollab")
    ops = parser.add_subparsers(dest="op", required=True)
    ops.add_parser("list")
    ops.add_parser("resolve").add_argument("spec", type=parse_spec)
    share = ops.add_parser("share")
    share.add_argument("--with", dest="others", type=users, required=True)
    share.add_argument("--name", type=notebook_name, required=True)
    share.add_argument("--file", type=notebook_file, required=True)
    share.add_argument("--author", nargs=2, metavar=("NAME", "EMAIL"), required=True)
    add = ops.add_parser("add-members")
    add.add_argument("spec", type=parse_spec)
    add.add_argument("others", type=users)
    return parser


def dispatch(hub: Hub, caller: User, words: Sequence[str]) -> int:
    from git_nbcollab import service

    args = _parser().parse_args(words)
    answer: dict[str, Any] = {"you": caller}
    if args.op == "list":
        answer["collabs"] = [_described(hub, c) for c in collabs.of_user(hub, caller)]
    elif args.op == "resolve":
        answer["collab"] = _described(hub, collabs.resolve(hub, caller, args.spec))
    elif args.op == "share":
        data = sys.stdin.buffer.read(MAX_NOTEBOOK + 1)
        if len(data) > MAX_NOTEBOOK:
            raise UserError(
                f"{args.file} is over {MAX_NOTEBOOK >> 20} MB: share a smaller notebook"
            )
        collab = service.share(
            hub,
            caller,
            others=args.others,
            name=args.name,
            filename=args.file,
            data=data,
            author=tuple(args.author),
        )
        answer["collab"] = _described(hub, collab)
    else:
        collab = service.add_members(hub, caller, args.spec, args.others)
        answer["collab"] = _described(hub, collab)
    sys.stdout.write(json.dumps(answer))
    return 0
