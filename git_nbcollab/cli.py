"""Argument parsing for every command; each command is a typed function in commands/.

Heavy libraries are imported by the command modules, never here: `--help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from git_nbcollab.errors import exit_now, run_main
from git_nbcollab.layout import Settings, default_root
from git_nbcollab.names import collab_id
from git_nbcollab.usage import Parser

RUNTIME = Path("/opt/git-nbcollab")
LIMITS = {  # Settings fields `init` sets, and raises when run again with them
    "max_push_mb": "largest push the hub takes, in MB as sent (compressed)",
    "max_file_mb": "largest file a push may bring, in MB",
    "max_refs": "most branches one member may have in a collaboration",
}


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


PUBLISH_USAGE = (
    "git nbpublish [SPEC] [-version {MAJOR,MINOR,HOTFIX}] [-m MESSAGE] [--dry-run] -- NotebookName"
)


def _nbpublish_parser() -> Parser:
    parser = Parser(
        prog="git nbpublish",
        usage=PUBLISH_USAGE,
        description="Merge the authors' work into master (notebook-aware), name the notebook"
        " NotebookName_FINAL.ipynb, tag it NotebookName:vX.Y.Z and write a read-only copy to"
        " the published tree. The first publish is 1.0.0; without -version a publish bumps"
        " MINOR. The notebook's name comes after `--`; options go before or after it.",
        epilog="examples: git nbpublish alice,bob:analysis -version HOTFIX -- analysis ;"
        ' git nbpublish -- analysis -m "Q3 figures"',
    )
    parser.add_argument("spec", nargs="?", help="the collaboration (default: this working copy's)")
    parser.add_argument(
        "-version",
        "--bump",
        dest="bump",
        type=str.upper,
        choices=("MAJOR", "MINOR", "HOTFIX"),
        help="MAJOR: breaking change; MINOR: new work (the default); HOTFIX: fixes",
    )
    parser.add_argument("-m", "--message", default="", help="what this version is")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the version, the merge summary and the files; change nothing",
    )
    return parser


def parse_nbpublish(argv: Sequence[str]) -> tuple[argparse.Namespace, str]:
    """The options and the notebook's name: `-- NotebookName`, with options and the spec in any
    order around it (argparse alone takes everything after `--` as positional)."""
    parser = _nbpublish_parser()
    words = list(argv)
    if "--" not in words:
        parser.parse_known_args(words)  # -h, or a bad option: argparse says what is wrong
        parser.error("name the notebook after --: git nbpublish [SPEC] -- NotebookName")
    at = words.index("--")
    if at + 1 >= len(words):
        parser.error("name the notebook after --: git nbpublish [SPEC] -- NotebookName")
    args = parser.parse_args(words[:at] + words[at + 2 :])
    return args, words[at + 1]


def nbpublish(argv: Sequence[str] | None = None) -> int:
    def body() -> int:
        args, name = parse_nbpublish(sys.argv[1:] if argv is None else argv)
        from git_nbcollab.commands.publish import publish

        return publish(
            spec=args.spec,
            name=name,
            bump=args.bump,
            message=args.message,
            dry_run=args.dry_run,
        )

    return run_main("git nbpublish", body)


def _add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=default_root(),
        help="the hub's folder (default: $NBCOLLAB_ROOT or /srv/nbcollab)",
    )


def _init(init: Parser) -> None:
    init.description = "Set up the hub, its service account and team group."
    init.add_argument(
        "--root", type=Path, default=None, help="the hub's folder (default: /srv/nbcollab)"
    )
    init.add_argument("--service-user", help="account that owns the hub (default: nbcollab)")
    init.add_argument("--team-group", help="group of all teammates (default: nbcollab-team)")
    init.add_argument(
        "--ssh", help="HOST[:PORT] teammates use to reach the hub (default: localhost:22)"
    )
    init.add_argument(
        "--mirror",
        help="where backups go: s3://BUCKET/PREFIX or a folder (default: a folder ROOT-mirror)",
    )
    init.add_argument("--s3-endpoint", help="URL of an S3-compatible store (default: AWS)")
    init.add_argument(
        "--full-every", type=int, help="bundles per chain before a full one (default: 1000)"
    )
    for field, what in LIMITS.items():
        default = Settings._field_defaults[field]
        init.add_argument(
            "--" + field.replace("_", "-"),
            type=int,
            metavar="N",
            help=f"{what} (default: {default})",
        )
    _check_settings_parser(init)
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


def _user(user: Parser) -> None:
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


def _check_settings_parser(init: argparse.ArgumentParser) -> None:
    """init's options for the checks every published version gets (hub/checking.py)."""
    defaults = Settings._field_defaults
    init.add_argument(
        "--runner-user", help="account published notebooks run as (default: nbcollab-run)"
    )
    init.add_argument(
        "--checks",
        metavar="LIST",
        help="checks a version must pass, comma-separated, or none to check nothing"
        f" (default: {defaults['checks']}; also: project)",
    )
    init.add_argument(
        "--check-timeout", type=int, metavar="S", help="seconds a notebook may run (default: 600)"
    )
    init.add_argument(
        "--check-memory-mb", type=int, metavar="N", help="memory a notebook may use (default: 2048)"
    )
    init.add_argument(
        "--required-checks",
        action=argparse.BooleanOptionalAction,
        help="move `latest` only to versions whose checks passed (default: off)",
    )


