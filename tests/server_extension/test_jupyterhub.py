"""The README's JupyterHub configuration, run for real (README: "In JupyterLab").

JupyterHub starts as root on 127.0.0.1 with the README's own `jupyterhub_config.py` (read from
the README, with this box's runtime, team group and a free port put in), its proxy from the
runtime, and PAM logins with a password set for a throwaway teammate. Each teammate logs in
over HTTP as a browser would, and their server is spawned (LocalProcessSpawner) from the shared
runtime as their own unix user, rooted at ~/notebooks, with the extension's handlers and its
frontend there. Every process the hub started is stopped by its pid at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.box import Box, free_port
from tests.conftest import require
from tests.lab import runtime

README = Path(__file__).resolve().parents[2] / "README.md"
PAM_SERVICE = Path("/etc/pam.d/login")  # the PAM service JupyterHub's PAMAuthenticator uses
# This test's own lines after the README's: ports nobody else on the box uses, and time to
# start a JupyterLab on a machine the whole suite shares.
TEST_ONLY = """
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
"""


def readme_config() -> str:
    """The README's jupyterhub_config.py, as an admin would copy it."""
    blocks = re.findall(
        r"```python\n(# /etc/jupyterhub/jupyterhub_config\.py\n.*?)```", README.read_text(), re.S
    )
    assert len(blocks) == 1, "the README shows one jupyterhub_config.py"
    return str(blocks[0])


def box_config(box: Box, port: int) -> str:
    """The README's file with this box's runtime, team group and port in place of the README's."""
    text = readme_config()
    for old, new in {
        "/opt/git-nbcollab/": f"{runtime(box).parent}/",
        '"nbcollab-team"': f'"{box.team}"',
        "127.0.0.1:8000": f"127.0.0.1:{port}",
    }.items():
        assert old in text, f"the README's jupyterhub_config.py no longer says {old}"
        text = text.replace(old, new)
    return text + TEST_ONLY.format(hub_port=free_port(), api_port=free_port())


def missing_jupyterhub(box: Box) -> str | None:
    for tool in ("jupyterhub", "jupyterhub-singleuser", "configurable-http-proxy"):
        if not (runtime(box) / tool).exists():
            return f"needs {tool} in the shared runtime {runtime(box)} (scripts/install --test)"
    if not PAM_SERVICE.exists():
        return f"needs PAM ({PAM_SERVICE})"
    return None


