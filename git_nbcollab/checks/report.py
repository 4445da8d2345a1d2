"""What a run of the checks found: records, `checks.json`, and the text a person reads."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT = 1  # of checks.json; bump when a field changes meaning
CHECKS = ("valid", "executes", "reproduces", "secrets", "size")  # "project" when a project adds one
PASSED, FAILED = "passed", "failed"


@dataclass(frozen=True)
class Limits:
    """What the admin allows a check run (hub settings), and which checks must pass."""

    timeout_s: int = 600  # the whole notebook, top to bottom
    memory_mb: int = 2048  # address space of the executing processes
    max_notebook_mb: int = 50
    max_output_mb: int = 10  # each output, as stored
    images: bool = False  # compare image outputs too (they rarely reproduce byte for byte)
    required: tuple[str, ...] = (*CHECKS, "project")  # a failure of another one only warns


@dataclass(frozen=True)
class Finding:
    cell: int  # counted from 1, as JupyterLab's status bar does
    message: str


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    message: str  # one line: what was found, or what was checked
    cells: tuple[Finding, ...] = ()
    seconds: float = 0.0
    required: bool = True


@dataclass
class Report:
    notebook: str
    checks: list[Check]
    limits: Limits
    started: str  # UTC, ISO 8601
    seconds: float = 0.0
    kernel: str = ""
    runner: str = ""  # the account the notebook ran as
    network: str = ""  # "closed" or "open"
    executed: bytes | None = field(default=None, repr=False)  # the executed copy, if it ran

    @property
    def state(self) -> str:
        return FAILED if self.first_failure else PASSED

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if c.required and not c.passed), None)

    def as_dict(self) -> dict[str, Any]:
        first = self.first_failure
        return {
            "format": FORMAT,
            "notebook": self.notebook,
            "state": self.state,
            "first_failure": first.name if first else None,
            "started": self.started,
            "seconds": round(self.seconds, 3),
            "kernel": self.kernel,
            "runner": self.runner,
            "network": self.network,
            "limits": {**asdict(self.limits), "required": list(self.limits.required)},
            "checks": [
                {
                    "name": c.name,
                    "passed": c.passed,
                    "required": c.required,
                    "message": c.message,
                    "seconds": round(c.seconds, 3),
                    "cells": [{"cell": f.cell, "message": f.message} for f in c.cells],
                }
                for c in self.checks
            ],
        }

    def to_json(self) -> str:
        """The content of checks.json."""
        return json.dumps(self.as_dict(), indent=1, sort_keys=True) + "\n"

    def lines(self) -> list[str]:
        """The report a person reads: one line per check, one indented line per cell."""
        ran = f" ({self.kernel}, {self.seconds:.1f}s)" if self.kernel else ""
        out = [f"{self.notebook}: {self.state}{ran}"]
        for c in self.checks:
            mark = "ok  " if c.passed else ("FAIL" if c.required else "warn")
            out.append(f"  {mark} {c.name}: {c.message}")
            out.extend(f"         cell {f.cell}: {f.message}" for f in c.cells)
        return out
