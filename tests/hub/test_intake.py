"""What one push may bring to the hub (hub/intake.py through the pre-receive hook): real users,
plain git pushes over a real sshd. Each refusal names the path or ref and the reason, and
leaves the hub exactly as it was (refs and objects)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_nbcollab.notebooks import check
from tests.box import FIXTURES, Box

LIMITS = ("--max-file-mb", "1", "--max-refs", "10", "--max-push-mb", "2")


@pytest.fixture(scope="module")
def collab(box: Box) -> Iterator[str]:
    """alice and bob share a notebook, bob has a clone; the hub's limits are lowered (by running
    init again, as an admin would) so that the tests stay small, and set back afterwards."""
    init = ["init", *box.init_options(), "--bin-dir", str(box.bin_dir)]
    assert box.admin(*init, *LIMITS) == 0
    settings = json.loads((box.root / "hub.json").read_text())
    assert (settings["max_file_mb"], settings["max_refs"], settings["max_push_mb"]) == (1, 10, 2)
    cid = box.share("alice", ["bob"], "intake.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, "intake").returncode == 0
    yield cid
    defaults = ("--max-file-mb", "100", "--max-refs", "100", "--max-push-mb", "1024")
    assert box.admin(*init, *defaults) == 0


def copy_of(box: Box) -> Path:
    return box.home("bob") / "notebooks" / "intake"


def commit(box: Box, cid: str, files: dict[str, bytes], remove: tuple[str, ...] = ()) -> None:
    """As bob, a commit on top of his branch as the hub has it, with these files written."""
    copy, main = copy_of(box), f"refs/heads/u/{box.user('bob')}/main"
    assert box.run("bob", "git", "fetch", "-q", "origin", main, cwd=copy).returncode == 0
    assert box.run("bob", "git", "reset", "-q", "--hard", "FETCH_HEAD", cwd=copy).returncode == 0
    for name in remove:
        assert box.run("bob", "git", "rm", "-q", name, cwd=copy).returncode == 0
    for name, data in files.items():
        (copy / name).write_bytes(data)
        shutil.chown(copy / name, box.user("bob"), box.user("bob"))
    script = "git add -A && git commit -qm attempt"
    assert box.run("bob", "sh", "-c", script, cwd=copy).returncode == 0


def objects(box: Box, cid: str) -> set[str]:
    """Every object in the collaboration's repo, reachable or not."""
    listing = box.hub_git(cid, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return set(listing.split())


def push_refused(box: Box, cid: str, *refspecs: str) -> str:
    """Push as bob and expect a refusal that changes nothing on the hub; returns stderr."""
    before, refs, objs = box.snapshot(), box.refs(cid), objects(box, cid)
    done = box.run("bob", "git", "push", "origin", *refspecs, cwd=copy_of(box))
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr
    assert box.refs(cid) == refs and objects(box, cid) == objs
    hub_changes = {p: c for p, c in box.changes(before).items() if p.startswith(str(box.root))}
    assert hub_changes == {}
    return done.stderr


def main_ref(box: Box) -> str:
    return f"HEAD:refs/heads/u/{box.user('bob')}/main"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[1,2,3]", "JSON, but not a notebook"),
        (b"[" * 100_000 + b"]" * 100_000, f"nested more than {check.MAX_DEPTH} levels deep"),
        (b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "x": 1}', "'x'"),
    ],
    ids=["invalid json", "json list", "nested 100,000 deep", "off the schema"],
)
def test_a_push_of_something_that_is_not_a_notebook_is_refused(
    box: Box, collab: str, content: bytes, why: str
) -> None:
    commit(box, collab, {"broken.ipynb": content})
    stderr = push_refused(box, collab, main_ref(box))
    line = next(line for line in stderr.splitlines() if "broken.ipynb" in line)
    assert "refused broken.ipynb" in line and why in line, stderr


def test_a_rename_into_a_notebook_is_checked_too(box: Box, collab: str) -> None:
    """The blob is on the hub already (as a text file): renaming it to .ipynb still counts."""
    commit(box, collab, {"notes.txt": b"{not json"})
    assert (
        box.run("bob", "git", "push", "-q", "origin", main_ref(box), cwd=copy_of(box)).returncode
        == 0
    )
    commit(box, collab, {"notes.ipynb": b"{not json"}, remove=("notes.txt",))
    assert "refused notes.ipynb" in push_refused(box, collab, main_ref(box))


