"""Run every check on one notebook of a folder: the pure ones here, on the file as given; the
notebook's own code (and a project's command) in a sandbox, as the runner."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from git_nbcollab.checks import sandbox, scan
from git_nbcollab.checks.report import Check, Finding, Limits, Report
from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import notebook as nbfile


def _timed(name: str, limits: Limits, work: Callable[[], tuple[bool, str, list[Finding]]]) -> Check:
    start = time.monotonic()
    passed, message, cells = work()
    return Check(
        name,
        passed,
        message,
        tuple(cells),
        time.monotonic() - start,
        name in limits.required,
    )


def _not_run(name: str, why: str, limits: Limits) -> Check:
    return Check(name, False, f"not run: {why}", required=name in limits.required)


def _cells_said(found: list[Finding], ok: str, bad: str) -> tuple[bool, str, list[Finding]]:
    cells = sorted({f.cell for f in found})
    listed = ", ".join(map(str, cells[:10])) + (", ..." if len(cells) > 10 else "")
    return (
        not found,
        ok if not found else f"{bad} in cell{'s' * (len(cells) > 1)} {listed}",
        found,
    )


def _valid(data: bytes, name: str) -> tuple[bool, str, list[Finding]]:
    try:
        nbfile.read(data, name)
    except UserError as e:
        return False, str(e), []
    return True, "a valid notebook (nbformat, strict)", []


def _last_cell(stderr: bytes) -> int:
    lines = [
        line
        for line in stderr.decode(errors="replace").splitlines()
        if line.startswith(sandbox.STARTED)
    ]
    try:
        return int(lines[-1].removeprefix(sandbox.STARTED)) if lines else 0
    except ValueError:
        return 0


def _executed(box: sandbox.Sandbox, name: str) -> tuple[dict[str, Any] | None, Finding | None, str]:
    """Run the notebook in the sandbox: (executed notebook, first problem, kernel)."""
    limits = box.limits
    argv = [sys.executable, "-m", "git_nbcollab.checks.execute", name, str(limits.timeout_s)]
    outcome = sandbox.run(box, argv, limits.timeout_s + 3 * sandbox.GRACE_S)
    try:
        result = json.loads(outcome.result)
    except ValueError:
        result = None
    if isinstance(result, dict) and isinstance(result.get("notebook"), dict):
        problem = result.get("problem")
        found = Finding(int(problem["cell"]), str(problem["message"])) if problem else None
        return result["notebook"], found, str(result.get("kernel", ""))
    cell = _last_cell(outcome.stderr)
    if outcome.timed_out:
        why = f"killed: did not finish within the {limits.timeout_s}s limit"
    elif outcome.code < 0 or outcome.code > 128:
        why = (
            f"killed by a limit: {limits.memory_mb} MB of memory, {limits.timeout_s}s of CPU,"
            f" files of {sandbox.file_limit_mb(limits)} MB"
        )
    else:
        said = outcome.stderr.decode(errors="replace").strip().splitlines()
        why = f"the runner failed (exit {outcome.code}): {said[-1] if said else 'no message'}"
    return None, Finding(cell, why), ""


def _execution(
    box: sandbox.Sandbox, name: str, published: dict[str, Any]
) -> tuple[Check, Check, bytes | None, str]:
    limits = box.limits
    start = time.monotonic()
    executed, problem, kernel = _executed(box, name)
    seconds = time.monotonic() - start
    if problem and problem.message.startswith("MemoryError"):
        problem = Finding(
            problem.cell, f"{problem.message} (the {limits.memory_mb} MB memory limit)"
        )
    ok = f"ran top to bottom on {kernel} in {seconds:.1f}s"
    cells = (problem,) if problem else ()
    said = (
        f"cell {problem.cell}: {problem.message}"
        if problem and problem.cell
        else (problem.message if problem else ok)
    )
    executes = Check(
        "executes", problem is None, said, cells, seconds, "executes" in limits.required
    )
    copy = _checked_copy(executed) if executed is not None else None
    if executed is None or problem is not None:
        not_run = _not_run("reproduces", "the notebook did not execute", limits)
        return executes, not_run, copy, kernel
    paths = (str(box.work), str(box.home))
    reproduces = _timed(
        "reproduces",
        limits,
        lambda: _cells_said(
            scan.differences(published, executed, limits.images, paths),
            "text outputs match the published ones" + (" (and images)" if limits.images else ""),
            "outputs differ",
        ),
    )
    return executes, reproduces, copy, kernel


def _checked_copy(executed: dict[str, Any]) -> bytes | None:
    """The executed copy as a file, if it is a valid notebook (it came from the runner)."""
    data = nbfile.dumps(executed)
    try:
        nbfile.read(data, "the executed copy")
    except UserError:
        return None
    return data


def _project(box: sandbox.Sandbox, command: str) -> tuple[bool, str, list[Finding]]:
    outcome = sandbox.run(box, ["/bin/sh", "-c", command], box.limits.timeout_s)
    lines = outcome.stderr.decode(errors="replace").strip().splitlines()
    last = lines[-1][:200] if lines else ""
    if outcome.timed_out:
        return False, f"{command!r} did not finish within {box.limits.timeout_s}s", []
    if outcome.code != 0:
        return False, f"{command!r} exited {outcome.code}: {last or 'no message'}", []
    return True, f"{command!r} passed" + (f": {last}" if last else ""), []


@dataclass(frozen=True)
class _Ran:
    """What running the notebook in the sandbox adds to the report."""

    runner: str
    network: str
    kernel: str
    executed: bytes | None


def run_checks(
    folder: Path, notebook: str, limits: Limits, *, runner: str | None, project: str = ""
) -> Report:
    """Check `folder/notebook`; its code runs on a throwaway copy of `folder` as `runner` (a unix
    account; None: the current user, refused as root). `project`: a shell command the project
    adds, run in that copy after the notebook."""
    started = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    clock = time.monotonic()
    path = folder / notebook
    try:
        size = os.lstat(path).st_size  # how big, without reading it yet
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    checks, ran = _checks(folder, notebook, size, limits, runner, project)
    report = Report(notebook, checks, limits, started, time.monotonic() - clock)
    if ran:
        report.runner, report.network, report.kernel = ran.runner, ran.network, ran.kernel
        report.executed = ran.executed
    return report


def _read(box: sandbox.Sandbox, path: Path, limits: Limits) -> bytes:
    """The notebook as the throwaway copy has it (read with its owner's rights, as a regular
    file), before any of its code runs."""
    try:
        fd = os.open(box.work / path.name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        raise UserError(f"cannot read {path}: not a regular file its owner can read") from None
    with os.fdopen(fd, "rb") as f:
        return f.read(limits.max_notebook_mb * 1024 * 1024 + 1)


def _checks(
    folder: Path, notebook: str, size: int, limits: Limits, runner: str | None, project: str
) -> tuple[list[Check], _Ran | None]:
    later = ["executes", "reproduces", "secrets", "size"] + (["project"] if project else [])
    if size > limits.max_notebook_mb * 1024 * 1024:
        why = f"the notebook is {scan.mb(size)} MB, over the {limits.max_notebook_mb} MB limit"
        size_check = Check("size", False, why, required="size" in limits.required)
        names = ["valid", *later]
        return [size_check if n == "size" else _not_run(n, why, limits) for n in names], None
    with sandbox.prepared(folder, limits, runner) as box:
        data = _read(box, folder / notebook, limits)
        valid = _timed("valid", limits, lambda: _valid(data, notebook))
        if not valid.passed:
            why = "the notebook is not valid"
            return [valid, *(_not_run(n, why, limits) for n in later)], None
        published = json.loads(data)
        secrets = _timed(
            "secrets",
            limits,
            lambda: _cells_said(
                scan.secrets(published), "none found in sources or outputs", "secrets"
            ),
        )
        sizes = _timed(
            "size",
            limits,
            lambda: _cells_said(
                scan.sizes(published, limits.max_output_mb),
                f"{scan.mb(size)} MB; every output under {limits.max_output_mb} MB",
                "outputs over the limit",
            ),
        )
        executes, reproduces, executed, kernel = _execution(box, notebook, published)
        extra = [_timed("project", limits, lambda: _project(box, project))] if project else []
        who = box.account.name if box.account else sandbox.current_user()
        ran = _Ran(who, box.network, kernel, executed)
    return [valid, executes, reproduces, secrets, sizes, *extra], ran
