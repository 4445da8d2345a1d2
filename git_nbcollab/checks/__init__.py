"""The checks a published notebook gets, and the runner that executes it safely.

`run_checks(folder, notebook, limits, runner=...)` returns a `Report` (`.state`, `.checks`,
`.first_failure`, `.to_json()` for checks.json, `.executed` for the executed copy).
"""

from __future__ import annotations

from pathlib import Path

from git_nbcollab.checks.report import CHECKS, FAILED, PASSED, Check, Finding, Limits, Report

__all__ = ["CHECKS", "FAILED", "PASSED", "Check", "Finding", "Limits", "Report", "run_checks"]


def run_checks(
    folder: Path, notebook: str, limits: Limits, *, runner: str | None, project: str = ""
) -> Report:
    """See `git_nbcollab.checks.run.run_checks` (imported here only when called: `--help`
    reads `Limits` from this package and must not pay for the runner)."""
    from git_nbcollab.checks import run

    return run.run_checks(folder, notebook, limits, runner=runner, project=project)
