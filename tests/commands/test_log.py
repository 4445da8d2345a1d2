"""`git nbcollab log` and the audit log behind it, over the real gate, hooks and sshd."""

from __future__ import annotations

import json
from typing import Any

import pytest

from git_nbcollab import audit
from git_nbcollab.cli import nbcollab
from git_nbcollab.names import ZERO
from tests.box import Box
from tests.commands.test_backup import backup_run, clone_as_bob, mirror_of, restore


def logged(box: Box, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert box.admin("log", "--json", *args) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture(scope="module")
def story(box: Box) -> dict[str, Any]:
    """alice shares, bob pushes (once allowed, twice refused: alice's branch, a force-push),
    carol knocks, alice publishes, sets the project and adds carol: every kind of request the
    hub serves."""
    cid = box.share("alice", ["bob"], "audited.ipynb")
    copy = clone_as_bob(box, cid, "audited")
    before = box.refs(cid)[f"refs/heads/u/{box.user('bob')}/main"]
    script = "echo 1 > b.txt && git add b.txt && git commit -qm b && git push -q"
    assert box.run("bob", "sh", "-c", script, cwd=copy).returncode == 0
    theirs = f"HEAD:refs/heads/u/{box.user('alice')}/main"
    assert box.run("bob", "git", "push", "origin", theirs, cwd=copy).returncode != 0
    back = f"+HEAD~1:refs/heads/u/{box.user('bob')}/main"
    assert box.run("bob", "git", "push", "origin", back, cwd=copy).returncode != 0
    assert box.git("carol", "ls-remote", box.url(cid)).returncode != 0
    alice = box.home("alice") / "notebooks" / "audited"
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice).returncode == 0
    published = box.run("alice", "git", "nbpublish", "--", "audited", cwd=alice)
    assert published.returncode == 0, published.stderr
    project = box.run("alice", "git", "nbcollab", "project", "set", "--title", "T", cwd=alice)
    assert project.returncode == 0, project.stderr
    assert box.run("alice", "git", "nbshare", box.user("carol"), cwd=alice).returncode == 0
    return {"cid": cid, "bob_before": before, "copy": copy}