def test_every_notebook_of_every_new_commit_is_checked(box: Box, collab: str) -> None:
    """A bad notebook in an earlier commit of the push is refused even if the tip fixes it."""
    commit(box, collab, {"twice.ipynb": b"[1,2,3]"})
    sales = (FIXTURES / "notebooks" / "sales.ipynb").read_bytes()
    copy = copy_of(box)
    (copy / "twice.ipynb").write_bytes(sales)
    assert box.run("bob", "sh", "-c", "git commit -qam fixed", cwd=copy).returncode == 0
    assert "refused twice.ipynb" in push_refused(box, collab, main_ref(box))


def test_a_file_over_the_size_limit_is_refused(box: Box, collab: str) -> None:
    # 1.5 MB of zeros: a few kB in the pack, over the 1 MB a file the hub was set to.
    commit(box, collab, {"zeros.bin": bytes(1_500_000)})
    stderr = push_refused(box, collab, main_ref(box))
    assert "refused zeros.bin" in stderr and "over the hub's limit of 1 MB a file" in stderr


def test_a_pack_over_the_push_limit_is_refused(box: Box, collab: str) -> None:
    commit(box, collab, {"noise.bin": os.urandom(900_000), "noise2.bin": os.urandom(900_000)})
    commit_noise = copy_of(box) / "noise3.bin"
    commit_noise.write_bytes(os.urandom(900_000))
    shutil.chown(commit_noise, box.user("bob"), box.user("bob"))
    assert (
        box.run("bob", "sh", "-c", "git add -A && git commit -qm more", cwd=copy_of(box)).returncode
        == 0
    )
    assert "exceeds maximum allowed size" in push_refused(box, collab, main_ref(box))


def test_too_many_branches_are_refused(box: Box, collab: str) -> None:
    commit(box, collab, {"side.txt": b"side\n"})
    bob = box.user("bob")
    refspecs = [f"HEAD:refs/heads/u/{bob}/b{i}" for i in range(10)]  # main is already one
    stderr = push_refused(box, collab, *refspecs)
    assert "you would have 11 branches here, over the hub's limit of 10" in stderr


def test_valid_notebooks_and_files_still_land(box: Box, collab: str) -> None:
    notebooks = {p.name: p.read_bytes() for p in sorted((FIXTURES / "notebooks").glob("*.ipynb"))}
    commit(box, collab, {**notebooks, "small.bin": bytes(1_000_000)})
    done = box.run("bob", "git", "push", "origin", main_ref(box), cwd=copy_of(box))
    assert done.returncode == 0, done.stderr
    head = box.run("bob", "git", "rev-parse", "HEAD", cwd=copy_of(box)).stdout.strip()
    assert box.refs(collab)[f"refs/heads/u/{box.user('bob')}/main"] == head


def test_init_refuses_a_limit_below_one_and_changes_nothing(
    box: Box, collab: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = box.snapshot()
    init = ["init", *box.init_options(), "--bin-dir", str(box.bin_dir)]
    assert box.admin(*init, "--max-refs", "0") == 1
    assert "--max-refs 0: give a number, 1 or more" in capsys.readouterr().err
    assert box.changes(before) == {}


def test_publish_refuses_files_over_the_limit_instead_of_loading_them(
    box: Box, collab: str
) -> None:
    """A file that came in under a higher limit: publishing, which loads files whole, refuses
    it after the admin lowered the limit, and changes nothing."""
    cid = box.share("alice", ["bob"], "heavy.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, "heavy").returncode == 0
    copy = box.home("bob") / "notebooks" / "heavy"
    init = ["init", *box.init_options(), "--bin-dir", str(box.bin_dir)]
    assert box.admin(*init, "--max-file-mb", "2") == 0
    try:
        (copy / "zeros.bin").write_bytes(bytes(1_500_000))
        shutil.chown(copy / "zeros.bin", box.user("bob"), box.user("bob"))
        script = "git add zeros.bin && git commit -qm zeros && git push -q"
        done = box.run("bob", "sh", "-c", script, cwd=copy)
        assert done.returncode == 0, done.stderr
    finally:
        assert box.admin(*init, "--max-file-mb", "1") == 0
    before = box.snapshot()
    done = box.run("bob", "git", "nbpublish", "--", "heavy", cwd=copy)
    assert done.returncode == 1, done.stderr
    assert "1 file(s) over the hub's limit of 1 MB a file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert box.changes(before) == {}
