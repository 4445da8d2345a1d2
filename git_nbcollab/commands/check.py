"""`git nbcollab check PATH.ipynb`: run the checks a published version gets, on a file, now."""

from __future__ import annotations

import os
from pathlib import Path

from git_nbcollab.checks import Limits, run_checks
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
    if path.suffix != ".ipynb":
        raise UserError(f"{path} is not a notebook (.ipynb)")
    if os.geteuid() == 0 and runner is None:
        raise UserError(
            "as root, name the account the notebook runs as: --runner NAME"
            " (notebook code never runs as root)"
        )
    if runner:
        _refuse_service_account(runner)
    if save and (save.exists() or save.is_symlink()):
        raise UserError(f"{save} exists: name a new file for --save-executed")
    folder = path.parent.resolve()
    report = run_checks(folder, path.name, limits, runner=runner, project=project)
    if save and report.executed is not None:
        save.write_bytes(report.executed)
    if as_json:
        print_json(report.as_dict())
    else:
        for line in report.lines():
            say(line)
    return 0 if report.state == "passed" else REFUSED
