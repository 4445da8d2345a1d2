"""Off-box backups to the default local mirror, over the real gate and hooks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from git_nbcollab import backup
from git_nbcollab.cli import nbcollab
from git_nbcollab.layout import Hub
from tests.box import Box


def mirror_of(box: Box) -> Path:
    return box.base / "hub-mirror"


def as_service(box: Box, *cmd: str) -> str:
    done = box.run_as(box.service, *cmd, cwd=box.root)
    assert done.returncode == 0, done.stderr
    return done.stdout


def hub_git(box: Box, cid: str, *args: str) -> str:
    """git in a collaboration's bare repo on the hub, as the service account."""
    who = ["-c", "user.name=Hub Admin", "-c", "user.email=admin@example.invalid"]
    git_dir = str(box.root / "collabs" / f"{cid}.git")
    return as_service(box, "git", *who, "--git-dir", git_dir, *args)


def objects(git_dir: Path) -> set[str]:
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-list", "--objects", "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split()[0] for line in listing.splitlines()}


def backup_run(box: Box) -> None:
    assert box.admin("backup", "run") == 0


_restores = iter(range(1000))


def fresh_hub(box: Box) -> Path:
    """A new hub made by init on the box's accounts, to restore into."""
    new = box.base / f"restored-{next(_restores)}"
    init = ["init", "--root", str(new), "--service-user", box.service, "--team-group", box.team]
    init += ["--ssh", f"127.0.0.1:{box.port}", "--bin-dir", str(box.bin_dir)]
    assert nbcollab([*init, "--mirror", f"{new}-mirror"]) == 0
    return new


def restore(box: Box, cid: str | None, *extra: str) -> tuple[int, Path]:
    """Restore from the box's mirror into a fresh hub made by init; (exit code, new root)."""
    new = fresh_hub(box)
    args = ["restore", "--from", str(mirror_of(box)), "--root", str(new), *extra]
    return nbcollab([*args, *(["--collab", cid] if cid else [])]), new


def assert_same_repo(box: Box, cid: str, new: Path) -> None:
    old_git, new_git = box.root / "collabs" / f"{cid}.git", new / "collabs" / f"{cid}.git"
    assert box.refs(cid) == Box.refs_at(new_git), "same refs"
    assert objects(old_git) == objects(new_git), "same reachable objects"
    assert (old_git / "collab.json").read_bytes() == (new_git / "collab.json").read_bytes()
    assert (new_git / "hooks" / "post-receive").is_file(), "the hub's hooks are installed"
    assert new_git.stat().st_uid == old_git.stat().st_uid, "owned by the service account"


def clone_as_bob(box: Box, cid: str, name: str) -> Path:
    done = box.run("bob", "git", "nbcollab", "clone", cid, name)
    assert done.returncode == 0, done.stderr
    return box.home("bob") / "notebooks" / name


def bob_commits(box: Box, copy: Path, text: str, push: bool = True) -> None:
    script = f"echo {text} > notes.txt && git add notes.txt && git commit -qm '{text}'"
    done = box.run("bob", "sh", "-c", script + (" && git push -q" if push else ""), cwd=copy)
    assert done.returncode == 0, done.stderr


def test_push_share_push_restores_identical_refs_and_objects(box: Box) -> None:
    cid = box.share("alice", ["bob"], "bk-basic.ipynb")
    copy = clone_as_bob(box, cid, "bk-basic")
    bob_commits(box, copy, "first")
    bob_commits(box, copy, "second")
    box.backups_idle()  # the hooks' detached uploader sends it all, no `backup run` needed
    chain = sorted(p.name for p in (mirror_of(box) / "collabs" / cid).rglob("*"))
    assert "000000.bundle" in chain and "000000.json" in chain, chain
    assert any(name.startswith("000002") for name in chain), "one entry per push (or more)"
    code, new = restore(box, cid)
    assert code == 0
    assert_same_repo(box, cid, new)
    assert not list(new.glob(".restore-*")), "no staging left behind"


