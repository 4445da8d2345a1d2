"""git nbshare over the real gate: real users, a real sshd, real git."""

from __future__ import annotations

import json

import pytest

from tests.box import FIXTURES, Box


def test_share_makes_a_collaboration_with_a_branch_per_member(box: Box) -> None:
    alice, bob = box.user("alice"), box.user("bob")
    cid = box.share("alice", ["bob"], "share-basic.ipynb")

    refs = box.refs(cid)
    assert set(refs) == {f"refs/heads/u/{alice}/main", f"refs/heads/u/{bob}/main"}
    assert len(set(refs.values())) == 1, "both authors start from the same commit"
    copy = box.home("alice") / "notebooks" / "share-basic"
    shared = copy / "share-basic.ipynb"
    assert shared.read_bytes() == (FIXTURES / "notebooks" / "sales.ipynb").read_bytes()
    branch = box.run("alice", "git", "branch", "--show-current", cwd=copy).stdout.strip()
    assert branch == f"u/{alice}/main"
    assert shared.stat().st_uid == box.home("alice").stat().st_uid, "the copy is alice's"


def test_share_upgrades_a_notebook_jupyter_opens_and_gives_it_ids(box: Box) -> None:
    old = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {"name": "old"},
        "worksheets": [{"metadata": {}, "cells": [
            {"cell_type": "markdown", "source": "# Old", "metadata": {}},
            {"cell_type": "code", "input": "1 + 1", "language": "python", "outputs": [],
             "metadata": {}},
        ]}],
    }  # fmt: skip
    data = json.dumps(old).encode()
    box.put("alice", data, "share-old.ipynb")
    done = box.run("alice", "git", "nbshare", box.user("bob"), "share-old.ipynb")
    assert done.returncode == 0, done.stderr
    assert "share-old.ipynb: upgraded from nbformat 3.0 to 4.5, with cell ids" in done.stdout
    shared = json.loads(
        (box.home("alice") / "notebooks" / "share-old" / "share-old.ipynb").read_bytes()
    )
    assert shared["nbformat"] == 4 and shared["nbformat_minor"] == 5, "shared as nbformat 4.5"
    ids = [c["id"] for c in shared["cells"]]
    assert len(ids) == 2 and len(set(ids)) == 2, "every cell has its own id from the first commit"
    assert (box.home("alice") / "notebooks" / "share-old.ipynb").read_bytes() == data, (
        "original kept"
    )


def test_share_prints_the_id_the_spec_and_the_command_for_the_others(box: Box) -> None:
    box.put("alice", FIXTURES / "notebooks" / "sales.ipynb", "share-print.ipynb")
    done = box.run("alice", "git", "nbshare", box.user("bob"), "share-print.ipynb")
    spec = f"{box.user('alice')},{box.user('bob')}:share-print"
    assert done.returncode == 0
    assert f"shared share-print.ipynb as {spec} (id " in done.stdout
    assert f"git nbcollab clone {spec}" in done.stdout


def test_members_see_it_in_their_list_and_others_do_not(box: Box) -> None:
    cid = box.share("alice", ["bob"], "share-list.ipynb")
    for short in ("alice", "bob"):
        listing = box.run(short, "git", "nbcollab", "list").stdout
        assert cid in listing and "share-list" in listing
    assert cid not in box.run("carol", "git", "nbcollab", "list").stdout


def test_bob_clones_by_either_spec_form_commits_and_pushes(box: Box) -> None:
    alice, bob = box.user("alice"), box.user("bob")
    cid = box.share("alice", ["bob"], "share-push.ipynb")
    spec = f"{bob},{alice}:share-push"
    assert box.run("bob", "git", "nbcollab", "clone", spec).returncode == 0
    by_id = box.run("bob", "git", "nbcollab", "clone", cid, "by-id")
    assert by_id.returncode == 0, by_id.stderr
    copy = box.home("bob") / "notebooks" / "share-push"
    script = "echo done > notes.txt && git add notes.txt && git commit -qm notes && git push -q"
    pushed = box.run("bob", "sh", "-c", script, cwd=copy)
    assert pushed.returncode == 0, pushed.stderr
    head = box.run("bob", "git", "rev-parse", "HEAD", cwd=copy).stdout.strip()
    assert box.refs(cid)[f"refs/heads/u/{bob}/main"] == head

    alice_copy = box.home("alice") / "notebooks" / "share-push"
    assert box.run("alice", "git", "fetch", "-q", cwd=alice_copy).returncode == 0
    seen = box.run("alice", "git", "rev-parse", f"origin/u/{bob}/main", cwd=alice_copy)
    assert seen.stdout.strip() == head, "alice can fetch bob's branch"
    theirs = box.run("bob", "git", "rev-parse", f"origin/u/{alice}/main", cwd=copy)
    assert theirs.returncode == 0, "bob can fetch alice's branch"


