"""git nbpublish over the real gate: versions, the published tree, refusals, races, crashes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from git_nbcollab.notebooks import notebook
from tests.box import Box, edit_cell


def _collab(box: Box, name: str) -> tuple[str, Path, Path]:
    """alice shares NAME.ipynb with bob, bob clones: (id, alice's copy, bob's copy)."""
    cid = box.share("alice", ["bob"], f"{name}.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid).returncode == 0
    return cid, box.home("alice") / "notebooks" / name, box.home("bob") / "notebooks" / name


def _edit_and_sync(box: Box, short: str, copy: Path, cell: int, source: str) -> None:
    """Catch up with the others, change one cell, sync again (the daily loop)."""
    for step in ("catch up", "edit"):
        if step == "edit":
            edit_cell(copy / f"{copy.name}.ipynb", cell, source)
        done = box.run(short, "git", "nbcollab", "sync", cwd=copy)
        assert done.returncode == 0, done.stderr


def _published(box: Box, name: str, version: str) -> Path:
    return box.root / "published" / name / f"v{version}"


def test_publish_hotfix_then_minor(box: Box) -> None:
    cid, alice, bob = _collab(box, "pubflow")
    _edit_and_sync(box, "alice", alice, 0, "# Sales, first version")
    _edit_and_sync(box, "bob", bob, 2, "print(max(sales), 'max')")
    spec = f"{box.user('alice')},{box.user('bob')}:pubflow"

    first = box.run("alice", "git", "nbpublish", spec, "--", "pubflow")
    assert first.returncode == 0, first.stderr
    assert "published pubflow:v1.0.0" in first.stdout and "tag pubflow/v1.0.0" in first.stdout
    copy = _published(box, "pubflow", "1.0.0") / "pubflow_FINAL.ipynb"
    merged = notebook.read(copy.read_bytes(), "published copy")
    assert [c.source for c in merged.cells][0::2] == [
        "# Sales, first version",
        "print(max(sales), 'max')",
    ]
    assert stat.S_IMODE(copy.stat().st_mode) == 0o440
    refs = box.refs(cid)
    tag_type = box.hub_git(cid, "cat-file", "-t", refs["refs/tags/pubflow/v1.0.0"]).strip()
    assert tag_type == "tag", "versions are annotated tags (incremental bundles keep them)"
    master = box.hub_git(cid, "ls-tree", "--name-only", "master").split()
    assert master == ["pubflow_FINAL.ipynb"]

    _edit_and_sync(box, "bob", bob, 1, "statistics.median(sales)")
    hotfix = box.run("bob", "git", "nbpublish", "-version", "HOTFIX", "--", "pubflow", cwd=bob)
    assert "published pubflow:v1.0.1" in hotfix.stdout, hotfix.stderr
    _edit_and_sync(box, "alice", alice, 1, "statistics.fmean(sales)")
    minor = box.run("alice", "git", "nbpublish", "-m", "fmean", "--", "pubflow", cwd=alice)
    assert "published pubflow:v1.1.0" in minor.stdout, minor.stderr

    assert os.readlink(box.root / "published" / "pubflow" / "latest") == "v1.1.0"
    meta = json.loads((_published(box, "pubflow", "1.1.0") / "metadata.json").read_text())
    assert meta["version"] == "1.1.0" and meta["message"] == "fmean"
    assert meta["published_by"] == box.user("alice") and meta["collab"] == cid
    assert sorted(meta["authors"]) == sorted([box.user("alice"), box.user("bob")])
    assert meta["commit"] == box.refs(cid)["refs/heads/master"]

    listing = box.run("carol", "git", "nbcollab", "versions", "pubflow").stdout
    assert all(f"pubflow:v{v}" in listing for v in ("1.0.0", "1.0.1", "1.1.0"))
    shown = box.run("carol", "git", "nbcollab", "show", "pubflow:v1.0.1").stdout
    assert shown.splitlines()[0] == str(_published(box, "pubflow", "1.0.1") / "pubflow_FINAL.ipynb")
    readable = box.run("carol", "cat", str(copy))
    assert readable.returncode == 0, "the whole team reads the published tree"
    refused = box.run("carol", "git", "nbpublish", spec, "--", "pubflow")
    assert refused.returncode == 1 and "no such collaboration" in refused.stderr


BAD = {
    "unknown keyword": (["-version", "BIG", "--", "pubbad"], "invalid choice"),
    "not in the collaboration": (["--", "elsewhere"], "no elsewhere.ipynb in"),
    "escapes the tree": (["--", "../x"], "not a usable notebook name"),
    "absolute": (["--", "/srv/x"], "not a usable notebook name"),
    "colon": (["--", "pub:bad"], "not a usable notebook name"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_publishes_change_nothing(box: Box, case: str) -> None:
    if not (box.home("alice") / "notebooks" / "pubbad").exists():
        _collab(box, "pubbad")
    args, why = BAD[case]
    before = box.snapshot()
    done = box.run(
        "alice", "git", "nbpublish", *args, cwd=box.home("alice") / "notebooks" / "pubbad"
    )
    assert done.returncode in (1, 2) and why in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert box.changes(before) == {}


def test_dry_run_and_nothing_new(box: Box) -> None:
    _, alice, _ = _collab(box, "pubdry")
    before = box.snapshot()
    dry = box.run("alice", "git", "nbpublish", "--dry-run", "--", "pubdry", cwd=alice)
    assert "would publish pubdry:v1.0.0" in dry.stdout and "would write" in dry.stdout
    assert box.changes(before) == {}, "a dry run writes nothing"
    assert box.run("alice", "git", "nbpublish", "--", "pubdry", cwd=alice).returncode == 0
    before = box.snapshot()
    again = box.run("alice", "git", "nbpublish", "--", "pubdry", cwd=alice)
    assert again.returncode == 1 and "nothing new to publish since pubdry:v1.0.0" in again.stderr
    assert box.changes(before) == {}


def test_conflicting_authors_refuse_the_publish_cell_by_cell(box: Box) -> None:
    _, alice, bob = _collab(box, "pubclash")
    edit_cell(alice / "pubclash.ipynb", 1, "statistics.median(sales)")
    edit_cell(bob / "pubclash.ipynb", 1, "statistics.fmean(sales)")
    for short, copy in (("alice", alice), ("bob", bob)):
        pushed = box.run(short, "sh", "-c", "git commit -qam edit && git push -q", cwd=copy)
        assert pushed.returncode == 0, pushed.stderr
    before = box.snapshot()
    done = box.run("alice", "git", "nbpublish", "--", "pubclash", cwd=alice)
    assert done.returncode == 1
    assert "pubclash.ipynb: cell 2 ('import statistics', id mean)" in done.stderr
    assert box.changes(before) == {}, "no commit, tag or published file"


def test_project_metadata_is_copied_into_each_version(box: Box) -> None:
    _, alice, _ = _collab(box, "pubproj")
    done = box.run(
        "alice",
        "git",
        "nbcollab",
        "project",
        "set",
        "--title",
        "Q3 sales",
        "--task",
        "https://tracker.example.org/T-12",
        "--tags",
        "sales,q3",
        cwd=alice,
    )
    assert done.returncode == 0, done.stderr
    bad = box.run("alice", "git", "nbcollab", "project", "set", "--task", "T-12", cwd=alice)
    assert bad.returncode == 1 and "not a link" in bad.stderr
    assert box.run("alice", "git", "nbpublish", "--", "pubproj", cwd=alice).returncode == 0
    meta = json.loads((_published(box, "pubproj", "1.0.0") / "metadata.json").read_text())
    assert meta["project"] == {
        "title": "Q3 sales",
        "task": "https://tracker.example.org/T-12",
        "tags": ["sales", "q3"],
    }
    shown = box.run("bob", "git", "nbcollab", "show", "pubproj:v1.0.0").stdout
    assert "task: https://tracker.example.org/T-12" in shown


def test_publishes_at_once_get_distinct_consecutive_versions(box: Box) -> None:
    cid = box.share("alice", ["bob", "carol"], "pubrace.ipynb")
    for short in ("bob", "carol"):
        assert box.run(short, "git", "nbcollab", "clone", cid).returncode == 0
    script = (
        "echo {who} > notes-{who}.txt && git add . && git commit -qm {who} && git push -q"
        " && git nbpublish -- pubrace"
    )
    racers = {}
    for short in ("alice", "bob", "carol"):
        cmd = [
            "runuser",
            "-u",
            box.user(short),
            "--",
            "env",
            "-i",
            f"HOME={box.home(short)}",
            f"PATH={box.bin_dir}:/usr/bin:/bin",
            "sh",
            "-c",
            script.format(who=short),
        ]
        racers[short] = subprocess.Popen(
            cmd,
            cwd=box.home(short) / "notebooks" / "pubrace",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {short: (p.wait(120), *p.communicate()) for short, p in racers.items()}
    won = sorted(
        out.split("published pubrace:v")[1].split()[0]
        for code, out, _ in results.values()
        if code == 0
    )
    assert won == ["1.0.0", "1.1.0", "1.2.0"][: len(won)] and won, results
    for code, _, err in results.values():
        assert code == 0 or "nothing new to publish" in err, err
    master = box.hub_git(cid, "ls-tree", "--name-only", "master").split()
    assert {"notes-alice.txt", "notes-bob.txt", "notes-carol.txt"} <= set(master)
    tags = [r for r in box.refs(cid) if r.startswith("refs/tags/pubrace/")]
    assert len(tags) == len(won) == len(list((box.root / "published" / "pubrace").glob("v*")))


def _publish_as_gate(box: Box, cid: str, name: str, stop_at: str) -> int:
    """What sshd runs for alice's `git nbpublish`, with the publish told to die at a stage."""
    settings = json.loads((box.root / "hub.json").read_text())
    request = f"nbcollab publish {cid} {name} --message '' --author alice alice@example.invalid"
    env = [
        f"HOME={box.root}",
        "PATH=/usr/bin:/bin",
        f"SSH_ORIGINAL_COMMAND={request}",
        f"NBCOLLAB_TEST_STOP_AT={stop_at}",
    ]
    gate = [
        f"{settings['runtime']}/bin/python",
        "-I",
        "-m",
        "git_nbcollab.gate",
        str(box.root),
        box.user("alice"),
    ]
    return subprocess.run(
        ["runuser", "-u", box.service, "--", "env", "-i", *env, *gate], capture_output=True, cwd="/"
    ).returncode


