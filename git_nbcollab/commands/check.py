"""`git nbcollab check PATH.ipynb` (or `NAME:vX.Y.Z`): run the checks a published version gets,
on a file or on a version's files, now."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from git_nbcollab.checks import Limits, copying, run_checks
from git_nbcollab.errors import REFUSED, UserError
from git_nbcollab.layout import Hub, default_root
from git_nbcollab.output import print_json, say


def _refuse_service_account(runner: str) -> None:
    """The hub's own account owns the hub and the backup credentials: never a runner."""
    hub = Hub(default_root())
    if hub.settings_file.is_file():
        service = hub.settings.service_user
        if runner == service:
            raise UserError(f"{runner!r} is the hub's service account: name another runner")


@contextlib.contextmanager
def _files(path: Path, project: str) -> Iterator[tuple[Path, str, str]]:
    """(folder, notebook, project command) for a notebook file or a published version."""
    if path.suffix == ".ipynb":
        yield copying.resolved(path.parent), path.name, project
        return
    if ":v" not in str(path):
        raise UserError(f"{path} is not a notebook (.ipynb) or a published version NAME:vX.Y.Z")
    from git_nbcollab.client import version

    with version.files(str(path)) as found:
        yield found.folder, found.notebook, project or found.check_command


def check(
    *,
    path: Path,
    limits: Limits,
    runner: str | None,
    project: str = "",
    save: Path | None = None,
    as_json: bool = False,
) -> int:
    """Exit 0 when every required check passed, 1 when one failed."""
    if os.geteuid() == 0 and runner is None:
        raise UserError(
            "as root, name the account the notebook runs as: --runner NAME"
            " (notebook code never runs as root)"
        )
    if runner:
        _refuse_service_account(runner)
    if save and (save.exists() or save.is_symlink()):
        raise UserError(f"{save} exists: name a new file for --save-executed")
    with _files(path, project) as (folder, notebook, command):
        report = run_checks(folder, notebook, limits, runner=runner, project=command)
    if save and report.executed is not None:
        save.write_bytes(report.executed)
    if as_json:
        print_json(report.as_dict())
    else:
        for line in report.lines():
            say(line)
    return 0 if report.state == "passed" else REFUSED