@dataclass(frozen=True)
class Hub:
    url: str
    pid: int
    folder: Path  # its database, cookie secret, proxy pid file and log

    def log(self) -> str:
        return (self.folder / "jupyterhub.log").read_text()[-4000:]


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                found += [int(p) for p in (task / "children").read_text().split()]
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _wait_until_up(hub: Hub, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyterhub exited: {hub.log()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{hub.url}/hub/api/", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"jupyterhub did not answer in {timeout}s: {hub.log()}")


def _stop(process: subprocess.Popen[bytes], folder: Path) -> None:
    """Stop the hub, then whatever it started (proxy, teammates' servers) that is still there,
    each by its pid."""
    started = {pid: command_line(pid) for pid in children(process.pid)}
    proxy_pid = folder / "jupyterhub-proxy.pid"
    if proxy_pid.exists():
        pid = int(proxy_pid.read_text())
        started[pid] = command_line(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(60)
            break
    for pid, line in started.items():
        if line and command_line(pid) == line:  # still the process the hub started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for secret in ("jupyterhub.sqlite", "jupyterhub_cookie_secret"):  # the log stays
        (folder / secret).unlink(missing_ok=True)


@contextlib.contextmanager
def hub_running(box: Box, folder: Path) -> Iterator[Hub]:
    """JupyterHub as root with the README's configuration, from the shared runtime."""
    port = free_port()
    config = folder / "jupyterhub_config.py"
    config.write_text(box_config(box, port))
    env = {
        "PATH": f"{box.bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
    }
    with open(folder / "jupyterhub.log", "wb") as out:
        process = subprocess.Popen(
            [str(runtime(box) / "jupyterhub"), "-f", str(config)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    hub = Hub(f"http://127.0.0.1:{port}", process.pid, folder)
    try:
        _wait_until_up(hub, process)
        yield hub
    finally:
        _stop(process, folder)


def shadow(who: str) -> str:
    return subprocess.run(
        ["getent", "shadow", who], capture_output=True, text=True, check=True
    ).stdout.strip()


@contextlib.contextmanager
def password(who: str, secret: str) -> Iterator[None]:
    """A login password for `who` (chpasswd); their shadow entry is put back afterwards."""
    before = shadow(who)
    old_hash, last_change = before.split(":")[1:3]
    subprocess.run(["chpasswd"], input=f"{who}:{secret}\n", text=True, check=True)
    try:
        yield
    finally:
        subprocess.run(["usermod", "-p", old_hash, who], check=True)
        subprocess.run(["chage", "-d", last_change or "-1", who], check=True)
        assert shadow(who) == before


def log_in(hub: Hub, who: str, secret: str) -> tuple[requests.Session, int]:
    """A browser-like session that filled in the hub's login page; the answer's status
    (302 on to the server when the hub let them in)."""
    session = requests.Session()
    page = session.get(f"{hub.url}/hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert xsrf, page.text
    answer = session.post(
        f"{hub.url}/hub/login",
        data={"username": who, "password": secret, "_xsrf": xsrf.group(1)},
        allow_redirects=False,
        timeout=60,
    )
    return session, answer.status_code


def spawned(hub: Hub, session: requests.Session, who: str, timeout: float = 300) -> int:
    """Start `who`'s server through the hub's REST API; the pid of the server it runs."""
    xsrf = session.cookies.get("_xsrf", path="/hub/")
    assert xsrf, "the hub set no _xsrf cookie"
    api = f"{hub.url}/hub/api/users/{who}"
    answer = session.post(f"{api}/server", headers={"X-XSRFToken": xsrf}, timeout=60)
    assert answer.status_code in (201, 202), f"{answer.status_code} {answer.text} {hub.log()}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = session.get(api, headers={"X-XSRFToken": xsrf}, timeout=30).json()
        if server["servers"].get("", {}).get("ready"):
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"{who}'s server is not ready after {timeout}s: {hub.log()}")
    servers = [p for p in children(hub.pid) if "jupyterhub-singleuser" in command_line(p)]
    assert len(servers) == 1, servers
    return servers[0]


def ids(pid: int, which: str) -> set[int]:
    """The real, effective, saved and filesystem `Uid` or `Gid` of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith(f"{which}:"))
    return {int(n) for n in line.split()[1:]}


def page_config(html: str) -> dict[str, Any]:
    """The JupyterLab page's own configuration (what the page loads its extensions from)."""
    found = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, html[:2000]
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_the_readme_jupyterhub_config_spawns_each_teammate_as_themselves(
    box: Box, tmp_path: Path
) -> None:
    require(missing_jupyterhub(box))
    cid = box.share("alice", ["bob"], "hubbed.ipynb")
    alice, bob = box.user("alice"), box.user("bob")
    secrets = {who: os.urandom(12).hex() for who in (alice, bob, box.runner)}
    with (
        password(alice, secrets[alice]),
        password(bob, secrets[bob]),
        password(box.runner, secrets[box.runner]),
        hub_running(box, tmp_path) as hub,
    ):
        session, status = log_in(hub, alice, secrets[alice])
        assert status == 302, hub.log()
        pid = spawned(hub, session, alice)
        account = pwd.getpwnam(alice)
        assert ids(pid, "Uid") == {account.pw_uid} and ids(pid, "Gid") == {account.pw_gid}
        assert f"{runtime(box) / 'jupyterhub-singleuser'} " in command_line(pid)

        user = f"{hub.url}/user/{alice}"
        page = session.get(f"{user}/lab", timeout=120)  # through the hub's OAuth, as a browser
        assert page.status_code == 200, page.text[:2000]
        loaded = [e["name"] for e in page_config(page.text)["federated_extensions"]]
        assert "git-nbcollab" in loaded, loaded
        extensions = session.get(f"{user}/lab/api/extensions", timeout=60).json()
        ours = [e for e in extensions if e["name"] == "git-nbcollab"]
        assert ours and ours[0]["enabled"], [e["name"] for e in extensions]

        answer = session.get(f"{user}/nbcollab/collabs", timeout=120)
        listed = box.run("alice", "git", "nbcollab", "list", "--json")
        assert answer.status_code == 200, answer.text
        assert answer.json()["collabs"] == json.loads(listed.stdout)
        assert cid in [c["id"] for c in answer.json()["collabs"]]

        root = session.get(f"{user}/api/contents", timeout=60).json()
        shown = {item["name"] for item in root["content"]}
        on_disk = {p.name for p in (box.home("alice") / "notebooks").iterdir()}
        assert {"hubbed", "shared"} <= shown <= on_disk, "not rooted at alice's ~/notebooks"

        # bob, logged in on the same hub, is refused alice's server by the hub itself
        intruder, status = log_in(hub, bob, secrets[bob])
        assert status == 302, hub.log()
        page = intruder.get(f"{user}/lab", timeout=120)
        assert page.status_code == 403 and "/hub/api/oauth2/authorize" in page.url, page.url
        answer = intruder.get(f"{user}/nbcollab/collabs", timeout=120)
        assert answer.status_code == 403 and cid not in answer.text, answer.text[:2000]

        # an account of the box outside the team group does not get in, right password or not
        _, status = log_in(hub, box.runner, secrets[box.runner])
        assert status == 403, hub.log()