@pytest.mark.parametrize("stage", ["merged", "objects", "refs", "published"])
def test_a_publish_killed_at_any_stage_leaves_a_consistent_hub(box: Box, stage: str) -> None:
    name = f"pubkill{stage}"
    cid, alice, _ = _collab(box, name)
    assert _publish_as_gate(box, cid, name, stop_at=stage) == 137, "it died where told"
    tags = {r for r in box.refs(cid) if r.startswith(f"refs/tags/{name}/")}
    copies = {p.name for p in (box.root / "published" / name).glob("v*")}
    assert len(copies) <= len(tags), "never a published copy without its tag"
    assert bool(tags) == ("refs/heads/master" in box.refs(cid)), "master and tag move together"

    again = box.run("alice", "git", "nbpublish", "--", name, cwd=alice)
    if tags and copies:
        assert again.returncode in (0, 1), again.stderr  # done, or only `latest` left to point
    else:
        assert again.returncode == 0, again.stderr
        assert "pubkill" in again.stdout and "1.0.0" in again.stdout
    assert {r for r in box.refs(cid) if r.startswith(f"refs/tags/{name}/")} == {
        f"refs/tags/{name}/v1.0.0"
    }, "one version, whatever the stage"
    assert os.readlink(box.root / "published" / name / "latest") == "v1.0.0"
    repo_objects = box.root / "collabs" / f"{cid}.git" / "objects"
    assert not list(repo_objects.glob("incoming-*")), "no staging left behind"
    box.hub_git(cid, "fsck", "--strict")  # raises if the repo is damaged


