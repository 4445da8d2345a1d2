"""Sync against a real JupyterLab tab (issue 10, item 1): alice's open tab holds the pre-sync
file; she saves it over the merged one ("File Changed" -> Overwrite) and syncs again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tests import lab
from tests.box import Box, edit_cell
from tests.conftest import require

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ALICE_CELL, BOB_CELL = 2, 1  # "max" and "mean" in fixtures/notebooks/sales.ipynb
ALICE_TEXT, BOB_TEXT = "print(min(sales))", "bob_mean = sum(sales) / len(sales)"


def _source(notebook: str, index: int) -> str:
    return "".join(json.loads(notebook)["cells"][index]["source"])


def test_save_over_a_sync_keeps_both_edits(own_box: Box, chromium: Browser, tmp_path: Path) -> None:
    box = own_box
    require(lab.missing_lab(box))
    alice, bob = box.user("alice"), box.user("bob")
    cid = box.share("alice", ["bob"], "analysis.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid).returncode == 0
    mine = box.home("alice") / "notebooks" / "analysis"

    page = lab.LabPage(
        chromium.new_page(viewport={"width": 1280, "height": 800}), tmp_path / "shots"
    )
    with lab.running(box, "alice", tmp_path) as server:
        page.open_notebook(server, "analysis/analysis.ipynb")
        page.type_into_cell(ALICE_CELL, ALICE_TEXT)  # unsaved, in alice's tab only

        theirs = box.home("bob") / "notebooks" / "analysis"
        edit_cell(theirs / "analysis.ipynb", BOB_CELL, BOB_TEXT)
        done = box.run("bob", "git", "nbcollab", "sync", cwd=theirs)
        assert done.returncode == 0, done.stderr
        done = box.run("alice", "git", "nbcollab", "sync", cwd=mine)  # her terminal
        assert done.returncode == 0, done.stderr
        assert _source((mine / "analysis.ipynb").read_text(), BOB_CELL) == BOB_TEXT

        page.save()
        page.dialog("File Changed").get_by_role("button", name="Overwrite").click()
        page.saved()
        page.page.close()

    done = box.run("alice", "git", "nbcollab", "sync", cwd=mine)
    assert done.returncode == 0, done.stdout + done.stderr
    for where, notebook in [
        ("alice's file", (mine / "analysis.ipynb").read_text()),
        ("the hub", box.hub_git(cid, "show", f"u/{alice}/main:analysis.ipynb")),
    ]:
        assert _source(notebook, ALICE_CELL) == ALICE_TEXT, f"alice's edit is lost in {where}"
        assert _source(notebook, BOB_CELL) == BOB_TEXT, f"bob's cell is reverted in {where}"
    merged = subprocess.run(
        [
            "git",
            "--git-dir",
            str(box.root / "collabs" / f"{cid}.git"),
            "merge-base",
            "--is-ancestor",
            f"u/{bob}/main",
            f"u/{alice}/main",
        ],
    )
    assert merged.returncode == 0, "bob's branch is not merged into alice's"
