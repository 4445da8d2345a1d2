"""The JupyterLab extension from the teammate's side: a real JupyterLab per teammate, run as that
unix user from the shared runtime, driven in Debian's chromium. Each step's screenshot is saved
under the test's tmp_path (`shots/NN-step.png`)."""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import lab
from tests.box import FIXTURES, Box, edit_cell
from tests.conftest import require

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator

# Cells of fixtures/notebooks/sales.ipynb, counted from 0: 1 is the mean, 2 prints the max.
MEAN, MAX = 1, 2


@pytest.fixture(scope="module")
def labs(own_box: Box, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, lab.Lab]]:
    """alice's and bob's own JupyterLabs on one box, for the whole module."""
    require(lab.missing_lab(own_box))
    logs = tmp_path_factory.mktemp("labs")
    with contextlib.ExitStack() as stack:
        yield {
            short: stack.enter_context(lab.running(own_box, short, logs))
            for short in ("alice", "bob")
        }


def _page(chromium: Browser, tmp_path: Path) -> lab.LabPage:
    return lab.LabPage(
        chromium.new_page(viewport={"width": 1400, "height": 900}), tmp_path / "shots"
    )


def _synced(page: lab.LabPage) -> str:
    """Click the notebook's Sync button; the dialog that follows must be "Synced" (its text)."""
    page.toolbar("nbcollab-sync").click()
    said = page.page.locator(".jp-Dialog")
    said.wait_for(timeout=60_000)
    page.shot("synced")
    text = said.inner_text()
    assert text.startswith("Synced"), text
    said.get_by_role("button", name="Ok").click()
    return text


def _source(notebook: str, index: int) -> str:
    return "".join(json.loads(notebook)["cells"][index]["source"])