LEGACY = """set -e
export GIT_DIR={repo} GIT_INDEX_FILE=$(mktemp -u) GIT_AUTHOR_NAME=old GIT_AUTHOR_EMAIL=old@x
export GIT_COMMITTER_NAME=old GIT_COMMITTER_EMAIL=old@x
git read-tree {branch}
blob=$(printf '%s' '{{"cells": [' | git hash-object -w --stdin)
git update-index --cacheinfo 100644,$blob,pubbroken.ipynb
git update-ref {branch} $(git commit-tree $(git write-tree) -p {branch} -m legacy)
rm -f $GIT_INDEX_FILE
"""


def test_a_notebook_broken_before_the_hub_checked_pushes_is_refused(box: Box) -> None:
    cid, alice, bob = _collab(box, "pubbroken")
    (bob / "pubbroken.ipynb").write_text('{"cells": [')
    pushed = box.run("bob", "sh", "-c", "git commit -qam broken && git push -q", cwd=bob)
    assert pushed.returncode == 1 and "refused pubbroken.ipynb" in pushed.stderr, pushed.stderr
    # A hub from before pushes were checked took it: put it on bob's branch behind the hook.
    branch = f"refs/heads/u/{box.user('bob')}/main"
    script = LEGACY.format(repo=box.root / "collabs" / f"{cid}.git", branch=branch)
    assert box.run_as(box.service, "sh", "-c", script).returncode == 0
    before = box.snapshot()
    done = box.run("alice", "git", "nbpublish", "--", "pubbroken", cwd=alice)
    assert done.returncode == 1 and "is not a valid notebook" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert box.changes(before) == {}


