"""A real JupyterLab 4 run as a real teammate, driven by Playwright through Debian's chromium.

`running(box, "alice", tmp)` starts `jupyter-lab` from the shared runtime the hub was set up
with (the venv every user runs the commands from), as alice (runuser), rooted at her
~/notebooks, on 127.0.0.1 at a free port with a token, and stops it by its pid. `LabPage` is a
browser tab on it that saves a numbered screenshot after every step.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.box import Box, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# What a teammate's JupyterLab would otherwise do on its own while a test drives it: autosave
# (every 120 s, which would save the tab before the test does) and news toasts over the page.
USER_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def runtime(box: Box) -> Path:
    """The shared runtime's bin folder: where the box's `git-nbcollab` link points."""
    return (box.bin_dir / "git-nbcollab").readlink().parent


def missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return "needs Debian's chromium (scripts/install --test)"
    if importlib.util.find_spec("playwright") is None:
        return "needs playwright (pip install '.[test]')"
    return None


def missing_lab(box: Box) -> str | None:
    if not (runtime(box) / "jupyter-lab").exists():
        return f"needs jupyterlab in the shared runtime {runtime(box).parent}"
    return None


@contextlib.contextmanager
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass(frozen=True)
class Lab:
    port: int
    token: str
    pid: int  # the jupyter-lab server, running as the teammate
    log: Path

    def url(self, path: str = "lab") -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"


def _settings(box: Box, short: str) -> None:
    folder = box.home(short) / ".jupyter" / "lab" / "user-settings"
    for plugin, values in USER_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    who = box.user(short)
    for path in [box.home(short) / ".jupyter", *(box.home(short) / ".jupyter").rglob("*")]:
        shutil.chown(path, who, who)


def _ready(lab: Lab, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter-lab exited: {lab.log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(lab.url("api/status"), timeout=5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"jupyter-lab did not answer in {timeout}s: {lab.log.read_text()[-3000:]}")


def _server_pid(runuser: subprocess.Popen[bytes], timeout: float = 10) -> int:
    """runuser forks the command (env, which execs jupyter-lab): its one child is the server."""
    children = Path(f"/proc/{runuser.pid}/task/{runuser.pid}/children")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and runuser.poll() is None:
        found = children.read_text().split()
        if found:
            return int(found[0])
        time.sleep(0.05)
    runuser.kill()
    raise RuntimeError("runuser started no jupyter-lab")


def _stop(pid: int, runuser: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (it shuts its kernels down), SIGKILL if it hangs."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            runuser.wait(30)
            return


def call(
    server: Lab, route: str, body: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    """GET (no body) or POST (a JSON body) /nbcollab/ROUTE; (status, JSON answer)."""
    url = f"http://127.0.0.1:{server.port}/nbcollab/{route}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    request.add_header("Authorization", f"token {token or server.token}")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, json.loads(text) if text.startswith(b"{") else {"body": text.decode()}


@contextlib.contextmanager
def running(box: Box, short: str, tmp: Path) -> Iterator[Lab]:
    """JupyterLab as teammate `short`, rooted at their ~/notebooks; stopped at the end."""
    who, home = box.user(short), box.home(short)
    _settings(box, short)
    env = [
        f"HOME={home}",
        f"USER={who}",
        f"LOGNAME={who}",
        "SHELL=/bin/bash",
        "LANG=C.UTF-8",
        f"PATH={box.bin_dir}:/usr/local/bin:/usr/bin:/bin",
    ]
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(runtime(box) / "jupyter-lab"),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={home / 'notebooks'}",
    ]
    log = tmp / f"jupyter-lab-{short}.log"
    with open(log, "wb") as out:
        runuser = subprocess.Popen(
            ["runuser", "-u", who, "--", "env", "-i", *env, *command],
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    lab = Lab(port, token, _server_pid(runuser), log)
    try:
        _ready(lab, runuser)
        yield lab
    finally:
        _stop(lab.pid, runuser)


@dataclass
class LabPage:
    """A browser tab on a Lab; `shot` saves `NN-step.png` under `shots`."""

    page: Page
    shots: Path
    taken: int = 0

    def shot(self, step: str) -> Path:
        self.taken += 1
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.taken:02d}-{step}.png"
        self.page.screenshot(path=str(path))
        return path

    def goto(self, lab: Lab, path: str = "lab") -> None:
        """Load a page of the Lab on a fresh workspace (not the tabs an earlier page left)."""
        self.page.goto(lab.url(path) + "&reset")

    def open_notebook(self, lab: Lab, path: str) -> None:
        """Open a notebook by its path under the Lab's root, and wait until its cells show."""
        self.goto(lab, f"lab/tree/{path}")
        self.cell(0).wait_for(timeout=60_000)
        self.shot("opened")

    def cell(self, index: int) -> Locator:
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)

    def type_into_cell(self, index: int, text: str) -> None:
        """Replace a cell's text by typing, as a person would; the tab is then unsaved."""
        editor = self.cell(index).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.type(text)
        self.page.keyboard.press("Escape")  # command mode: the edit stays in the tab only
        self.shot(f"typed-cell-{index + 1}")

    def save(self) -> None:
        self.page.keyboard.press("Control+s")

    def dialog(self, title: str) -> Locator:
        found = self.page.locator(".jp-Dialog", has_text=title)
        found.wait_for(timeout=30_000)
        self.shot(title.lower().replace(" ", "-"))
        return found

    def saved(self) -> None:
        """Wait until the open notebook has no unsaved changes."""
        self.page.locator(".jp-mod-current.jp-mod-dirty").wait_for(state="detached")
        self.shot("saved")

    def toolbar(self, item: str) -> Locator:
        """A toolbar item of the visible notebook, by its name (`nbcollab-sync`)."""
        return self.page.locator(f'.jp-NotebookPanel:visible [data-jp-item-name="{item}"]')

    def source(self, index: int) -> str:
        """A cell's text as the tab shows it."""
        return self.cell(index).locator(".cm-content").inner_text()

    def file_menu(self, name: str, item: str) -> None:
        """Right-click a file in the file browser and pick an item of its context menu."""
        self.page.locator(".jp-DirListing-item", has_text=name).first.click(button="right")
        self.page.locator(".lm-Menu-item", has_text=item).first.click()

    def sidebar(self, panel_id: str) -> Locator:
        """Open a left-area panel by its id (clicking its tab again would close it)."""
        found = self.page.locator(f"#{panel_id}")
        if not found.is_visible():
            self.page.locator(f'.lm-TabBar-tab[data-id="{panel_id}"]').click()
        found.wait_for()
        self.shot(panel_id)
        return found