def _log(log: Parser) -> None:
    log.description = "Every request through the gate and every change the hub makes, oldest first."
    log.epilog = "example: git nbcollab log --collab alice,bob:analysis --since 3d"
    log.add_argument("--collab", metavar="SPEC", help="only this collaboration: id or members:name")
    log.add_argument("--user", metavar="NAME", help="only what this teammate did")
    log.add_argument("--since", metavar="WHEN", help="30m, 2h, 3d ago, or a UTC date or time")
    log.add_argument("--json", action="store_true", help="JSON lines, as stored")
    _add_root(log)


def _backup(backup: Parser) -> None:
    backup.description = (
        "Every push queues an incremental bundle that a detached uploader sends to"
        " the mirror. These commands show, drain and check that mirror."
    )
    actions = backup.add_subparsers(dest="action", required=True)
    status = actions.add_parser("status", help="the mirror, the queue and the last error")
    run = actions.add_parser("run", help="bundle and send everything queued, now, and wait")
    verify = actions.add_parser(
        "verify", help="replay every chain from the mirror into scratch repos and git fsck them"
    )
    verify.add_argument("--collab", type=collab_id, help="only this collaboration id")
    for parser in (status, run, verify):
        _add_root(parser)
    _add_json(status)


def _restore(restore: Parser) -> None:
    restore.description = (
        "Rebuild a hub from its mirror into a hub made by `git nbcollab init`."
        " Everything is checked before anything is moved into place."
    )
    restore.epilog = (
        "example: git nbcollab restore --from s3://bucket/nbcollab --root /srv/nbcollab"
    )
    restore.add_argument(
        "--from", dest="source", required=True, help="the mirror: s3://BUCKET/PREFIX or a folder"
    )
    restore.add_argument("--collab", type=collab_id, help="only this collaboration id")
    restore.add_argument("--s3-endpoint", default="", help="URL of an S3-compatible store")
    restore.add_argument("--root", type=Path, required=True, help="the hub to restore into")


def _sync(sync: Parser) -> None:
    sync.description = (
        "Commit your changes to your branch, fetch the others' branches, merge them"
        " in cell by cell, and push. Stops before writing anything if edits collide."
    )
    side = sync.add_mutually_exclusive_group()
    for choice, what in (
        ("ours", "your version"),
        ("theirs", "their version"),
        ("both", "both cells, yours first"),
    ):
        side.add_argument(
            f"--{choice}",
            dest="resolve",
            action="store_const",
            const=choice,
            help=f"where the same cell was edited by both, keep {what}",
        )
    sync.add_argument(
        "--outputs",
        choices=("newer", "ours", "theirs"),
        default="newer",
        help="whose outputs win where both re-ran a cell (default: the newer)",
    )
    sync.add_argument("-m", "--message", default="", help="message for your own commit")
    sync.add_argument(
        "--take-saved",
        action="store_true",
        help="commit notebooks exactly as saved, even one saved from a tab opened before the"
        " last sync (which would put back your teammates' cells as they were)",
    )


def _project(project: Parser) -> None:
    setter = project.add_subparsers(dest="project_action", required=True).add_parser(
        "set", help="set title, task link or tags (copied into every published version)"
    )
    setter.add_argument("--spec", help="the collaboration (default: this working copy's)")
    setter.add_argument("--title", help="the project's title")
    setter.add_argument("--task", help="link to the task in the team's tracker")
    setter.add_argument("--tags", help="comma-separated tags: sales,q3")
    setter.add_argument(
        "--check-command",
        metavar="CMD",
        help="a shell command every published version must pass, run in its files as the check"
        ' runner ("" removes it)',
    )


def _versions(versions: Parser) -> None:
    versions.add_argument(
        "which", nargs="?", help="a collaboration or a NotebookName (default: this working copy's)"
    )
    _add_json(versions)


