"""What the hub enforces whatever the client does: real users, plain git and ssh, real sshd."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.box import Box


@pytest.fixture(scope="module")
def collab(box: Box) -> str:
    """alice and bob share a notebook; bob has a working copy with one commit of his own."""
    cid = box.share("alice", ["bob"], "guarded.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, "guarded").returncode == 0
    copy = box.home("bob") / "notebooks" / "guarded"
    script = "echo 1 > b.txt && git add b.txt && git commit -qm b && git push -q"
    assert box.run("bob", "sh", "-c", script, cwd=copy).returncode == 0
    return cid


@pytest.mark.parametrize(
    "attempt",
    [
        ["ls-remote", "{url}"],
        ["clone", "{url}", "stolen"],
        ["fetch", "{url}", "refs/heads/*:refs/remotes/x/*"],
        ["push", "{url}", "HEAD:refs/heads/u/{me}/x"],
    ],
)
def test_carol_cannot_reach_a_collaboration_she_is_not_in(
    box: Box, collab: str, attempt: list[str], tmp_path: Path
) -> None:
    work = box.home("carol") / "notebooks" / "scratch"
    if not work.exists():
        assert (
            box.run(
                "carol",
                "sh",
                "-c",
                "git init -q scratch && cd scratch && git commit -q --allow-empty -m x",
            ).returncode
            == 0
        )
    answers = []
    for cid in (collab, "ffffffff"):
        args = [a.format(url=box.url(cid), me=box.user("carol")) for a in attempt]
        done = box.git("carol", *args, cwd=work)
        assert done.returncode != 0
        answers.append(done.stderr.replace(cid, "X"))
    assert "no such collaboration: X" in answers[0]
    assert answers[0] == answers[1], "an id that exists and one that does not look the same"
    assert not (work / "stolen").exists()


def test_carol_cannot_read_the_hub_on_disk(box: Box, collab: str) -> None:
    repo = box.root / "collabs" / f"{collab}.git"
    for path in (box.root / "collabs", repo / "config", box.root / "keys", box.root / "spool"):
        done = box.run("carol", "cat", str(path))
        assert done.returncode != 0 and "Permission denied" in done.stderr, path
    for short in ("alice", "bob", "carol"):
        assert box.run(short, "ls", str(repo / "hooks")).returncode != 0


@pytest.mark.parametrize(
    ("refspec", "why"),
    [
        ("HEAD:refs/heads/u/{alice}/main", "belongs to {alice}"),
        ("HEAD:refs/heads/u/{alice}/side", "belongs to {alice}"),
        ("HEAD:refs/heads/master", "git nbpublish"),
        ("HEAD:refs/tags/guarded/v9.9.9", "git nbpublish"),
        (":refs/heads/u/{alice}/main", "belongs to {alice}"),
        (":refs/heads/u/{bob}/main", "cannot be deleted"),
        ("HEAD:refs/heads/elsewhere", "push to your own branches"),
        ("+HEAD~1:refs/heads/u/{bob}/main", "non-fast-forward"),
    ],
)
def test_bob_may_only_move_his_own_branches_forward(
    box: Box, collab: str, refspec: str, why: str
) -> None:
    names = {"alice": box.user("alice"), "bob": box.user("bob")}
    copy = box.home("bob") / "notebooks" / "guarded"
    before = box.refs(collab)
    done = box.run("bob", "git", "push", "origin", refspec.format(**names), cwd=copy)
    assert done.returncode != 0
    assert why.format(**names) in done.stderr, done.stderr
    assert box.refs(collab) == before


def test_bob_may_make_and_delete_his_own_side_branches(box: Box, collab: str) -> None:
    copy = box.home("bob") / "notebooks" / "guarded"
    side = f"refs/heads/u/{box.user('bob')}/side"
    assert box.run("bob", "git", "push", "-q", "origin", f"HEAD:{side}", cwd=copy).returncode == 0
    assert side in box.refs(collab)
    assert box.run("bob", "git", "push", "-q", "origin", f":{side}", cwd=copy).returncode == 0
    assert side not in box.refs(collab)


@pytest.mark.parametrize(
    "request_",
    [
        "",
        "id",
        "sh -c id",
        "git-upload-pack '/{cid}'; id",
        "git-upload-pack '/{cid}' && id",
        "git-upload-archive '/{cid}'",
        "git-receive-pack $(id)",
        "nbcollab shell",
    ],
)
def test_the_gate_runs_nothing_but_git_and_the_tools_operations(
    box: Box, collab: str, request_: str
) -> None:
    target = f"{box.service}@127.0.0.1"
    done = box.run(
        "bob", *box.ssh("bob"), "-p", str(box.port), "-T", target, request_.format(cid=collab)
    )
    assert done.returncode != 0
    assert box.user("bob") not in done.stdout, "no command ran to print who we are"
    assert "uid=" not in done.stdout + done.stderr


def test_nobody_can_write_hooks_config_or_the_published_tree(box: Box, collab: str) -> None:
    repo = box.root / "collabs" / f"{collab}.git"
    for short in ("alice", "bob"):
        for target in (
            repo / "hooks" / "pre-receive",
            repo / "config",
            box.root / "published" / "planted.ipynb",
            box.root / "hub.json",
        ):
            done = box.run(short, "sh", "-c", f"echo x >> '{target}'")
            assert done.returncode != 0, target
    assert not (box.root / "published" / "planted.ipynb").exists()
    published = (box.root / "published").stat()
    assert published.st_mode & 0o777 == 0o750, "readable by the team, writable by the service"
    hook = (repo / "hooks" / "pre-receive").stat()
    assert hook.st_mode & 0o022 == 0


def test_everyones_notebooks_are_private(box: Box) -> None:
    alice_notebooks = box.home("alice") / "notebooks"
    for short in ("bob", "carol"):
        done = box.run(short, "ls", str(alice_notebooks))
        assert done.returncode != 0 and "Permission denied" in done.stderr
    assert alice_notebooks.stat().st_mode & 0o777 == 0o700
    assert (alice_notebooks / "shared").resolve() == (box.root / "published").resolve()
    assert box.run("bob", "ls", str(box.home("bob") / "notebooks" / "shared/")).returncode == 0


def test_a_side_branch_starts_over_only_by_deleting_it_and_main_never_moves_back(
    box: Box, collab: str
) -> None:
    """No force pushes anywhere; deleting your own side branch is the explicit way to start it
    over (README), while u/<you>/main can be neither deleted nor moved backwards."""
    copy = box.home("bob") / "notebooks" / "guarded"
    bob = box.user("bob")
    side, main = f"refs/heads/u/{bob}/redo", f"refs/heads/u/{bob}/main"
    older = box.run("bob", "git", "rev-parse", "HEAD~1", cwd=copy).stdout.strip()

    def push(*refspecs: str) -> subprocess.CompletedProcess[str]:
        return box.run("bob", "git", "push", "origin", *refspecs, cwd=copy)

    assert push(f"HEAD:{side}").returncode == 0
    forced = push(f"+HEAD~1:{side}")
    assert forced.returncode != 0 and "non-fast-forward" in forced.stderr
    assert push(f":{side}").returncode == 0
    assert push(f"HEAD~1:{side}").returncode == 0
    assert box.refs(collab)[side] == older, "started over, one commit back"
    assert push(f":{side}").returncode == 0

    before = box.refs(collab)
    for refspec, why in (
        (f":{main}", "cannot be deleted"),
        (f"+HEAD~1:{main}", "non-fast-forward"),
    ):
        done = push(refspec)
        assert done.returncode != 0 and why in done.stderr, done.stderr
    assert box.refs(collab) == before
