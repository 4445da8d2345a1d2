"""The checks a published notebook gets, and the runner that executes it safely.

`run_checks(folder, notebook, limits, runner=...)` returns a `Report` (`.state`, `.checks`,
`.first_failure`, `.to_json()` for checks.json, `.executed` for the executed copy).
"""

from __future__ import annotations

from git_nbcollab.checks.report import CHECKS, FAILED, PASSED, Check, Finding, Limits, Report
from git_nbcollab.checks.run import run_checks

__all__ = ["CHECKS", "FAILED", "PASSED", "Check", "Finding", "Limits", "Report", "run_checks"]