def _show(show: Parser) -> None:
    show.add_argument("version", help="NotebookName:vX.Y.Z")
    show.add_argument(
        "--fetch",
        action="store_true",
        help="fetch the published file from the hub into this folder (on a laptop)",
    )
    _add_json(show)


def _merge_driver(driver: Parser) -> None:
    driver.description = (
        "Merge one notebook cell by cell, as sync does, for git (pull, stash pop,"
        " rebase): writes the result into OURS; exit 0 when clean, 1 when cells collide (each"
        " then holds both versions between <<<<<<< and >>>>>>> markers)."
    )
    driver.epilog = "git config: merge.nbcollab.driver = git nbcollab merge-driver %%O %%A %%B %%P"
    for name, what in (
        ("base", "the common ancestor's version (%%O; empty if both added the notebook)"),
        ("ours", "our version, replaced by the result (%%A)"),
        ("theirs", "their version (%%B)"),
    ):
        driver.add_argument(name, type=Path, help=what)
    driver.add_argument("path", nargs="?", default="", help="the notebook's path in the repo (%%P)")


def _check(check: Parser) -> None:
    from git_nbcollab.checks.report import Limits  # a dataclass of defaults: no heavy import

    check.description = (
        "Run the checks a published version gets on a notebook file: valid"
        " (nbformat, strict); executes top to bottom on the kernel it names, within the limits,"
        " with no error; reproduces its text outputs; holds no secrets; is under the size"
        " limits. Its code runs on a throwaway copy of its folder, as you (as root: as the"
        " --runner account, never as root). Exit 1 when a check fails."
    )
    check.epilog = "example: git nbcollab check analysis/analysis.ipynb --timeout 300"
    check.add_argument(
        "path",
        type=Path,
        help="the notebook (its folder is copied with it), or a published version NAME:vX.Y.Z"
        " (its files: from this clone's tag, else from the hub)",
    )
    defaults = Limits()
    for option, field, what in (
        ("--timeout", "timeout_s", "seconds the whole notebook may run"),
        ("--memory-mb", "memory_mb", "address space the kernel may use, in MB"),
        ("--max-notebook-mb", "max_notebook_mb", "largest notebook, in MB"),
        ("--max-output-mb", "max_output_mb", "largest output of a cell, in MB"),
    ):
        default = getattr(defaults, field)
        check.add_argument(
            option, dest=field, type=int, default=default, metavar="N", help=f"{what} ({default})"
        )
    check.add_argument("--images", action="store_true", help="compare image outputs too")
    check.add_argument(
        "--project", default="", metavar="CMD", help="a command to run in the copy afterwards"
    )
    check.add_argument(
        "--runner",
        metavar="NAME",
        help="the account the code runs as (as root, required; never root)",
    )
    check.add_argument(
        "--save-executed", type=Path, metavar="FILE", help="write the executed copy here"
    )
    _add_json(check)


