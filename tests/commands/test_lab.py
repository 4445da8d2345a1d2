"""`git nbcollab lab`: a teammate's own JupyterLab, from the shared runtime, rooted at their
~/notebooks, on 127.0.0.1, with a token nobody else on the box can read."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from git_nbcollab.cli import nbcollab
from tests import lab
from tests.box import Box, free_port
from tests.conftest import require


def _get(url: str, token: str) -> object:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def test_lab_starts_the_teammates_own_jupyterlab(box: Box, tmp_path: Path) -> None:
    require(lab.missing_lab(box))
    who, port = box.user("carol"), free_port()
    box.put(
        "carol", b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "c.ipynb"
    )
    env = [f"HOME={box.home('carol')}", f"USER={who}", f"LOGNAME={who}", "LANG=C.UTF-8",
           f"PATH={box.bin_dir}:/usr/local/bin:/usr/bin:/bin"]  # fmt: skip
    log = tmp_path / "lab.log"
    with open(log, "wb") as out:
        runuser = subprocess.Popen(
            [
                "runuser",
                "-u",
                who,
                "--",
                "env",
                "-i",
                *env,
                "git",
                "nbcollab",
                "lab",
                "--port",
                str(port),
            ],
            cwd="/",
            stdout=subprocess.PIPE,
            stderr=out,
        )
    server = lab.Lab(port, "", lab._server_pid(runuser), log)
    try:
        assert runuser.stdout is not None
        said = [runuser.stdout.readline().decode() for _ in range(2)]
        url = re.search(r"http://127\.0\.0\.1:(\d+)/lab\?token=(\w+)", said[0])
        assert url and int(url[1]) == port, said
        token = url[2]
        assert said[1].startswith(
            f"from a laptop: ssh -N -L {port}:127.0.0.1:{port} {who}@127.0.0.1 -p {box.port}"
        )
        lab._ready(lab.Lab(port, token, server.pid, log), runuser)
        listed = _get(f"http://127.0.0.1:{port}/api/contents", token)
        assert isinstance(listed, dict)
        folder = box.home("carol") / "notebooks"  # JupyterLab hides dot files
        there = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
        assert {e["name"] for e in listed["content"]} == there >= {"c.ipynb", "shared"}
        team = _get(f"http://127.0.0.1:{port}/nbcollab/team", token)
        assert isinstance(team, dict) and who in team["members"]
        command_line = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        assert token.encode() not in command_line, "the token is visible to everyone in ps"
        assert Path(f"/proc/{server.pid}").stat().st_uid == Path(box.home("carol")).stat().st_uid
    finally:
        lab._stop(server.pid, runuser)


def test_lab_without_jupyterlab_in_the_runtime_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert nbcollab(["lab"]) == 1
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and f"JupyterLab is not installed in {tmp_path}" in said
