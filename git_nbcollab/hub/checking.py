"""The checks of every published version: queued by publish, run by a detached worker.

Publishing only leaves a request (`queue`); the worker, started detached and niced as the
service account (as the backup uploader is), runs the version's checks through the runner
account (`box/runner.py`: over the box's sshd, to the forced command `hub/runner.py`), never
itself. Layout under `<root>/spool/checks/` (the service account's, 0700):

    queued/<Name>@<version>    a version waiting; it holds the collaboration's id
    running/<Name>@<version>   the version being checked (back to queued if the worker died)
    .lock                      one worker at a time

What the checks found is kept twice: `checks.json` and `executed.ipynb` beside the version in
the published tree, and a git note (`refs/notes/nbcollab-checks`) on the tag's commit, which
clones fetch. Both reach the mirror with the rest of the backup.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from git_nbcollab import audit, backup, proc, repo
from git_nbcollab.fsutil import atomic_write, locked
from git_nbcollab.hub import project, published
from git_nbcollab.layout import Hub, Settings
from git_nbcollab.names import CHECKS_NOTES, CollabId, collab_id, final_file, version_tag

QUEUED, RUNNING, PASSED, FAILED = "queued", "running", "passed", "failed"
UNCHECKED = "unchecked"  # published before checks were on, or with checks off
MARGIN_S = 120  # beyond the notebook's own limit, for copying, the other checks and ssh


def _entry(name: str, version: str) -> str:
    return f"{name}@{version}"


def queue(hub: Hub, cid: CollabId, name: str, version: str) -> None:
    """Ask for the checks of a version just published, and start the worker; return at once."""
    folder = hub.checks_spool / QUEUED
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(folder / _entry(name, version), cid.encode(), 0o600)
    backup.detach(backup.uploader_command(str(hub.root), "git_nbcollab.hub.checking"))


def state(hub: Hub, name: str, version: str) -> dict[str, Any]:
    """Where a version's checks are: queued, running, passed or failed (+ the first failure)."""
    found = published.checked(hub, name, version)
    if found is not None:
        return {"state": found["state"], "first_failure": found.get("first_failure")}
    for where in (RUNNING, QUEUED):
        if (hub.checks_spool / where / _entry(name, version)).exists():
            return {"state": where, "first_failure": None}
    return {"state": UNCHECKED, "first_failure": None}


def _ssh(hub: Hub, settings: Settings) -> list[str]:
    host, _, port = settings.ssh.partition(":")
    known = hub.authorized_keys.parent / "known_hosts"
    options = ("BatchMode=yes", "IdentitiesOnly=yes", "StrictHostKeyChecking=accept-new",
               f"UserKnownHostsFile={known}", "LogLevel=ERROR")  # fmt: skip
    return [
        "ssh", "-i", str(hub.runner_key), *(w for o in options for w in ("-o", o)),
        "-p", port or "22", f"{settings.runner_user}@{host}", "check",
    ]  # fmt: skip


def request(settings: Settings, name: str, check_command: str) -> dict[str, Any]:
    """What the runner is asked: the notebook, the limits the admin set, the project's check
    (required too: the project asked for it)."""
    required = [c for c in settings.checks.split(",") if c]
    limits = {
        "timeout_s": settings.check_timeout,
        "memory_mb": settings.check_memory_mb,
        "max_notebook_mb": settings.max_file_mb,
        "required": [*required, "project"] if check_command else required,
    }
    return {"notebook": final_file(name), "limits": limits, "project": check_command}