def test_tags_empty_pushes_deletions_and_forced_updates_round_trip(box: Box) -> None:
    bob = box.user("bob")
    cid = box.share("alice", ["bob"], "bk-refs.ipynb")
    copy = clone_as_bob(box, cid, "bk-refs")
    bob_commits(box, copy, "one")
    backup_run(box)
    first = box.refs(cid)[f"refs/heads/u/{bob}/main"]
    hub_git(box, cid, "tag", "-a", "-m", "v1", "bk-refs/v1.0.0", first)  # publish's job, later
    backup.queue(Hub(box.root), cid)
    nothing_new = box.run(
        "bob", "git", "push", "-q", "origin", f"HEAD:refs/heads/u/{bob}/x", cwd=copy
    )
    assert nothing_new.returncode == 0, nothing_new.stderr
    bob_commits(box, copy, "two")
    gone = box.run("bob", "git", "push", "-q", "origin", f":refs/heads/u/{bob}/x", cwd=copy)
    assert gone.returncode == 0, gone.stderr
    hub_git(box, cid, "update-ref", f"refs/heads/u/{bob}/main", first)  # a forced move, hub-side
    backup.queue(Hub(box.root), cid)
    backup_run(box)
    manifests = sorted((mirror_of(box) / "collabs" / cid).rglob("*.json"))
    bundles = sorted((mirror_of(box) / "collabs" / cid).rglob("*.bundle"))
    assert len(bundles) < len(manifests), "ref-only changes are manifests without a bundle"
    code, new = restore(box, cid)
    assert code == 0
    assert_same_repo(box, cid, new)
    assert f"refs/heads/u/{bob}/x" not in box.refs(cid)
    tag_type = subprocess.run(
        [
            "git",
            "--git-dir",
            str(new / "collabs" / f"{cid}.git"),
            "cat-file",
            "-t",
            "bk-refs/v1.0.0",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert tag_type == "tag", "the annotated tag object came back"


@pytest.mark.parametrize("damage", ["flipped byte", "missing bundle", "missing manifest"])
def test_damaged_backups_are_named_and_restore_changes_nothing(
    box: Box, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = box.share("alice", ["bob"], f"bk-bad-{damage.replace(' ', '-')}.ipynb")
    copy = clone_as_bob(box, cid, f"bk-bad-{damage.replace(' ', '-')}")
    bob_commits(box, copy, "one")
    bob_commits(box, copy, "two")
    backup_run(box)
    entry = mirror_of(box) / "collabs" / cid / "000000" / "000001"
    bundle, manifest = entry.with_suffix(".bundle"), entry.with_suffix(".json")
    original = bundle.read_bytes()
    try:
        if damage == "flipped byte":
            data = bytearray(original)
            data[len(data) // 2] ^= 0x01
            bundle.write_bytes(bytes(data))
            why = f"collabs/{cid}/000000/000001.bundle is corrupt"
        elif damage == "missing bundle":
            bundle.rename(entry.with_suffix(".away"))
            why = f"collabs/{cid}/000000/000001.bundle is missing"
        else:
            manifest.rename(entry.with_suffix(".away"))
            why = f"collabs/{cid}/000000/000001.json is missing"
        capsys.readouterr()
        assert box.admin("backup", "verify", "--collab", cid) == 1
        # verify runs as the service account in a child process: its stderr is the fd's
        code, new = restore(box, cid)
        err = capsys.readouterr().err
        assert code == 1
        assert why in err and len(err.strip().splitlines()) == 1, err
        assert not (new / "collabs" / f"{cid}.git").exists()
        assert not list(new.glob(".restore-*")), "no partial hub"
    finally:
        for away in entry.parent.glob("*.away"):
            away.rename(entry.with_suffix(".bundle" if damage == "missing bundle" else ".json"))
        bundle.write_bytes(original)


def test_teammates_cannot_read_the_spool_the_mirror_or_manage_backups(box: Box) -> None:
    cid = box.share("alice", ["bob"], "bk-private.ipynb")
    box.backups_idle()
    for path in (
        box.root / "spool" / "state" / f"{cid}.json",
        mirror_of(box) / "collabs" / cid / "000000" / "000000.bundle",
    ):
        assert path.exists()
        assert box.run("alice", "cat", str(path)).returncode != 0, path
    for action in ("status", "run", "verify"):
        done = box.run("alice", "git", "nbcollab", "backup", action, "--root", str(box.root))
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_backup_status_reports_the_mirror_and_an_empty_queue(box: Box) -> None:
    box.backups_idle()
    done = box.run_as("root", "git", "nbcollab", "backup", "status", "--root", str(box.root))
    assert done.returncode == 0, done.stderr
    assert f"mirror: {mirror_of(box)}" in done.stdout
    assert "queued: 0 bundles" in done.stdout


def test_the_published_tree_is_mirrored_and_a_whole_hub_restores(box: Box) -> None:
    cid = box.share("alice", ["bob"], "bk-whole.ipynb")
    folder = box.root / "published" / "bk-whole" / "v1.0.0"
    as_service(box, "mkdir", "-p", str(folder))
    as_service(box, "sh", "-c", f"echo '{{}}' > {folder}/bk-whole_FINAL.ipynb")
    backup_run(box)
    assert (mirror_of(box) / "published" / "bk-whole" / "v1.0.0" / "bk-whole_FINAL.ipynb").exists()
    code, new = restore(box, None)
    assert code == 0
    restored = sorted(p.name.removesuffix(".git") for p in (new / "collabs").glob("*.git"))
    assert cid in restored
    for other in restored:
        assert Box.refs_at(new / "collabs" / f"{other}.git") == box.refs(other), other
    copy = new / "published" / "bk-whole" / "v1.0.0" / "bk-whole_FINAL.ipynb"
    assert copy.read_text() == "{}\n"
    assert copy.stat().st_mode & 0o777 == 0o640 and copy.parent.stat().st_mode & 0o7777 == 0o2750
    assert box.run("alice", "cat", str(copy)).returncode == 0, "the team reads the published tree"
    state = new / "spool" / "state" / f"{cid}.json"
    assert state.stat().st_uid == (box.root / "spool").stat().st_uid, (
        "the new hub's spool is its own"
    )


BAD_RESTORES = {
    "relative mirror": (["--from", "hub-mirror"], "give --from as s3://BUCKET/PREFIX"),
    "no such mirror": (["--from", "/nonexistent/mirror"], "does not exist"),
    "not a collab id": (["--collab", "xyz"], "not a collaboration id"),
    "collab not backed up": (["--collab", "deadbeef"], "holds no backup of deadbeef"),
    "into the live hub": (["--root", "{root}"], "exists; restore into a fresh hub"),
    "into no hub": (["--root", "/nonexistent/hub"], "no hub at /nonexistent/hub"),
}


@pytest.mark.parametrize("case", sorted(BAD_RESTORES))
def test_bad_restores_say_why_in_one_line_and_change_nothing(
    box: Box, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = box.share("alice", ["bob"], f"bk-badr-{case.replace(' ', '-')}.ipynb")
    backup_run(box)
    given, why = BAD_RESTORES[case]
    args = {"--from": str(mirror_of(box)), "--root": str(box.root)}
    args.update(zip(given[::2], (v.format(root=box.root) for v in given[1::2]), strict=True))
    if case == "into the live hub":
        args["--collab"] = cid
    before = box.snapshot()
    capsys.readouterr()
    code = nbcollab(["restore", *(word for pair in args.items() for word in pair)])
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert why in err and len(err.strip().splitlines()) == 1, err
    assert box.snapshot() == before


BAD_INITS = {
    "relative mirror": (["--mirror", "backups"], "absolute folder"),
    "bucket without a name": (["--mirror", "s3://"], "is not s3://BUCKET/PREFIX"),
    "endpoint without s3": (["--s3-endpoint", "http://127.0.0.1:9000"], "needs --mirror s3://"),
    "endpoint not a url": (
        ["--mirror", "s3://b/p", "--s3-endpoint", "ftp://x"],
        "not an endpoint URL",
    ),
    "full every zero": (["--full-every", "0"], "1 or more"),
}


@pytest.mark.parametrize("case", sorted(BAD_INITS))
def test_bad_backup_settings_at_init_are_refused(
    box: Box, case: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    given, why = BAD_INITS[case]
    new = box.base / f"bad-init-{case.replace(' ', '-')}"
    capsys.readouterr()
    code = nbcollab(["init", "--root", str(new), "--bin-dir", str(box.bin_dir), *given])
    err = capsys.readouterr().err
    assert code == 1
    assert why in err and len(err.strip().splitlines()) == 1, err
    assert not new.exists()


@pytest.mark.parametrize(
    ("command", "words"),
    [(["backup", "--help"], ["status", "run", "verify"]), (["restore", "--help"], ["--from"])],
)
def test_backup_and_restore_explain_themselves(
    command: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert nbcollab(command) == 0
    out = capsys.readouterr().out
    assert all(word in out for word in words), out


def test_adding_a_member_on_the_hub_is_backed_up_with_collab_json(box: Box) -> None:
    carol = box.user("carol")
    cid = box.share("alice", ["bob"], "bk-members.ipynb")
    copy = box.home("alice") / "notebooks" / "bk-members"
    added = box.run("alice", "git", "nbshare", carol, cwd=copy)
    assert added.returncode == 0, added.stderr
    box.backups_idle()  # add-members writes refs hub-side: no post-receive, its own queue()
    code, new = restore(box, cid)
    assert code == 0
    assert f"refs/heads/u/{carol}/main" in Box.refs_at(new / "collabs" / f"{cid}.git")
    assert carol in (new / "collabs" / f"{cid}.git" / "collab.json").read_text()
    assert_same_repo(box, cid, new)
