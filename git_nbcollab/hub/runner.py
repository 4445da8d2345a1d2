"""The check runner's forced command: run as the runner account (never the service account), it
reads one version's files and answers with what the checks found.

sshd starts it for the service account's runner key (`box/runner.py`). It reads a JSON line
(the notebook's name, the limits, the project's check command) and then the version's files as
a tar stream (`git archive` of the tag's commit), unpacks the regular files into a folder of its
own, runs `run_checks` there as itself, and writes `{"checks": checks.json, "executed": base64}`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import IO, Any

from git_nbcollab.errors import UserError
from git_nbcollab.names import notebook_file

MAX_HEADER = 1 << 16


def unpack(stream: IO[bytes], target: str) -> None:
    """The folders and regular files of a tar stream, under `target` only (links and devices
    are left out, as are names that would leave the folder)."""
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if not parts or parts[0] == "/" or ".." in parts:
                continue
            if member.isfile() or member.isdir():
                tar.extract(member, target, set_attrs=False)


def check(stream: IO[bytes]) -> dict[str, Any]:
    from git_nbcollab.checks import Limits, run_checks

    asked = json.loads(stream.readline(MAX_HEADER))
    known = {f.name for f in dataclasses.fields(Limits)}
    given: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in asked["limits"].items()
    }
    limits = Limits(**{k: v for k, v in given.items() if k in known})
    notebook = notebook_file(asked["notebook"])
    with tempfile.TemporaryDirectory(prefix="nbcollab-version-") as folder:
        unpack(stream, folder)
        report = run_checks(
            Path(folder), notebook, limits, runner=None, project=str(asked.get("project") or "")
        )
    executed = base64.b64encode(report.executed).decode() if report.executed else None
    return {"checks": json.loads(report.to_json()), "executed": executed}


def main() -> int:
    try:
        answer = check(sys.stdin.buffer)
    except (UserError, ValueError, KeyError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
