"""The REST handlers of the server extension (git_nbcollab/lab), against a real JupyterLab run
as a real teammate (tests/lab.py), a real hub, real users and a real sshd."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests import lab
from tests.box import Box, edit_cell
from tests.lab import call


def refused(answer: tuple[int, dict[str, Any]], *words: str) -> str:
    """A 400 whose error is one line holding `words`."""
    status, said = answer
    assert status == 400, said
    assert "\n" not in said["error"] and "Traceback" not in said["error"], said
    for word in words:
        assert word in said["error"], said
    return str(said["error"])


def shared(box: Box, name: str) -> tuple[str, Path, Path]:
    """alice shares NAME.ipynb with bob, bob clones: (id, alice's copy, bob's copy)."""
    cid = box.share("alice", ["bob"], f"{name}.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid).returncode == 0
    return cid, box.home("alice") / "notebooks" / name, box.home("bob") / "notebooks" / name


def bob_syncs(box: Box, copy: Path, cell: int, text: str) -> None:
    edit_cell(copy / f"{copy.name}.ipynb", cell, text)
    done = box.run("bob", "git", "nbcollab", "sync", cwd=copy)
    assert done.returncode == 0, done.stderr


def source(path: Path | str, index: int) -> str:
    text = path.read_text() if isinstance(path, Path) else path
    return "".join(json.loads(text)["cells"][index]["source"])


def test_the_handlers_need_the_token(alice_lab: lab.Lab) -> None:
    status, _ = call(alice_lab, "team", token="wrong")
    assert status == 403


def test_team_and_collabs_are_what_the_cli_says(box: Box, alice_lab: lab.Lab) -> None:
    status, team = call(alice_lab, "team")
    assert status == 200
    assert {box.user(s) for s in ("alice", "bob", "carol")} <= set(team["members"])
    cid, _, _ = shared(box, "listed")
    status, answer = call(alice_lab, "collabs")
    listed = box.run("alice", "git", "nbcollab", "list", "--json")
    assert status == 200 and answer["collabs"] == json.loads(listed.stdout)
    assert cid in [c["id"] for c in answer["collabs"]]


def test_share_from_the_file_browser(box: Box, alice_lab: lab.Lab) -> None:
    box.put("alice", Path(__file__).parents[2] / "fixtures/notebooks/sales.ipynb", "pick.ipynb")
    bob = box.user("bob")
    status, answer = call(alice_lab, "share", {"path": "pick.ipynb", "members": [bob]})
    assert status == 200, answer
    assert answer["spec"] == f"{box.user('alice')},{bob}:pick"
    assert answer["command"] == f"git nbcollab clone {answer['spec']}"
    listed = json.loads(box.run("bob", "git", "nbcollab", "list", "--json").stdout)
    assert answer["id"] in [c["id"] for c in listed], "bob does not see the new collaboration"
    assert (box.home("alice") / "notebooks" / "pick" / "pick.ipynb").is_file()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"path": "nothing-here.ipynb", "members": ["BOB"]}, ("no such notebook",)),
        ({"path": "../../etc/passwd", "members": ["BOB"]}, ("outside JupyterLab's root",)),
        ({"path": "pick2.ipynb", "members": []}, ("at least one teammate",)),
        ({"path": "pick2.ipynb", "members": ["nobody-like-this"]}, ()),
        ({"path": "pick2.ipynb", "members": "BOB"}, ("list",)),
    ],
)
def test_bad_shares_are_one_line_and_change_nothing(
    box: Box, alice_lab: lab.Lab, body: dict[str, Any], words: tuple[str, ...]
) -> None:
    box.put("alice", Path(__file__).parents[2] / "fixtures/notebooks/sales.ipynb", "pick2.ipynb")
    body = {
        k: v.replace("BOB", box.user("bob")) if isinstance(v, str) else v for k, v in body.items()
    }
    if isinstance(body["members"], list):
        body["members"] = [m.replace("BOB", box.user("bob")) for m in body["members"]]
    before = box.snapshot()
    refused(call(alice_lab, "share", body), *words)
    assert box.changes(before) == {}


def test_a_request_that_is_not_json_is_one_line(alice_lab: lab.Lab) -> None:
    url = f"http://127.0.0.1:{alice_lab.port}/nbcollab/sync"
    request = urllib.request.Request(url, data=b"{not json", method="POST")
    request.add_header("Authorization", f"token {alice_lab.token}")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request, timeout=60)
    assert e.value.code == 400
    assert json.loads(e.value.read()) == {"error": "the request is not JSON"}


def test_status_of_a_working_copy(box: Box, alice_lab: lab.Lab) -> None:
    cid, alice, bob = shared(box, "watched")
    status, answer = call(alice_lab, "status?path=watched/watched.ipynb")
    assert status == 200, answer
    assert answer["collab"]["id"] == cid
    for path in ("watched/watched.ipynb", "watched"):  # as JupyterLab names it, asking no hub
        assert call(alice_lab, f"top?path={path}") == (200, {"root": "watched"})
    assert call(alice_lab, "top?path=pick.ipynb") == (200, {"root": None})
    assert answer["unmerged"] == [] and answer["versions"] == [] and answer["project"] == {}
    assert answer["unsynced"] is False

    bob_syncs(box, bob, 1, "bob_mean = 1")
    task = "https://tracker.example.org/T-7"
    done = box.run("bob", "git", "nbcollab", "project", "set", "--task", task, cwd=bob)
    assert done.returncode == 0, done.stderr
    edit_cell(alice / "watched.ipynb", 2, "print('alice, unsynced')")
    status, answer = call(alice_lab, "status?path=watched")
    assert answer["unmerged"] == [{"author": box.user("bob"), "commits": 1}]
    assert answer["project"]["task"] == task
    assert answer["unsynced"] is True

    assert call(alice_lab, "status?path=pick.ipynb") == (200, {"collab": None})
    refused(call(alice_lab, "status"), "give a path")


def test_sync_brings_in_the_other_cell_and_says_which(box: Box, alice_lab: lab.Lab) -> None:
    cid, alice, bob = shared(box, "synced")
    bob_syncs(box, bob, 1, "bob_mean = 2")
    edit_cell(alice / "synced.ipynb", 2, "print('alice')")  # the tab was saved first
    status, answer = call(alice_lab, "sync", {"path": "synced/synced.ipynb"})
    assert status == 200, answer
    assert answer["summary"] == f"merged {box.user('bob')}: cell 2"
    assert answer["changed"] == ["synced.ipynb"] and answer["conflicts"] == []
    assert answer["written"] == ["synced/synced.ipynb"]  # what JupyterLab reloads
    hub = box.hub_git(cid, "show", f"u/{box.user('alice')}/main:synced.ipynb")
    for text in (alice / "synced.ipynb", hub):
        assert source(text, 1) == "bob_mean = 2" and source(text, 2) == "print('alice')"

    status, again = call(alice_lab, "sync", {"path": "synced"})
    assert status == 200 and again["changed"] == [] and again["written"] == []
    assert again["summary"] == "nothing new from your teammates; your work is pushed"
    refused(call(alice_lab, "sync", {"path": "pick.ipynb"}), "not in a working copy")


def _collide(box: Box, name: str) -> tuple[str, Path, Path]:
    cid, alice, bob = shared(box, name)
    bob_syncs(box, bob, 2, "print('bob')")
    edit_cell(alice / f"{name}.ipynb", 2, "print('alice')")
    return cid, alice, bob


def test_a_collision_is_shown_cell_by_cell_and_settled_as_chosen(
    box: Box, alice_lab: lab.Lab
) -> None:
    cid, alice, _ = _collide(box, "clash")
    assert call(alice_lab, "status?path=clash")[0] == 200  # fetches what bob pushed
    fetch_record = str(alice / ".git" / "FETCH_HEAD")  # git's own note of each fetch
    before = box.snapshot()
    status, answer = call(alice_lab, "sync", {"path": "clash/clash.ipynb"})
    assert status == 200 and answer["changed"] == [] and answer["written"] == []
    assert len(answer["conflicts"]) == 1 and "cell 3" in answer["conflicts"][0]
    status, shown = call(alice_lab, "conflicts?path=clash/clash.ipynb")
    assert status == 200, shown
    assert shown["conflicts"] == [
        {
            "file": "clash.ipynb",
            "cell": 3,
            "index": 2,
            "mine": "print('alice')",
            "theirs": "print('bob')",
            "theirs_author": box.user("bob"),
            "kind": "edited",
        }
    ]
    assert set(box.changes(before)) <= {fetch_record}, "looking at conflicts changed something"

    bad = {"path": "clash", "choices": [{"file": "clash.ipynb", "index": 2, "choice": "neither"}]}
    refused(call(alice_lab, "resolve", bad), "choice")
    wrong = {"path": "clash", "choices": [{"file": "clash.ipynb", "index": 0, "choice": "mine"}]}
    refused(call(alice_lab, "resolve", wrong), "colliding cells are now 3")
    assert set(box.changes(before)) <= {fetch_record}

    chosen = {"path": "clash", "choices": [{"file": "clash.ipynb", "index": 2, "choice": "both"}]}
    status, done = call(alice_lab, "resolve", chosen)
    assert status == 200 and done["conflicts"] == [] and done["changed"] == ["clash.ipynb"]
    assert done["written"] == ["clash/clash.ipynb"]
    hub = box.hub_git(cid, "show", f"u/{box.user('alice')}/main:clash.ipynb")
    for text in (alice / "clash.ipynb", hub):
        assert [source(text, 2), source(text, 3)] == ["print('alice')", "print('bob')"]


@pytest.mark.parametrize(
    ("choice", "kept"), [("mine", "print('alice')"), ("theirs", "print('bob')")]
)
def test_keep_one_side_of_a_cell(box: Box, alice_lab: lab.Lab, choice: str, kept: str) -> None:
    name = f"one{choice}"
    cid, alice, _ = _collide(box, name)
    cells = len(json.loads((alice / f"{name}.ipynb").read_text())["cells"])
    chosen = [{"file": f"{name}.ipynb", "index": 2, "choice": choice}]
    status, done = call(alice_lab, "resolve", {"path": name, "choices": chosen})
    assert status == 200 and done["conflicts"] == [], done
    text = (alice / f"{name}.ipynb").read_text()
    assert source(text, 2) == kept and len(json.loads(text)["cells"]) == cells
    assert "from-" not in text, "a cell kept alone still says where it came from"
    merged = box.hub_git(cid, "merge-base", "--is-ancestor", f"u/{box.user('bob')}/main",
                         f"u/{box.user('alice')}/main")  # fmt: skip
    assert merged == ""


def test_publish_dry_run_then_the_copy_then_stale(box: Box, alice_lab: lab.Lab) -> None:
    _, alice, bob = shared(box, "pubme")
    body = {"path": "pubme", "notebook": "pubme", "bump": "MINOR", "message": "m", "dry_run": True}
    before = box.snapshot()
    status, dry = call(alice_lab, "publish", body)
    assert status == 200, dry
    assert dry["version"] == "1.0.0" and dry["files"] == ["pubme_FINAL.ipynb", "metadata.json"]
    assert set(dry["authors"]) == {box.user("alice"), box.user("bob")}
    assert "published" not in dry and box.changes(before) == {}

    status, done = call(alice_lab, "publish", {**body, "dry_run": False})
    assert status == 200, done
    assert done["published"] == "shared/pubme/v1.0.0/pubme_FINAL.ipynb"
    assert done["tag"] == "refs/tags/pubme/v1.0.0"
    status, fresh = call(alice_lab, f"published?path={done['published']}")
    assert (status, fresh["stale"], fresh["latest"]) == (200, False, "1.0.0")

    bob_syncs(box, bob, 1, "bob_mean = 3")
    status, second = call(alice_lab, "publish", {**body, "dry_run": False, "bump": "major"})
    assert status == 200 and second["version"] == "2.0.0", second
    status, old = call(alice_lab, f"published?path={done['published']}")
    assert (old["version"], old["latest"], old["stale"]) == ("1.0.0", "2.0.0", True)
    refused(call(alice_lab, "published?path=pick.ipynb"), "not a published copy")

    edit_cell(alice / "pubme.ipynb", 2, "print('not synced')")
    before = box.snapshot()
    refused(call(alice_lab, "publish", {**body, "dry_run": False}), "sync` first")
    refused(call(alice_lab, "publish", {**body, "bump": "HUGE"}), "MAJOR, MINOR, HOTFIX")
    assert box.changes(before) == {}


def test_a_link_into_a_teammates_folder_says_whose_it_is(box: Box, alice_lab: lab.Lab) -> None:
    secret = box.put("bob", Path(__file__).parents[2] / "fixtures/notebooks/sales.ipynb", "s.ipynb")
    link = box.home("alice") / "notebooks" / "bobs.ipynb"
    link.symlink_to(secret)
    os.lchown(link, pwd.getpwnam(box.user("alice")).pw_uid, -1)
    bob, alice = box.user("bob"), box.user("alice")
    status, answer = call(alice_lab, "whose?path=bobs.ipynb")
    assert status == 200, answer
    assert answer["message"] == (
        f"s.ipynb is in {bob}'s private folder: ask {bob} to share it (git nbshare {alice} s.ipynb)"
    )
    refused(call(alice_lab, "whose?path=pick.ipynb"), "can be read")


def test_cells_plain_git_left_are_settled_and_the_merge_finished(
    box: Box, alice_lab: lab.Lab
) -> None:
    cid, alice, _ = _collide(box, "pulled")
    bob = box.user("bob")
    assert box.run("alice", "git", "commit", "-qam", "mine", cwd=alice).returncode == 0
    pulled = box.run("alice", "git", "pull", "--no-rebase", "origin", f"u/{bob}/main", cwd=alice)
    assert pulled.returncode == 1 and "CONFLICT" in pulled.stdout, pulled.stdout + pulled.stderr
    status, stopped = call(alice_lab, "sync", {"path": "pulled"})
    assert status == 200 and stopped["conflicts"] == ["pulled.ipynb: cell 3 holds both versions"]
    assert "<<<<<<<" not in box.hub_git(cid, "show", f"u/{box.user('alice')}/main:pulled.ipynb")
    status, shown = call(alice_lab, "conflicts?path=pulled")
    assert [
        (c["index"], c["mine"], c["theirs"], c["theirs_author"]) for c in shown["conflicts"]
    ] == [(2, "print('alice')", "print('bob')", bob)]
    chosen = [{"file": "pulled.ipynb", "index": 2, "choice": "theirs"}]
    status, done = call(alice_lab, "resolve", {"path": "pulled", "choices": chosen})
    assert status == 200 and done["conflicts"] == [], done
    assert source(alice / "pulled.ipynb", 2) == "print('bob')"
    hub = box.hub_git(cid, "show", f"u/{box.user('alice')}/main:pulled.ipynb")
    assert source(hub, 2) == "print('bob')" and "<<<<<<<" not in hub
    assert not (alice / ".git" / "MERGE_HEAD").exists()


def test_an_unexpected_failure_is_500_and_one_line(box: Box, alice_lab: lab.Lab) -> None:
    fake = box.home("alice") / "notebooks" / "fake" / "v1.0.0"
    fake.mkdir(parents=True)
    (fake / "metadata.json").write_text("{not json")
    (fake / "fake_FINAL.ipynb").write_text("{}")
    for path in (fake.parent, fake, *fake.iterdir()):
        shutil.chown(path, box.user("alice"), box.user("alice"))
    status, said = call(alice_lab, "published?path=fake/v1.0.0/fake_FINAL.ipynb")
    assert status == 500, said
    assert (
        said["error"].startswith("internal error (JSONDecodeError: ") and "\n" not in said["error"]
    )
    assert "Traceback" in alice_lab.log.read_text(), "the details go to the server's log"
