"""JupyterLab with the git-nbcollab extension: page load to idle against the same JupyterLab
without it (target: at most 1.1x), and Sync from the notebook's toolbar against `git nbcollab
sync` in a terminal for the same incoming change (target: at most 1.2x), with the REST
handler alone (`POST /nbcollab/sync`) between them to show where the time goes.

Run as root: `python bench/bench_lab.py [N] [load|sync]` (default 5 rounds, both parts), with
the runtime that has the extension installed. On a throwaway box (tests/box.py): alice's
JupyterLab has the extension; carol's runs from the same runtime with it turned off in her own
Jupyter config (the frontend in labconfig/page_config.json, the server extension in
jupyter_server_config.json). Each round interleaves the two sides; medians of N are printed with
their ratio. The Sync button is timed in the page, from the click to the change shown in the tab
and the result on screen, with the steps between.
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


# Timestamps in the page (performance.now(), ms): the click on Sync, each request the page
# sends and its answer, and when the tab shows the change and the result is shown, so the
# browser's share of a Sync can be told apart from the server's.
TRACE = """
window.nbcTrace = {marks: [], expect: null};
const mark = what => window.nbcTrace.marks.push([what, performance.now()]);
const fetched = window.fetch;
window.fetch = async function (input, init) {
  const url = new URL(typeof input === 'string' ? input : input.url, location.href);
  const what = `${(init && init.method) || (input.method) || 'GET'} ${url.pathname}`;
  mark(`> ${what}`);
  try { return await fetched.apply(this, arguments); } finally { mark(`< ${what}`); }
};
document.addEventListener('click', event => {
  if (event.target.closest('[data-jp-item-name="nbcollab-sync"]')) mark('click');
}, true);
new MutationObserver(() => {
  const trace = window.nbcTrace;
  if (trace.expect === null) return;
  const cells = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell');
  const shown = cells[1] && cells[1].querySelector('.cm-content');
  if (!trace.marks.some(m => m[0] === 'tab shows it') && shown &&
      shown.innerText === trace.expect) mark('tab shows it');
  if (!trace.marks.some(m => m[0] === 'message shown') &&
      document.querySelector('.jp-Dialog')) mark('message shown');
}).observe(document, {childList: true, subtree: true, characterData: true});
"""
DONE = "['tab shows it', 'message shown'].every(w => window.nbcTrace.marks.some(m => m[0] === w))"


def _phases(marks: list[tuple[str, float]]) -> dict[str, float]:
    """Seconds from the click to each step of a Sync from the button."""
    at = {what: when for what, when in reversed(marks)}  # the first time each happened
    click = at["click"]
    steps = {
        "saves done (sync sent)": at["> POST /nbcollab/sync"],
        "sync answered": at["< POST /nbcollab/sync"],
        "reloads answered": max(
            (
                w
                for what, w in marks
                if what.startswith("< GET /api/contents") and not what.endswith("/checkpoints")
            ),
            default=click,
        ),
        "tab shows it": at["tab shows it"],
        "message shown": at["message shown"],
        "both": max(at["tab shows it"], at["message shown"]),
    }
    return {step: (when - click) / 1000 for step, when in steps.items()}


def sync(box: Box, browser: Browser, server: lab.Lab, n: int, shots: Path) -> None:
    cid = box.share("alice", ["bob"], "benchsync.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid).returncode == 0
    mine = box.home("alice") / "notebooks" / "benchsync"
    theirs = box.home("bob") / "notebooks" / "benchsync"
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(TRACE)
    page = lab.LabPage(context.new_page(), shots)
    page.open_notebook(server, "benchsync/benchsync.ipynb")
    phases: list[dict[str, float]] = []

    def incoming(k: int) -> None:
        edit_cell(theirs / "benchsync.ipynb", 1, f"bob = {k}")
        done = box.run("bob", "git", "nbcollab", "sync", cwd=theirs)
        assert done.returncode == 0, done.stderr
        page.page.evaluate(f"window.nbcTrace.marks = []; window.nbcTrace.expect = 'bob = {k}'")

    def from_ui() -> float:
        """From the click to the change in the tab and the result on screen, as the page saw it
        (the clicking and polling of Playwright left out); the dialog is closed afterwards.
        `driven` keeps the old end point: Playwright's click to the dialog closed."""
        start = time.perf_counter()
        page.toolbar("nbcollab-sync").click()
        page.page.wait_for_function(DONE, timeout=120_000, polling="raf")
        said = page.page.locator(".jp-Dialog", has_text="Synced")
        said.get_by_role("button", name="Ok").click()
        said.wait_for(state="detached")
        driven.append(time.perf_counter() - start)
        phases.append(_phases(page.page.evaluate("window.nbcTrace.marks")))
        return phases[-1]["both"]

    def from_terminal() -> float:
        start = time.perf_counter()
        done = box.run("alice", "git", "nbcollab", "sync", cwd=mine)
        assert done.returncode == 0, done.stderr
        return time.perf_counter() - start

    def from_handler() -> float:
        start = time.perf_counter()
        status, said = lab.call(server, "sync", {"path": "benchsync"})
        assert status == 200 and said["changed"] == ["benchsync.ipynb"], said
        return time.perf_counter() - start

    ways: dict[str, Callable[[], float]] = {
        "terminal": from_terminal,
        "handler": from_handler,
        "ui": from_ui,
    }
    times: dict[str, list[float]] = {way: [] for way in ways}
    driven: list[float] = []
    incoming(-1)
    from_ui()  # the first Sync of a tab also asks where the working copy's top is, and saves
    first = phases.pop()  # (and saves the tab if JupyterLab changed it when it opened)
    driven.clear()
    for k in range(n):
        for way, run in ways.items():
            incoming(len(ways) * k + list(ways).index(way))
            times[way].append(run())
    assert page.source(1) == f"bob = {len(ways) * n - 1}", "the tab does not show the last sync"
    print("Sync of one incoming cell (bob's), alice's side")
    print(f"  Sync button (click to change shown)  {_median(times['ui'])}")
    for step in phases[0]:
        print(f"    click to {step:22} {_median([p[step] for p in phases])}")
    print(
        f"  the first Sync of the tab            {first['both'] * 1000:7.0f} ms"
        f" (top found and saved: {first['saves done (sync sent)'] * 1000:.0f} ms)"
    )
    print(f"  Playwright's click to dialog closed  {_median(driven)}")
    print(f"  POST /nbcollab/sync alone            {_median(times['handler'])}")
    print(f"  git nbcollab sync (baseline)         {_median(times['terminal'])}")
    _report("sync", times["ui"], times["terminal"], 1.2)


def main(n: int, part: str) -> None:
    reason = lab.missing_browser()
    assert reason is None, reason
    with contextlib.ExitStack() as stack:
        box = stack.enter_context(Box.started())
        reason = lab.missing_lab(box)
        assert reason is None, reason
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-lab-")))
        on = stack.enter_context(lab.running(box, "alice", tmp))
        browser = stack.enter_context(lab.browser())
        if part in ("all", "load"):
            _turn_off(box, "carol")
            off = stack.enter_context(lab.running(box, "carol", tmp))
            page_load(browser, on, off, n)
        if part in ("all", "sync"):
            sync(box, browser, on, n, tmp / "shots")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5, sys.argv[2] if len(sys.argv) > 2 else "all")
