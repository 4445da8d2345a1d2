"""Argument parsing for every command; each command is a typed function in commands/.

Heavy libraries are imported by the command modules, never here: `--help` stays instant.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from git_nbcollab.errors import USAGE, UserError, run_main
from git_nbcollab.hub import default_root

RUNTIME = Path("/opt/git-nbcollab")


class Parser(argparse.ArgumentParser):
    """Usage errors become one-line UserErrors with exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see {self.prog} -h)", USAGE)


def _nbshare_parser() -> Parser:
    parser = Parser(
        prog="git nbshare",
        description="Share a notebook with teammates, or add teammates to the collaboration"
        " of the working copy you are in.",
        epilog="example: git nbshare bob,carol analysis.ipynb",
    )
    parser.add_argument("users", help="teammates to share with, comma-separated: bob,carol")
    parser.add_argument(
        "notebook",
        nargs="?",
        type=Path,
        help="the notebook to share (leave out inside a working copy)",
    )
    parser.add_argument("--name", help="collaboration name (default: the notebook's file name)")
    return parser


def nbshare(argv: Sequence[str] | None = None) -> int:
    def body() -> int:
        args = _nbshare_parser().parse_args(argv)
        from git_nbcollab.commands.share import share

        return share(users=args.users, notebook=args.notebook, name=args.name)

    return run_main("git nbshare", body)


def _add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=default_root(),
        help="the hub's folder (default: $NBCOLLAB_ROOT or /srv/nbcollab)",
    )


def _admin_parsers(commands: argparse._SubParsersAction[Parser]) -> None:
    init = commands.add_parser(
        "init",
        help="set up the hub (as root)",
        description="Set up the hub, its service account and team group.",
    )
    init.add_argument(
        "--root", type=Path, default=None, help="the hub's folder (default: /srv/nbcollab)"
    )
    init.add_argument("--service-user", help="account that owns the hub (default: nbcollab)")
    init.add_argument("--team-group", help="group of all teammates (default: nbcollab-team)")
    init.add_argument(
        "--ssh", help="HOST[:PORT] teammates use to reach the hub (default: localhost:22)"
    )
    init.add_argument(
        "--bin-dir",
        type=Path,
        default=Path("/usr/local/bin"),
        help="where the git-nb* commands are linked for everyone",
    )
    init.add_argument(
        "--runtime",
        type=Path,
        default=RUNTIME,
        help="where to build a Python environment everyone can run, if the one running this"
        " cannot be run by everyone (default: /opt/git-nbcollab)",
    )

    user = commands.add_parser("user", help="add, list and remove teammates (as root)")
    actions = user.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="make a unix user a teammate, with a key for the hub")
    add.add_argument("name")
    add.add_argument(
        "--key",
        type=Path,
        action="append",
        default=[],
        help="a public key from the teammate's laptop (repeatable)",
    )
    remove = actions.add_parser("remove", help="revoke access; the person's work is kept")
    remove.add_argument("name")
    key = actions.add_parser("key", help="add a laptop's public key").add_subparsers(
        dest="key_action", required=True
    )
    key_add = key.add_parser("add", help="add a public key for a teammate")
    key_add.add_argument("name")
    key_add.add_argument("file", type=Path)
    list_users = actions.add_parser("list", help="list teammates")
    for parser in (add, remove, key_add, list_users):
        _add_root(parser)


def _nbcollab_parser() -> Parser:
    parser = Parser(
        prog="git nbcollab", description="Collaborate on notebooks through the team's hub."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    commands.add_parser("list", help="your collaborations: id, name, members, branches")
    clone = commands.add_parser("clone", help="make a working copy of a collaboration")
    clone.add_argument("spec", help="collaboration id, or members and name: alice,bob:analysis")
    clone.add_argument("directory", nargs="?", type=Path, help="default: the collaboration name")
    _admin_parsers(commands)
    return parser


def _nbcollab_command(args: argparse.Namespace) -> Callable[[], int]:
    if args.command == "list":
        from git_nbcollab.commands.list import list_collabs

        return list_collabs
    if args.command == "clone":
        from git_nbcollab.commands.clone import clone

        return lambda: clone(spec=args.spec, directory=args.directory)
    if args.command == "init":
        from git_nbcollab.commands.init import init

        return lambda: init(
            root=args.root,
            service_user=args.service_user,
            team_group=args.team_group,
            ssh=args.ssh,
            bin_dir=args.bin_dir,
            runtime_dir=args.runtime,
        )
    from git_nbcollab.commands import user

    if args.action == "add":
        return lambda: user.add(root=args.root, name=args.name, keys=args.key)
    if args.action == "remove":
        return lambda: user.remove(root=args.root, name=args.name)
    if args.action == "key":
        return lambda: user.add_keys(root=args.root, name=args.name, keys=[args.file])
    return lambda: user.list_users(root=args.root)


def nbcollab(argv: Sequence[str] | None = None) -> int:
    return run_main(
        "git nbcollab", lambda: _nbcollab_command(_nbcollab_parser().parse_args(argv))()
    )


PARSERS: dict[str, Callable[[], Parser]] = {
    "git-nbshare": _nbshare_parser,
    "git-nbcollab": _nbcollab_parser,
}