def _add_json(parser: Parser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON, for scripts")


def _clone(clone: Parser) -> None:
    clone.add_argument("spec", help="collaboration id, or members and name: alice,bob:analysis")
    clone.add_argument("directory", nargs="?", type=Path, help="default: the collaboration name")


def _lab(lab: Parser) -> None:
    lab.description = (
        "Start your own JupyterLab from the team's runtime, rooted at ~/notebooks,"
        " on 127.0.0.1 with a fresh token; print its URL and the ssh line for a laptop."
    )
    lab.add_argument("--port", type=int, help="the port to listen on (default: a free one)")


# Each command of `git nbcollab`: its help (as `-h` lists it) and what adds its arguments.
COMMANDS: dict[str, tuple[str, Callable[[Parser], None]]] = {
    "list": ("your collaborations: id, name, members, branches", _add_json),
    "clone": ("make a working copy of a collaboration", _clone),
    "sync": ("commit your work, merge the others' cell by cell, push", _sync),
    "project": ("the collaboration's project metadata", _project),
    "versions": ("published versions, authors, messages", _versions),
    "show": ("where a published version is", _show),
    "merge-driver": (
        "git's merge driver for notebooks (working copies register it)",
        _merge_driver,
    ),
    "check": (
        "execute a notebook and check it, as publish does: valid, executes, reproduces,"
        " secrets, size",
        _check,
    ),
    "lab": ("start your own JupyterLab (on 127.0.0.1, with a token), rooted at ~/notebooks", _lab),
    "init": ("set up the hub (as root)", _init),
    "user": ("add, list and remove teammates (as root)", _user),
    "backup": ("the off-box mirror: status, run, verify (as root or the service account)", _backup),
    "restore": ("rebuild collaborations and the published tree from a mirror (as root)", _restore),
    "log": ("who did what on the hub: the audit log (as root or the service account)", _log),
}


def _nbcollab_parser(command: str | None = None) -> Parser:
    """The parser of every command; with one of them as `command`, only that one is built (each
    costs argparse's message lookups, 0.5 ms): a sync does not build init's."""
    parser = Parser(
        prog="git nbcollab", description="Collaborate on notebooks through the team's hub."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, (what, add_arguments) in COMMANDS.items():
        if command in (None, name) or command not in COMMANDS:
            add_arguments(commands.add_parser(name, help=what))
    return parser


def _check_command(args: argparse.Namespace) -> Callable[[], int]:
    from git_nbcollab.checks import Limits
    from git_nbcollab.commands.check import check

    limits = Limits(
        timeout_s=args.timeout_s,
        memory_mb=args.memory_mb,
        max_notebook_mb=args.max_notebook_mb,
        max_output_mb=args.max_output_mb,
        images=args.images,
    )
    return lambda: check(
        path=args.path,
        limits=limits,
        runner=args.runner,
        project=args.project,
        save=args.save_executed,
        as_json=args.json,
    )


def _nbcollab_command(args: argparse.Namespace) -> Callable[[], int]:
    if args.command == "list":
        from git_nbcollab.commands.list import list_collabs

        return lambda: list_collabs(as_json=args.json)
    if args.command == "clone":
        from git_nbcollab.commands.clone import clone

        return lambda: clone(spec=args.spec, directory=args.directory)
    if args.command == "sync":
        from git_nbcollab.commands.sync import sync

        return lambda: sync(
            resolve=args.resolve,
            outputs=args.outputs,
            message=args.message,
            take_saved=args.take_saved,
        )
    if args.command == "lab":
        from git_nbcollab.commands.lab import lab

        return lambda: lab(port=args.port)
    if args.command == "merge-driver":
        from git_nbcollab.commands.merge_driver import merge_driver

        return lambda: merge_driver(
            base=args.base, ours=args.ours, theirs=args.theirs, path=args.path
        )
    if args.command == "check":
        return _check_command(args)
    if args.command == "project":
        from git_nbcollab.commands.project import project_set

        return lambda: project_set(
            spec=args.spec,
            title=args.title,
            task=args.task,
            tags=args.tags,
            check_command=args.check_command,
        )
    if args.command in ("versions", "show"):
        from git_nbcollab.commands import versions

        if args.command == "show":
            return lambda: versions.show(version=args.version, fetch=args.fetch, as_json=args.json)
        return lambda: versions.versions(which=args.which, as_json=args.json)
    if args.command == "init":
        from git_nbcollab.commands.init import check_settings, init

        return lambda: init(
            root=args.root,
            service_user=args.service_user,
            team_group=args.team_group,
            ssh=args.ssh,
            mirror=args.mirror,
            s3_endpoint=args.s3_endpoint,
            full_every=args.full_every,
            limits={field: getattr(args, field) for field in LIMITS},
            runner_user=args.runner_user,
            checks=check_settings(
                args.checks, args.check_timeout, args.check_memory_mb, args.required_checks
            ),
            bin_dir=args.bin_dir,
            runtime_dir=args.runtime,
            helps={command: build().format_help() for command, build in PARSERS.items()},
        )
    if args.command == "backup":
        from git_nbcollab.commands import backup

        if args.action == "verify":
            return lambda: backup.verify(root=args.root, collab=args.collab)
        if args.action == "status":
            return lambda: backup.status(root=args.root, as_json=args.json)
        return lambda: backup.run(root=args.root)
    if args.command == "log":
        from git_nbcollab.commands.log import log

        return lambda: log(
            root=args.root, collab=args.collab, who=args.user, since=args.since, as_json=args.json
        )
    if args.command == "restore":
        from git_nbcollab.commands.restore import restore

        return lambda: restore(
            source=args.source, root=args.root, collab=args.collab, s3_endpoint=args.s3_endpoint
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
    words = list(sys.argv[1:] if argv is None else argv)
    command = words[0] if words else None  # `-h` alone (or before it) shows them all
    return run_main(
        "git nbcollab", lambda: _nbcollab_command(_nbcollab_parser(command).parse_args(words))()
    )


# The console scripts (pyproject.toml), ended by `exit_now`; tests and the JupyterLab extension
# call the commands above, which return.
def nbshare_script() -> NoReturn:
    exit_now(nbshare())


def nbpublish_script() -> NoReturn:
    exit_now(nbpublish())


def nbcollab_script() -> NoReturn:
    exit_now(nbcollab())


PARSERS: dict[str, Callable[[], Parser]] = {
    "git-nbshare": _nbshare_parser,
    "git-nbpublish": _nbpublish_parser,
    "git-nbcollab": _nbcollab_parser,
}