def test_sharing_inside_a_working_copy_adds_a_member(box: Box) -> None:
    alice, carol = box.user("alice"), box.user("carol")
    cid = box.share("alice", ["bob"], "share-add.ipynb")
    copy = box.home("alice") / "notebooks" / "share-add"
    added = box.run("alice", "git", "nbshare", carol, cwd=copy)
    assert added.returncode == 0, added.stderr
    refs = box.refs(cid)
    assert refs[f"refs/heads/u/{carol}/main"] == refs[f"refs/heads/u/{alice}/main"]
    cloned = box.run("carol", "git", "nbcollab", "clone", cid)
    assert cloned.returncode == 0, cloned.stderr


def _bad_setup(box: Box) -> None:
    box.put("alice", FIXTURES / "notebooks" / "sales.ipynb", "bad-ok.ipynb")
    box.put("alice", b'{"cells": [}', "bad-json.ipynb")
    box.put("alice", b'{"hello": "world"}', "bad-schema.ipynb")
    (box.home("alice") / "notebooks" / "bad-folder.ipynb").mkdir(exist_ok=True)
    (box.home("alice") / "notebooks" / "bad-taken").mkdir(exist_ok=True)
    box.put("alice", FIXTURES / "notebooks" / "sales.ipynb", "bad-taken.ipynb")


BAD_SHARES = {
    "unknown teammate": (["{zed}", "bad-ok.ipynb"], "no teammate named"),
    "path in user name": (["../x", "bad-ok.ipynb"], "not a valid user name"),
    "shell in user name": (["a;b", "bad-ok.ipynb"], "not a valid user name"),
    "missing notebook": (["{bob}", "bad-nope.ipynb"], "no such notebook"),
    "folder": (["{bob}", "bad-folder.ipynb"], "is a folder"),
    "not json": (["{bob}", "bad-json.ipynb"], "not a valid notebook"),
    "not a notebook": (["{bob}", "bad-schema.ipynb"], "not a valid notebook"),
    "with yourself": (["{alice}", "bad-ok.ipynb"], "not yourself"),
    "colon in name": (["{bob}", "bad-ok.ipynb", "--name", "a:b"], "not a usable notebook name"),
    "slash in name": (["{bob}", "bad-ok.ipynb", "--name", "a/b"], "not a usable notebook name"),
    "working copy folder taken": (["{bob}", "bad-taken.ipynb"], "already exists"),
    "not a notebook file": (["{bob}", "notes.txt"], "not a notebook file name"),
    "no notebook outside a copy": (["{bob}"], "name the notebook to share"),
}


@pytest.mark.parametrize("case", sorted(BAD_SHARES))
def test_bad_shares_say_why_in_one_line_and_change_nothing(box: Box, case: str) -> None:
    _bad_setup(box)
    args, why = BAD_SHARES[case]
    names = {s: box.user(s) for s in ("alice", "bob", "zed")}
    before = box.snapshot()
    done = box.run("alice", "git", "nbshare", *(a.format(**names) for a in args))
    assert done.returncode == 1 or done.returncode == 2
    assert why in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert box.changes(before) == {}, "a refused share leaves no repo, branch or file behind"


def test_the_same_members_and_name_twice_is_refused_unchanged(box: Box) -> None:
    cid = box.share("alice", ["bob"], "share-twice.ipynb")
    box.run("alice", "mkdir", "other")
    box.put("alice", FIXTURES / "notebooks" / "sales.ipynb", "other/elsewhere.ipynb")
    before = box.snapshot()
    again = box.run(
        "alice", "git", "nbshare", box.user("bob"), "other/elsewhere.ipynb", "--name", "share-twice"
    )
    assert again.returncode == 1
    assert f"already exists (id {cid})" in again.stderr
    assert box.changes(before) == {}
