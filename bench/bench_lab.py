"""JupyterLab with the git-nbcollab extension: page load to idle against the same JupyterLab
without it (target: at most 1.1x), and Sync from the notebook's toolbar against `git nbcollab
sync` in a terminal for the same incoming change (target: at most 1.2x), with the REST
handler alone (`POST /nbcollab/sync`) between them to show where the time goes.

Run as root: `python bench/bench_lab.py [N]` (default 5), with the runtime that has the
extension installed. On a throwaway box (tests/box.py): alice's JupyterLab has the extension;
carol's runs from the same runtime with it turned off in her own Jupyter config (the frontend in
labconfig/page_config.json, the server extension in jupyter_server_config.json). Each round
interleaves the two sides; medians of N are printed with their ratio.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from tests import lab  # noqa: E402
from tests.box import Box, edit_cell  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SIDEBAR = '.lm-TabBar-tab[data-id="nbcollab-sidebar"]'
TURNED_OFF = {
    "labconfig/page_config.json": {"disabledExtensions": {"git-nbcollab": True}},
    "jupyter_server_config.json": {
        "ServerApp": {"jpserver_extensions": {"git_nbcollab.lab": False}}
    },
}


def _turn_off(box: Box, short: str) -> None:
    """The extension off for one teammate only, in their own Jupyter config."""
    for name, settings in TURNED_OFF.items():
        path = box.home(short) / ".jupyter" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    for path in [box.home(short) / ".jupyter", *(box.home(short) / ".jupyter").rglob("*")]:
        shutil.chown(path, box.user(short), box.user(short))


def _load(browser: Browser, server: lab.Lab, extension: bool) -> tuple[float, float]:
    """Seconds from asking for the page to its workspace restored (the launcher of a fresh
    workspace shows), and to JupyterLab idle (no request pending for 0.5 s)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        start = time.perf_counter()
        page.goto(server.url() + "&reset")
        page.locator(".jp-Launcher").wait_for(timeout=120_000)
        restored = time.perf_counter() - start
        page.wait_for_load_state("networkidle")
        idle = time.perf_counter() - start
        has = page.locator(SIDEBAR).count() > 0
        assert has == extension, f"the extension is {'missing' if extension else 'still on'}"
        return restored, idle
    finally:
        page.close()


def _median(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:7.0f} ms over {len(seconds)}"


def _report(label: str, mine: list[float], base: list[float], target: float) -> None:
    ratio = statistics.median(mine) / statistics.median(base)
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(f"  ratio {ratio:4.2f}x (target {target}x): {verdict}  [{label}]")


def page_load(browser: Browser, on: lab.Lab, off: lab.Lab, n: int) -> None:
    _load(browser, on, True), _load(browser, off, False)  # warm both servers' caches
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(n):
        for extension, server in ((True, on), (False, off)):
            times[extension].append(_load(browser, server, extension))
    for at, label in enumerate(("workspace restored", "idle")):
        mine, base = [t[at] for t in times[True]], [t[at] for t in times[False]]
        print(f"JupyterLab page load to {label}")
        print(f"  with git-nbcollab     {_median(mine)}")
        print(f"  without (baseline)    {_median(base)}")
        _report(f"page load to {label}", mine, base, 1.1)


def sync(box: Box, browser: Browser, server: lab.Lab, n: int, shots: Path) -> None:
    cid = box.share("alice", ["bob"], "benchsync.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid).returncode == 0
    mine = box.home("alice") / "notebooks" / "benchsync"
    theirs = box.home("bob") / "notebooks" / "benchsync"
    page = lab.LabPage(browser.new_page(viewport={"width": 1400, "height": 900}), shots)
    page.open_notebook(server, "benchsync/benchsync.ipynb")

    def incoming(k: int) -> None:
        edit_cell(theirs / "benchsync.ipynb", 1, f"bob = {k}")
        done = box.run("bob", "git", "nbcollab", "sync", cwd=theirs)
        assert done.returncode == 0, done.stderr

    def from_ui() -> None:
        page.toolbar("nbcollab-sync").click()
        page.page.locator(".jp-Dialog", has_text="Synced").wait_for(timeout=120_000)
        page.page.locator(".jp-Dialog").get_by_role("button", name="Ok").click()

    def from_terminal() -> None:
        done = box.run("alice", "git", "nbcollab", "sync", cwd=mine)
        assert done.returncode == 0, done.stderr

    def from_handler() -> None:
        status, said = lab.call(server, "sync", {"path": "benchsync"})
        assert status == 200 and said["changed"] == ["benchsync.ipynb"], said

    ways: dict[str, Callable[[], None]] = {
        "terminal": from_terminal,
        "handler": from_handler,
        "ui": from_ui,
    }
    times: dict[str, list[float]] = {way: [] for way in ways}
    incoming(-1)
    from_ui()  # warm-up: the first Sync also asks where the working copy's top is
    for k in range(n):
        for way, run in ways.items():
            incoming(len(ways) * k + list(ways).index(way))
            start = time.perf_counter()
            run()
            times[way].append(time.perf_counter() - start)
    assert page.source(1) == f"bob = {len(ways) * n - 1}", "the tab does not show the last sync"
    print("Sync of one incoming cell (bob's), alice's side")
    print(f"  Sync button (save, sync, reload)  {_median(times['ui'])}")
    print(f"  POST /nbcollab/sync alone         {_median(times['handler'])}")
    print(f"  git nbcollab sync (baseline)      {_median(times['terminal'])}")
    _report("sync", times["ui"], times["terminal"], 1.2)


def main(n: int) -> None:
    reason = lab.missing_browser()
    assert reason is None, reason
    with contextlib.ExitStack() as stack:
        box = stack.enter_context(Box.started())
        reason = lab.missing_lab(box)
        assert reason is None, reason
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-lab-")))
        _turn_off(box, "carol")
        on = stack.enter_context(lab.running(box, "alice", tmp))
        off = stack.enter_context(lab.running(box, "carol", tmp))
        browser = stack.enter_context(lab.browser())
        page_load(browser, on, off, n)
        sync(box, browser, on, n, tmp / "shots")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