def test_every_request_and_change_is_one_line_with_its_refs(
    box: Box, story: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cid, alice, bob, carol = story["cid"], box.user("alice"), box.user("bob"), box.user("carol")
    lines = logged(box, capsys, "--collab", cid)
    by = {(r["user"], r["op"], r["result"]): r for r in lines}
    refs = box.refs(cid)

    share = by[(alice, "share", "ok")]
    assert {m["ref"] for m in share["refs"]} == {f"refs/heads/u/{u}/main" for u in (alice, bob)}
    assert all(m["old"] == ZERO for m in share["refs"])
    push = [r for r in lines if r["user"] == bob and r["op"] == "push" and r["result"] == "ok"]
    assert push[0]["refs"] == [
        {
            "ref": f"refs/heads/u/{bob}/main",
            "old": story["bob_before"],
            "new": push[0]["refs"][0]["new"],
        }
    ]
    assert push[0]["refs"][0]["new"] != story["bob_before"]
    refused = [r for r in lines if r["user"] == bob and r["result"] == "refused"]
    assert [r["op"] for r in refused] == ["push", "push"]
    assert f"refs/heads/u/{alice}/main" in refused[0]["reason"]
    assert "belongs to" in refused[0]["reason"]
    assert refused[1]["refs"][0]["ref"] == f"refs/heads/u/{bob}/main"
    assert "non-fast-forward" in refused[1]["reason"], "a force-push has its line too"
    assert by[(carol, "fetch", "refused")]["reason"].startswith("no such collaboration")
    publish = by[(alice, "publish", "ok")]
    moved = {m["ref"]: m for m in publish["refs"]}
    assert moved["refs/heads/master"]["new"] == refs["refs/heads/master"]
    assert moved["refs/tags/audited/v1.0.0"]["old"] == ZERO
    assert by[(alice, "project", "ok")]["refs"][0]["ref"] == "refs/nbcollab/project"
    added = by[(alice, "add-members", "ok")]["refs"]
    assert [m["ref"] for m in added] == [f"refs/heads/u/{carol}/main"]
    assert (bob, "fetch", "ok") in by, "clone and sync fetch"
    assert all(r["time"].endswith("Z") and r["collab"] == cid for r in lines)


def test_filters_and_the_table(
    box: Box, story: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cid, bob = story["cid"], box.user("bob")
    spec = f"{box.user('alice')},{bob},{box.user('carol')}:audited"
    assert logged(box, capsys, "--collab", spec) == logged(box, capsys, "--collab", cid)
    mine = logged(box, capsys, "--collab", cid, "--user", bob)
    assert mine and {r["user"] for r in mine} == {bob}
    assert len(logged(box, capsys, "--collab", cid, "--since", "1h")) > len(mine)
    assert logged(box, capsys, "--since", "2999-01-01") == []
    assert box.admin("log", "--collab", cid, "--user", bob) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["time", "user", "op", "collab", "result", "details"]
    assert any("refused" in row and "belongs to" in row for row in table[1:])


def test_the_service_account_reads_it_and_nobody_else_can_touch_it(
    box: Box, story: dict[str, Any]
) -> None:
    served = box.run_as(box.service, "git", "nbcollab", "log", "--root", str(box.root))
    assert served.returncode == 0 and story["cid"] in served.stdout, served.stderr
    for short in ("alice", "carol"):
        done = box.run(short, "git", "nbcollab", "log", "--root", str(box.root))
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert f"only root or {box.service}" in done.stderr
    folder = box.root / audit.FOLDER
    newest = folder / audit.files(str(box.root))[-1]
    for path, mode in ((folder, 0o700), (newest, 0o600)):
        assert path.stat().st_uid == box.root.stat().st_uid and path.stat().st_mode & 0o777 == mode
    before = newest.read_bytes()
    written = box.run("bob", "sh", "-c", f"echo forged >> {newest}")
    assert written.returncode != 0 and newest.read_bytes()[: len(before)] == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "yesterday"], "--since 'yesterday'"),
        (["--since", "5y"], "--since '5y'"),
        (["--collab", "not a spec!"], "not a"),
        (["--collab", "nobody,nothing:x"], "no such collaboration"),
        (["--user", "Bad Name"], "not a valid user name"),
    ],
)
def test_bad_input_is_one_line(
    box: Box, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    capsys.readouterr()
    assert box.admin("log", *args) == 1
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1, err


def test_the_log_is_backed_up_piece_by_piece_and_a_restore_is_logged(
    box: Box, story: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    backup_run(box)
    mirrored = mirror_of(box) / audit.FOLDER
    first = {p: p.read_bytes() for p in mirrored.rglob("*") if p.is_file()}
    for name in audit.files(str(box.root)):
        pieces = sorted((mirrored / name).iterdir())
        local = (box.root / audit.FOLDER / name).read_bytes()
        assert local.startswith(b"".join(p.read_bytes() for p in pieces)), name
    assert box.git("bob", "fetch", "-q", cwd=story["copy"]).returncode == 0
    backup_run(box)
    second = {p: p.read_bytes() for p in mirrored.rglob("*") if p.is_file()}
    assert len(second) > len(first) and all(second[p] == data for p, data in first.items())

    code, new = restore(box, story["cid"])
    assert code == 0
    capsys.readouterr()
    assert nbcollab(["log", "--json", "--root", str(new)]) == 0
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["op"] == "restore" and line["user"] == "root" and line["collab"] == story["cid"]
    assert {m["ref"]: m["new"] for m in line["refs"]} == Box.refs_at(
        new / "collabs" / f"{story['cid']}.git"
    )
    assert (new / audit.FOLDER).stat().st_uid == new.stat().st_uid


def test_a_members_name_is_found_through_list_s_index_and_root_writes_none_of_it(
    box: Box, story: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    """Root reads the index `list` keeps instead of every repo, and writes nothing there: not
    when the index is current, nor when it is gone (then root reads the repos, as before)."""
    from git_nbcollab.hub import collabs, listing

    spec = f"{box.user('alice')},{box.user('bob')},{box.user('carol')}:audited"
    assert box.run("alice", "git", "nbcollab", "list").returncode == 0  # the index, current
    folder = box.root / listing.FOLDER

    def files() -> dict[str, tuple[int, bytes]]:
        return {str(p): (p.stat().st_uid, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}

    before = files()
    walk = collabs.all_collabs
    with monkeypatch.context() as patched:
        patched.setattr(collabs, "all_collabs", lambda hub: pytest.fail("read every repo"))
        assert story["cid"] in {r["collab"] for r in logged(box, capsys, "--collab", spec)}
    assert files() == before
    (folder / "index").unlink()
    assert collabs.all_collabs is walk
    assert story["cid"] in {r["collab"] for r in logged(box, capsys, "--collab", spec)}
    assert files() == {k: v for k, v in before.items() if not k.endswith("/index")}
    assert box.run("alice", "git", "nbcollab", "list").returncode == 0  # written again, as ever
    assert (folder / "index").stat().st_uid == box.root.stat().st_uid