def _collab(box: Box, name: str) -> tuple[str, Path, Path]:
    """alice shares `name`.ipynb with bob, bob clones it: (id, alice's copy, bob's copy)."""
    cid = box.share("alice", ["bob"], f"{name}.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid).returncode == 0
    return cid, box.home("alice") / "notebooks" / name, box.home("bob") / "notebooks" / name


def _bob_syncs(box: Box, theirs: Path, name: str, edits: dict[int, str]) -> None:
    for index, text in edits.items():
        edit_cell(theirs / f"{name}.ipynb", index, text)
    done = box.run("bob", "git", "nbcollab", "sync", cwd=theirs)
    assert done.returncode == 0, done.stderr


def test_the_wheel_ships_the_frontend(labs: dict[str, lab.Lab]) -> None:
    with urllib.request.urlopen(labs["alice"].url("lab/api/extensions")) as response:
        listed = {e["name"]: e for e in json.load(response)}
    assert "git-nbcollab" in listed, sorted(listed)
    assert listed["git-nbcollab"]["enabled"]


def test_sync_button_keeps_unsaved_edits_and_a_teammates_cell(
    own_box: Box, labs: dict[str, lab.Lab], chromium: Browser, tmp_path: Path
) -> None:
    box, name = own_box, "ui_sync"
    cid, mine, theirs = _collab(box, name)
    page = _page(chromium, tmp_path)
    page.open_notebook(labs["alice"], f"{name}/{name}.ipynb")
    page.type_into_cell(MAX, "print(min(sales))")  # unsaved: only in alice's tab

    _bob_syncs(box, theirs, name, {MEAN: "bob_mean = sum(sales) / len(sales)"})
    assert f"merged {box.user('bob')}: cell {MEAN + 1}" in _synced(page)

    assert page.source(MAX) == "print(min(sales))", "the tab lost alice's edit"
    assert page.source(MEAN) == "bob_mean = sum(sales) / len(sales)", "the tab is stale"
    page.saved()  # nothing unsaved is left in the tab: no "File Changed" can follow
    alice = box.user("alice")
    for where, notebook in [
        ("alice's file", (mine / f"{name}.ipynb").read_text()),
        ("the hub", box.hub_git(cid, "show", f"u/{alice}/main:{name}.ipynb")),
    ]:
        assert _source(notebook, MAX) == "print(min(sales))", f"alice's edit is lost in {where}"
        assert _source(notebook, MEAN).startswith("bob_mean"), f"bob's edit is lost in {where}"
    done = box.run("alice", "git", "nbpublish", "--", name, cwd=mine)
    assert done.returncode == 0, done.stderr
    published = (box.root / "published" / name / "v1.0.0" / f"{name}_FINAL.ipynb").read_text()
    assert _source(published, MAX) == "print(min(sales))"
    assert _source(published, MEAN).startswith("bob_mean")


def test_sync_reloads_the_other_tabs_whose_files_came_in(
    own_box: Box, labs: dict[str, lab.Lab], chromium: Browser, tmp_path: Path
) -> None:
    """Sync in one tab: another open notebook of the working copy that bob changed shows his
    edit, and saving it afterwards raises no "File Changed" dialog and keeps his edit."""
    box, name = own_box, "ui_tabs"
    _, mine, theirs = _collab(box, name)
    box.put("bob", FIXTURES / "notebooks" / "sales.ipynb", f"{name}/notes.ipynb")
    _bob_syncs(box, theirs, name, {})
    done = box.run("alice", "git", "nbcollab", "sync", cwd=mine)
    assert done.returncode == 0, done.stderr
    page = _page(chromium, tmp_path)
    page.open_notebook(labs["alice"], f"{name}/{name}.ipynb")
    page.page.locator(".jp-DirListing-item", has_text="notes.ipynb").dblclick()
    page.page.locator(".lm-TabBar-tab.lm-mod-current", has_text="notes.ipynb").wait_for()
    page.cell(0).wait_for()
    page.shot("notes-open")

    edit_cell(theirs / "notes.ipynb", MEAN, "bob_notes = 1")
    _bob_syncs(box, theirs, name, {})
    page.page.locator(".lm-TabBar-tab", has_text=f"{name}.ipynb").first.click()
    _synced(page)

    page.page.locator(".lm-TabBar-tab", has_text="notes.ipynb").first.click()
    assert page.source(MEAN) == "bob_notes = 1", "the other tab is stale"
    page.type_into_cell(MAX, "print('alice notes')")
    page.save()
    page.saved()  # a "File Changed" dialog would keep the tab unsaved
    saved = (mine / "notes.ipynb").read_text()
    assert _source(saved, MEAN) == "bob_notes = 1" and _source(saved, MAX) == "print('alice notes')"


def test_a_tab_that_cannot_be_saved_stops_the_sync(
    own_box: Box, labs: dict[str, lab.Lab], chromium: Browser, tmp_path: Path
) -> None:
    box, name = own_box, "ui_unsaved"
    cid, mine, theirs = _collab(box, name)
    page = _page(chromium, tmp_path)
    page.open_notebook(labs["alice"], f"{name}/{name}.ipynb")
    page.type_into_cell(MAX, "print('kept in the tab')")
    _bob_syncs(box, theirs, name, {MEAN: "bob_mean = 5"})
    before = box.refs(cid)
    mine.chmod(0o555)  # JupyterLab cannot write the notebook (nor its checkpoint) any more
    try:
        page.toolbar("nbcollab-sync").click()
        page.dialog("File Save Error").get_by_role("button", name="Close").click()  # JupyterLab's
        refused = page.page.locator(".jp-Dialog", has_text="Cannot sync")
        refused.wait_for(timeout=60_000)
        page.shot("cannot-sync")
        assert f"{name}/{name}.ipynb" in refused.inner_text()
        assert "nothing was synced" in refused.inner_text()
    finally:
        mine.chmod(0o700)
    assert box.refs(cid) == before, "the hub moved"
    assert "bob_mean" not in (mine / f"{name}.ipynb").read_text(), "bob's cell was merged in"
    assert page.source(MAX) == "print('kept in the tab')", "the tab lost the unsaved edit"


def test_conflicts_are_resolved_cell_by_cell_in_the_panel(
    own_box: Box, labs: dict[str, lab.Lab], chromium: Browser, tmp_path: Path
) -> None:
    box, name = own_box, "ui_conflict"
    cid, mine, theirs = _collab(box, name)
    page = _page(chromium, tmp_path)
    page.open_notebook(labs["alice"], f"{name}/{name}.ipynb")
    page.type_into_cell(MEAN, "alice_mean = 1")
    page.type_into_cell(MAX, "alice_max = 2")
    _bob_syncs(box, theirs, name, {MEAN: "bob_mean = 3", MAX: "bob_max = 4"})

    page.toolbar("nbcollab-sync").click()
    panel = page.page.locator(".jp-nbcollab-conflicts")
    panel.locator(".jp-nbcollab-conflict").nth(1).wait_for(timeout=60_000)
    page.shot("conflicts")
    rows = panel.locator(".jp-nbcollab-conflict")
    assert rows.count() == 2
    first, second = rows.nth(0), rows.nth(1)
    assert f"{name}.ipynb, cell {MEAN + 1}" in first.inner_text()  # numbered as JupyterLab does
    assert f"{box.user('bob')}'s" in first.inner_text()
    assert "alice_mean = 1" in first.inner_text() and "bob_mean = 3" in first.inner_text()

    second.get_by_role("button", name="Jump to cell").click()
    page.page.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active").first.wait_for()
    page.shot("jumped")
    assert "jp-mod-active" in (page.cell(MAX).get_attribute("class") or "")

    panel_page = page.page.locator(".jp-nbcollab-conflicts")
    panel_page.locator(".jp-nbcollab-conflict").nth(0).get_by_label("keep mine").check()
    panel_page.locator(".jp-nbcollab-conflict").nth(1).get_by_label("keep theirs").check()
    page.shot("chosen")
    panel_page.get_by_role("button", name="Apply").click()
    page.dialog("Conflicts resolved").get_by_role("button", name="Ok").click()

    page.page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    assert page.source(MEAN) == "alice_mean = 1"
    assert page.source(MAX) == "bob_max = 4"
    alice = box.user("alice")
    for notebook in [
        (mine / f"{name}.ipynb").read_text(),
        box.hub_git(cid, "show", f"u/{alice}/main:{name}.ipynb"),
    ]:
        assert _source(notebook, MEAN) == "alice_mean = 1"
        assert _source(notebook, MAX) == "bob_max = 4"


def test_share_from_the_file_browser_then_bob_sees_it(
    own_box: Box, labs: dict[str, lab.Lab], chromium: Browser, tmp_path: Path
) -> None:
    box = own_box
    box.put(
        "alice",
        Path(__file__).parent.parent / "fixtures" / "notebooks" / "sales.ipynb",
        "ui_share.ipynb",
    )
    page = _page(chromium, tmp_path)
    page.goto(labs["alice"])
    page.page.locator(".jp-DirListing-item", has_text="ui_share.ipynb").wait_for(timeout=60_000)
    page.file_menu("ui_share.ipynb", "Share with teammates")
    asked = page.dialog("Share ui_share.ipynb")
    asked.get_by_label(box.user("bob")).check()
    asked.locator(".jp-nbcollab-name").fill("uishared")
    page.shot("share-filled")
    asked.get_by_role("button", name="Share").click()
    shared = page.dialog("Shared").inner_text()
    cid = shared.split("id: ")[1].split()[0]
    assert (box.root / "collabs" / f"{cid}.git").is_dir()
    assert f"git nbcollab clone {cid}" in shared or "uishared" in shared, shared

    bobs = _page(chromium, tmp_path)
    bobs.goto(labs["bob"])
    sidebar = bobs.sidebar("nbcollab-sidebar")
    sidebar.get_by_text("uishared").wait_for(timeout=30_000)
    bobs.shot("bob-sees-it")
    assert cid in sidebar.inner_text()


def test_publish_from_the_dialog_opens_the_copy_and_marks_the_older_one_stale(
    own_box: Box, labs: dict[str, lab.Lab], chromium: Browser, tmp_path: Path
) -> None:
    box, name = own_box, "ui_pub"
    _, mine, _ = _collab(box, name)
    page = _page(chromium, tmp_path)
    page.open_notebook(labs["alice"], f"{name}/{name}.ipynb")
    page.type_into_cell(MAX, "print('unsynced')")
    page.save()
    page.saved()
    refusal = box.run("alice", "git", "nbpublish", "--dry-run", "--", name, cwd=mine)
    assert refusal.returncode == 1, refusal.stdout
    _publish(page, name, "")
    error = page.dialog("Cannot publish")
    said = refusal.stderr.strip().removeprefix("git nbpublish: ")
    assert said in error.inner_text(), "the dialog is not the line the command says"
    error.get_by_role("button", name="Close").click()

    _synced(page)
    _publish(page, name, "1.0.0")
    page.page.wait_for_url(f"**/shared/{name}/v1.0.0/{name}_FINAL.ipynb**")
    assert page.source(MAX) == "print('unsynced')"
    page.shot("published-1.0.0")
    assert "read-only" in page.page.locator(".jp-NotebookPanel:visible").inner_text()

    page.page.locator(".lm-TabBar-tab", has_text=f"{name}.ipynb").first.click()
    page.type_into_cell(MEAN, "second = 2")
    _synced(page)
    _publish(page, name, "1.1.0")
    page.page.wait_for_url(f"**/v1.1.0/{name}_FINAL.ipynb**")
    old = page.page.locator(".lm-TabBar-tab", has_text="(stale)")
    old.wait_for(timeout=30_000)
    old.click()
    mark = page.page.locator(".jp-NotebookPanel:visible .jp-nbcollab-stale-mark")
    mark.wait_for()
    page.shot("older-is-stale")
    assert "1.1.0" in mark.inner_text() and "1.0.0" in mark.inner_text()


def _publish(page: lab.LabPage, name: str, version: str) -> None:
    """Publish (MINOR) from the sidebar's button; with a version, confirm the dry run's plan."""
    sidebar = page.sidebar("nbcollab-sidebar")
    sidebar.get_by_role("button", name="Publish").click()
    form = page.dialog("Publish")
    assert form.locator(".jp-nbcollab-notebook").input_value() == name
    form.locator(".jp-nbcollab-message").fill(f"from the browser {version}")
    form.get_by_role("button", name="Dry run").click()
    if version:
        plan = page.dialog(f"Publish {name} {version}?")
        assert f"version: {version}" in plan.inner_text()
        plan.get_by_role("button", name="Publish").click()


def test_a_link_to_a_teammates_notebook_says_whose_it_is(
    own_box: Box, labs: dict[str, lab.Lab], chromium: Browser, tmp_path: Path
) -> None:
    box, name = own_box, "ui_whose"
    _, _, theirs = _collab(box, name)
    link = box.home("alice") / "notebooks" / "bobs.ipynb"
    link.symlink_to(theirs / f"{name}.ipynb")
    os.lchown(link, *(lambda s: (s.st_uid, s.st_gid))(link.parent.stat()))
    status, answer = lab.call(labs["alice"], "whose?path=bobs.ipynb")
    assert status == 200, answer
    expected = answer["message"]
    assert box.user("bob") in expected and "\n" not in expected

    page = _page(chromium, tmp_path)
    page.goto(labs["alice"], "lab/tree/bobs.ipynb")
    said = page.page.locator(".jp-Dialog")
    said.wait_for(timeout=60_000)
    page.shot("whose")
    assert expected in said.inner_text()
    assert "Unhandled error" not in said.inner_text()


def test_the_sidebar_shows_unmerged_work_until_a_sync_and_the_projects_task(
    own_box: Box, labs: dict[str, lab.Lab], chromium: Browser, tmp_path: Path
) -> None:
    box, name = own_box, "ui_side"
    cid, _, theirs = _collab(box, name)
    _bob_syncs(box, theirs, name, {MEAN: "bob_mean = 6"})
    _bob_syncs(box, theirs, name, {MAX: "print('bob')"})
    task = "https://tracker.example.org/T-42"
    done = box.run("bob", "git", "nbcollab", "project", "set", "--task", task, cwd=theirs)
    assert done.returncode == 0, done.stderr
    alice, bob = box.user("alice"), box.user("bob")
    commits = int(box.hub_git(cid, "rev-list", "--count", f"u/{alice}/main..u/{bob}/main"))
    assert commits >= 2

    page = _page(chromium, tmp_path)
    page.open_notebook(labs["alice"], f"{name}/{name}.ipynb")
    sidebar = page.sidebar("nbcollab-sidebar")
    unmerged = _section(sidebar, "Not merged yet")
    unmerged.get_by_text(f"{bob}: {commits} commits").wait_for(timeout=60_000)
    page.shot("unmerged-work")
    project = _section(sidebar, "Project")
    link = project.get_by_role("link", name=task)
    assert link.get_attribute("href") == task
    page.shot("project-task")

    _synced(page)
    _section(sidebar, "Not merged yet").get_by_text("nothing").wait_for(timeout=60_000)
    page.shot("merged")
    assert bob not in _section(sidebar, "Not merged yet").inner_text()
    assert _section(sidebar, "Project").get_by_role("link", name=task).count() == 1


def _section(sidebar: Locator, title: str) -> Locator:
    """A section of the Collaborations sidebar, by its heading."""
    heading = sidebar.page.locator("h3", has_text=title)
    return sidebar.locator(".jp-nbcollab-section", has=heading)