def test_the_tag_names_who_published_not_their_git_config(box: Box) -> None:
    cid, _, bob = _collab(box, "pubtagger")
    alice = box.user("alice")
    for field, value in (("user.name", alice), ("user.email", f"{alice}@example.org")):
        assert box.run("bob", "git", "config", field, value, cwd=bob).returncode == 0
    done = box.run("bob", "git", "nbpublish", "--", "pubtagger", cwd=bob)
    assert done.returncode == 0, done.stderr
    tag = box.hub_git(cid, "cat-file", "tag", "refs/tags/pubtagger/v1.0.0").splitlines()
    tagger = next(line for line in tag if line.startswith("tagger "))
    assert tagger.startswith(f"tagger {box.user('bob')} <{box.user('bob')}@nbcollab> "), tagger


def test_publish_from_an_unsynced_working_copy_is_refused_until_it_syncs(box: Box) -> None:
    _, alice, _ = _collab(box, "pubunsynced")
    edit_cell(alice / "pubunsynced.ipynb", 0, "# not synced yet")
    for step in ("local change", "local commit"):
        before = box.snapshot()
        done = box.run("alice", "git", "nbpublish", "--", "pubunsynced", "-m", "Q3", cwd=alice)
        assert done.returncode == 1, done.stdout
        assert done.stderr.strip().endswith("run `git nbcollab sync` first, then publish"), step
        assert box.changes(before) == {}, f"nothing published with a {step}"
        if step == "local change":
            assert box.run("alice", "git", "commit", "-qam", "local", cwd=alice).returncode == 0
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice).returncode == 0
    done = box.run("alice", "git", "nbpublish", "--", "pubunsynced", "-m", "Q3", cwd=alice)
    assert done.returncode == 0, done.stderr
    published = _published(box, "pubunsynced", "1.0.0") / "pubunsynced_FINAL.ipynb"
    assert notebook.read(published.read_bytes(), "published").cells[0].source == "# not synced yet"


def test_a_version_folder_without_metadata_is_listed_as_incomplete(box: Box) -> None:
    cid, alice, _ = _collab(box, "pubhalf")
    done = box.run("alice", "git", "nbpublish", "--", "pubhalf", cwd=alice)
    assert done.returncode == 0, done.stderr
    half = _published(box, "pubhalf", "1.1.0")  # as a hand copy or a damaged disk leaves it
    subprocess.run(["runuser", "-u", box.service, "--", "mkdir", str(half)], check=True)
    before = box.snapshot()
    for which in (cid, "pubhalf"):  # by collaboration (it crashed here), and by name
        listing = box.run("alice", "git", "nbcollab", "versions", which, cwd=alice)
        assert listing.returncode == 0, listing.stderr
        assert "pubhalf:v1.0.0" in listing.stdout
        assert "pubhalf:v1.1.0" in listing.stdout and "incomplete" in listing.stdout
        found = json.loads(
            box.run("alice", "git", "nbcollab", "versions", which, "--json", cwd=alice).stdout
        )
        assert [v.get("incomplete") for v in found] == [None, "no metadata.json"]
    shown = box.run("alice", "git", "nbcollab", "show", "pubhalf:v1.1.0")
    assert shown.returncode == 1 and "incomplete" in shown.stderr, shown.stderr
    assert len(shown.stderr.strip().splitlines()) == 1
    assert box.changes(before) == {}
