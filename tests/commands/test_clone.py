"""git nbcollab clone: members get a working copy; everyone else the same "no such" answer."""

from __future__ import annotations

import shutil
import stat
import subprocess

import pytest

from tests.box import FIXTURES, Box


def test_clone_puts_you_on_your_own_branch_with_plain_git_push(box: Box) -> None:
    cid = box.share("alice", ["bob"], "clone-branch.ipynb")
    done = box.run("bob", "git", "nbcollab", "clone", cid, "mine")
    assert done.returncode == 0, done.stderr
    copy = box.home("bob") / "notebooks" / "mine"
    upstream = box.run("bob", "git", "rev-parse", "--abbrev-ref", "@{upstream}", cwd=copy)
    assert upstream.stdout.strip() == f"origin/u/{box.user('bob')}/main"
    assert (copy / "clone-branch.ipynb").is_file()


def test_non_members_and_unknown_ids_get_the_same_answer(box: Box) -> None:
    cid = box.share("alice", ["bob"], "clone-secret.ipynb")
    spec = f"{box.user('alice')},{box.user('bob')}:clone-secret"
    answers = []
    for wanted in (cid, spec, "ffffffff"):
        before = box.snapshot()
        done = box.run("carol", "git", "nbcollab", "clone", wanted)
        assert done.returncode == 1
        assert box.changes(before) == {}
        answers.append(done.stderr.replace(wanted, "X"))
    assert answers[0] == answers[1] == answers[2]
    assert "no such collaboration: X" in answers[0]


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("nope", "not a collaboration"),
        ("a;b:x", "not a valid user name"),
        ("x:../y", "not a usable notebook name"),
    ],
)
def test_malformed_specs_are_refused_before_reaching_the_hub(box: Box, spec: str, why: str) -> None:
    done = box.run("bob", "git", "nbcollab", "clone", spec)
    assert done.returncode == 1 and why in done.stderr
    assert "Traceback" not in done.stderr


def test_clone_into_an_existing_folder_is_refused(box: Box) -> None:
    cid = box.share("alice", ["bob"], "clone-taken.ipynb")
    (box.home("bob") / "notebooks" / "taken").mkdir()
    before = box.snapshot()
    done = box.run("bob", "git", "nbcollab", "clone", cid, "taken")
    assert done.returncode == 1 and "already exists" in done.stderr
    assert box.changes(before) == {}


def _handshakes(box: Box) -> int:
    return (box.base / "sshd" / "sshd.log").read_text().count("Accepted publickey for")


def test_share_and_clone_each_open_one_ssh_connection(box: Box) -> None:
    box.put("alice", FIXTURES / "notebooks" / "sales.ipynb", "clone-once.ipynb")
    before = _handshakes(box)
    assert box.run("alice", "git", "nbshare", box.user("bob"), "clone-once.ipynb").returncode == 0
    after_share = _handshakes(box)
    assert (
        box.run(
            "bob", "git", "nbcollab", "clone", f"{box.user('alice')},{box.user('bob')}:clone-once"
        ).returncode
        == 0
    )
    assert (after_share - before, _handshakes(box) - after_share) == (1, 1)
    for short in ("alice", "bob"):
        ps = ["ps", "-o", "stat=,comm=", "-u", box.user(short)]
        running = subprocess.run(ps, capture_output=True, text=True).stdout.splitlines()
        masters = [line for line in running if line.split()[1] == "ssh" and line[0] != "Z"]
        assert masters == [], "the shared connection is closed when the command ends"


def test_working_copies_are_private_wherever_they_are_made(box: Box) -> None:
    """Homes are 0755: a copy made in ~ by clone or nbshare must still be closed to others."""
    notebook = box.home("alice") / "clone-private.ipynb"
    notebook.write_bytes((FIXTURES / "notebooks" / "sales.ipynb").read_bytes())
    shutil.chown(notebook, box.user("alice"), box.user("alice"))
    share = f"umask 022 && git nbshare {box.user('bob')} clone-private.ipynb"
    done = box.run("alice", "sh", "-c", share, cwd=box.home("alice"))
    assert done.returncode == 0, done.stderr
    cid = done.stdout.split("(id ")[1].split(")")[0]
    clone = f"umask 022 && git nbcollab clone {cid} {box.home('bob')}/clone-private"
    done = box.run("bob", "sh", "-c", clone)
    assert done.returncode == 0, done.stderr
    for owner in ("alice", "bob"):
        copy = box.home(owner) / "clone-private"
        assert stat.S_IMODE(copy.stat().st_mode) == 0o700, owner
        for probe in (["ls", str(copy)], ["cat", str(copy / "clone-private.ipynb")]):
            seen = box.run("carol", *probe)
            assert seen.returncode != 0 and "sales" not in seen.stdout, (owner, probe)
