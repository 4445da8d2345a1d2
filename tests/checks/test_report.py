"""Tests for git_nbcollab.checks.report: the state, the first failure, checks.json, the text."""

from __future__ import annotations

import json

from git_nbcollab.checks.report import Check, Finding, Limits, Report


def report(*checks: Check, required: tuple[str, ...] = Limits().required) -> Report:
    return Report("a.ipynb", list(checks), Limits(required=required), "2026-01-01T00:00:00Z", 2.5)


def test_the_state_follows_the_required_checks_only() -> None:
    secrets = Check("secrets", False, "secrets in cell 2", (Finding(2, "GitHub token"),))
    executes = Check("executes", False, "cell 3: boom", (Finding(3, "boom"),))
    valid = Check("valid", True, "fine")
    assert report(valid, executes, secrets).first_failure == executes
    assert report(valid, executes, secrets).state == "failed"
    lenient = report(
        valid,
        Check("executes", False, "cell 3: boom", required=False),
        Check("secrets", True, "none"),
        required=("valid", "secrets"),
    )
    assert lenient.state == "passed" and lenient.first_failure is None
    assert "  warn executes: cell 3: boom" in lenient.lines()


def test_checks_json_has_the_format_time_kernel_durations_and_cells() -> None:
    done = report(
        Check("valid", True, "fine", seconds=0.01234),
        Check("secrets", False, "secrets in cell 2", (Finding(2, "GitHub token (ghp_...)"),)),
    )
    done.kernel = "python3"
    data = json.loads(done.to_json())
    assert data["format"] == 1 and data["state"] == "failed"
    assert data["first_failure"] == "secrets"
    assert data["started"] == "2026-01-01T00:00:00Z" and data["seconds"] == 2.5
    assert data["kernel"] == "python3"
    assert data["limits"]["timeout_s"] == Limits().timeout_s
    assert data["checks"][0] == {
        "name": "valid",
        "passed": True,
        "required": True,
        "message": "fine",
        "seconds": 0.012,
        "cells": [],
    }
    assert data["checks"][1]["cells"] == [{"cell": 2, "message": "GitHub token (ghp_...)"}]


def test_the_text_report_is_one_line_per_check_and_per_cell() -> None:
    done = report(
        Check("valid", True, "fine"),
        Check("secrets", False, "secrets in cell 2", (Finding(2, "GitHub token (ghp_...)"),)),
    )
    assert done.lines() == [
        "a.ipynb: failed",
        "  ok   valid: fine",
        "  FAIL secrets: secrets in cell 2",
        "         cell 2: GitHub token (ghp_...)",
    ]