def _run(hub: Hub, cid: CollabId, name: str, version: str) -> tuple[str, dict[str, Any], bytes]:
    """Check one version through the runner: (tag's commit, checks.json, executed copy)."""
    settings, path = hub.settings, hub.repo(cid)
    commit = repo.git(path, "rev-parse", f"{version_tag(name, version)}^{{commit}}").strip()
    command = project.read(path).get("check_command", "")
    asked = json.dumps(request(settings, name, command)).encode() + b"\n"
    files = repo.git_bytes(path, "archive", "--format=tar", commit)
    try:
        done = proc.run(*_ssh(hub, settings), input=asked + files, check=False,
                        timeout=settings.check_timeout + MARGIN_S)  # fmt: skip
        answer = json.loads(done.stdout) if done.returncode == 0 else None
    except (subprocess.TimeoutExpired, ValueError):
        done, answer = None, None
    if not isinstance(answer, dict) or not isinstance(answer.get("checks"), dict):
        why = proc.reason(done.stderr) if done else "no answer in time"
        return commit, _runner_failed(settings, why or f"exit {done and done.returncode}"), b""
    return commit, answer["checks"], base64.b64decode(answer.get("executed") or "")


def _runner_failed(settings: Settings, why: str) -> dict[str, Any]:
    message = f"the check runner ({settings.runner_user}) failed: {why}"
    check = {"name": "runner", "passed": False, "message": message, "cells": []}
    return {"state": FAILED, "first_failure": "runner", "checks": [check]}


def _note(hub: Hub, settings: Settings, cid: CollabId, commit: str, text: str) -> None:
    path = hub.repo(cid)
    old = repo.rev(path, CHECKS_NOTES)
    who = ["-c", f"user.name={settings.service_user}", "-c", "user.email=nbcollab@hub"]
    proc.run("git", "--git-dir", str(path), *who, "notes", f"--ref={CHECKS_NOTES}", "add",
             "-f", "-F", "-", commit, input=text.encode())  # fmt: skip
    moved = [(CHECKS_NOTES, old or "", repo.rev(path, CHECKS_NOTES) or "")]
    audit.write(str(hub.root), settings.service_user, "checks", cid, moved)


def _save(hub: Hub, cid: CollabId, name: str, version: str) -> None:
    """Run the checks of one version and keep what they found (under the publish lock)."""
    commit, found, executed = _run(hub, cid, name, version)
    text = json.dumps(found, indent=1, sort_keys=True) + "\n"
    settings = hub.settings
    with locked(hub.collabs_lock):
        target = published.folder(hub, name) / f"v{version}"
        if executed:
            atomic_write(target / published.EXECUTED, executed, 0o440)
        atomic_write(target / published.CHECKS, text.encode(), 0o440)
        _note(hub, settings, cid, commit, text)
        published.update_latest(hub, name)
    backup.queue(hub, cid)  # refs written on the hub fire no hook: the note needs a backup


def _waiting(hub: Hub) -> list[Path]:
    folder = hub.checks_spool / QUEUED
    found = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
    return sorted(found, key=lambda p: p.stat().st_mtime_ns)


def drain(hub: Hub) -> None:
    """Check every queued version, oldest first (call with the worker lock held)."""
    running = hub.checks_spool / RUNNING
    running.mkdir(mode=0o700, exist_ok=True)
    for stale in running.iterdir():  # a worker killed mid-way: check that version again
        os.replace(stale, hub.checks_spool / QUEUED / stale.name)
    while waiting := _waiting(hub):
        taken = running / waiting[0].name
        os.replace(waiting[0], taken)
        name, _, version = taken.name.rpartition("@")
        _save(hub, collab_id(taken.read_text().strip()), name, version)
        taken.unlink()


def main(argv: list[str] | None = None) -> int:
    """The detached worker: `python -I -m git_nbcollab.hub.checking ROOT`."""
    args = sys.argv[1:] if argv is None else argv
    os.umask(0o027)  # what it writes into the published tree is the team's to read
    hub = Hub(Path(args[0]))
    while _waiting(hub):
        with locked(hub.checks_spool / ".lock", wait=False) as mine:
            if not mine:
                return 0  # the worker holding the lock looks again after it lets go
            try:
                drain(hub)
            except Exception as e:  # nobody sees our stderr: leave it where the admin looks
                audit.write(str(hub.root), hub.settings.service_user, "checks", "", (), str(e))
                return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
