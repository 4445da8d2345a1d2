"""The team's own environment, registered by the admin as a kernel (README: "In JupyterLab"),
is listed in a teammate's JupyterLab and runs their code, as them, with the team's packages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path
from typing import Any

from tests import lab
from tests.box import Box
from tests.conftest import require


def _api(
    server: lab.Lab, route: str, body: dict[str, Any] | None = None, method: str = "GET"
) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/{route}",
        data=None if body is None else json.dumps(body).encode(),
        method=method if body is None else "POST",
        headers={"Authorization": f"token {server.token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def _team_env(box: Box) -> Path:
    """A Python environment of the team's own, with a package the runtime does not have. Its
    ipykernel comes from the runtime's packages (a .pth line), standing in for the
    `pip install ipykernel` the README shows, which needs a download."""
    env = box.base / "team-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = Path(next((env / "lib").glob("python3*"))) / "site-packages"
    (site / "team_marker.py").write_text("WHERE = 'the team env'\n")
    (site / "runtime.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env


def _run(box: Box, kernel_id: str, code: str) -> str:
    """Run `code` in the kernel (as the teammate's JupyterLab started it); what it printed."""
    from jupyter_client import BlockingKernelClient

    runtime = box.home("alice") / ".local" / "share" / "jupyter" / "runtime"
    client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    printed: list[str] = []
    try:
        client.wait_for_ready(timeout=60)

        def hook(message: dict[str, Any]) -> None:
            if message["header"]["msg_type"] == "stream":
                printed.append(message["content"]["text"])

        client.execute_interactive(code, output_hook=hook, timeout=60)
    finally:
        client.stop_channels()
    return "".join(printed)


def test_the_registered_team_kernel_runs_as_the_teammate(
    box: Box,
    alice_lab: lab.Lab,
) -> None:
    require(lab.missing_lab(box))
    env, name = _team_env(box), f"{box.prefix}team"
    runtime = lab.runtime(box).parent
    register = [str(env / "bin" / "python"), "-m", "ipykernel", "install", "--prefix",
                str(runtime), "--name", name, "--display-name", "Team"]  # fmt: skip
    subprocess.run(register, check=True, capture_output=True)
    spec_dir = runtime / "share" / "jupyter" / "kernels" / name
    try:
        specs = _api(alice_lab, "kernelspecs")["kernelspecs"]
        assert specs[name]["spec"]["argv"][0] == str(env / "bin" / "python")
        kernel = _api(alice_lab, "kernels", {"name": name})
        try:
            said = _run(box, kernel["id"], "import getpass, team_marker\n"
                        "print(team_marker.WHERE, getpass.getuser())")  # fmt: skip
        finally:
            _api(alice_lab, f"kernels/{kernel['id']}", method="DELETE")
        assert said.strip() == f"the team env {box.user('alice')}"
    finally:
        shutil.rmtree(spec_dir, ignore_errors=True)
