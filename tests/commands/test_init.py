"""git nbcollab init, as root, on the real box."""

from __future__ import annotations

import grp
import json
import pwd
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from git_nbcollab.cli import nbcollab
from tests.box import Box, edit_cell


def _init(box: Box, root: Path, *extra: str) -> int:
    return nbcollab(["init", "--root", str(root), "--bin-dir", str(box.bin_dir), *extra])


def test_init_builds_the_hub_tree_with_the_right_owners_and_modes(box: Box) -> None:
    expected = {
        "": (0o750, box.team),
        "collabs": (0o700, box.service),
        "published": (0o2750, box.team),
        "spool": (0o700, box.service),
        "keys": (0o700, box.service),
    }
    for name, (mode, group) in expected.items():
        st = (box.root / name).stat()
        assert st.st_mode & 0o7777 == mode, name
        assert pwd.getpwuid(st.st_uid).pw_name == box.service, name
        assert grp.getgrgid(st.st_gid).gr_name == group, name
    for command in ("git-nbshare", "git-nbcollab"):
        assert (box.bin_dir / command).resolve().is_file()


def test_init_twice_changes_nothing_and_says_so(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    before = box.snapshot()
    assert _init(box, box.root, *box.init_options()) == 0
    assert _init(box, box.root) == 0, "options left out mean: as before"
    assert "already set up; nothing changed" in capsys.readouterr().out
    assert box.changes(before) == {}


OLD_POST_RECEIVE = """#!/bin/sh
@PYTHON@ -I -m git_nbcollab.hook post-receive </dev/null >/dev/null 2>&1 &
"""


def test_init_again_brings_repos_an_older_version_made_up_to_date(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hub made before the audit log and the merge driver: its post-receive read no refs and
    its repos merged notebooks as binary. `init` again rewrites both, owned by the service."""
    cid = box.share("alice", ["bob"], "oldhooks.ipynb")
    repo = box.root / "collabs" / f"{cid}.git"
    python = f"{sys.prefix}/bin/python"
    old = {
        repo / "hooks" / "post-receive": OLD_POST_RECEIVE.replace("@PYTHON@", python),
        repo / "info" / "attributes": "*.ipynb merge=binary\n",
    }
    for path, text in old.items():
        path.write_text(text)
        shutil.chown(path, box.service, box.service)
    capsys.readouterr()
    assert _init(box, box.root, *box.init_options()) == 0
    assert "updated the hooks of 1 collaborations" in capsys.readouterr().out
    for path, text in old.items():
        assert path.read_text() != text, f"{path.name} rewritten"
        assert path.owner() == box.service, f"{path.name} stays the service account's"
    assert "merge=nbcollab" in (repo / "info" / "attributes").read_text()
    alice = box.home("alice") / "notebooks" / "oldhooks"
    edit_cell(alice / "oldhooks.ipynb", 0, "# after init")
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice).returncode == 0
    box.backups_idle()
    lines = [json.loads(line) for p in (box.root / "audit").glob("*.jsonl") for line in p.open()]
    pushes = [r for r in lines if r["op"] == "push" and r["collab"] == cid and r["result"] == "ok"]
    assert pushes and pushes[-1]["refs"], "the new post-receive logs the refs the push moved"
    assert _init(box, box.root, *box.init_options()) == 0
    assert "nothing changed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "value"),
    [("--service-user", "someoneelse"), ("--team-group", "othergroup"), ("--ssh", "other:2222")],
)
def test_init_again_with_other_options_is_refused(
    box: Box, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    before = box.snapshot()
    assert _init(box, box.root, option, value) == 1
    err = capsys.readouterr().err
    assert f"was set up with {option}" in err and "nothing changed" in err
    assert len(err.strip().splitlines()) == 1
    assert box.changes(before) == {}


@pytest.mark.parametrize(
    "extra",
    [
        ["--service-user", "a;b"],
        ["--team-group", "../x"],
        ["--ssh", "host:99999"],
        ["--ssh", "a b"],
        ["--bin-dir", "/nonexistent/bin"],
    ],
)
def test_bad_init_options_create_nothing(
    box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    root = box.base / "never"
    before = box.snapshot()
    assert _init(box, root, "--service-user", f"{box.prefix}x", *extra) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not root.exists()
    assert box.changes(before) == {}, "no account, group or file was made"


def test_init_needs_root(box: Box) -> None:
    done = box.run("alice", "git", "nbcollab", "init", "--root", str(box.base / "mine"))
    assert done.returncode == 1 and "run it as root" in done.stderr
    assert not (box.base / "mine").exists()


def test_a_fresh_hub_and_its_accounts(box: Box, capsys: pytest.CaptureFixture[str]) -> None:
    root, service, team = box.base / "second", f"{box.prefix}svc2", f"{box.prefix}team2"
    try:
        assert _init(box, root, "--service-user", service, "--team-group", team) == 0
        assert pwd.getpwnam(service).pw_dir == str(root)
        assert grp.getgrnam(team)
        assert "hub ready" in capsys.readouterr().out
    finally:
        for account in (service, f"{service}-run"):  # and the check runner init made
            subprocess.run(["userdel", account], check=False)
        subprocess.run(["groupdel", team], check=False)
        subprocess.run(["rm", "-rf", str(root)], check=False)


def test_init_from_a_python_others_cannot_run_builds_a_runtime_for_everyone(
    box: Box, tmp_path: Path
) -> None:
    """pytest's tmp_path is private to root, like a pyenv under /root: init must not link
    teammates' commands to it, but build a venv they can run and install the package there."""
    private = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(private)], check=True)
    site = sysconfig.get_paths(vars={"base": str(private)})["purelib"]
    Path(site, "installed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    root, runtime, bin_dir = box.base / "rt-hub", box.base / "rt", box.base / "rt-bin"
    service, team = f"{box.prefix}svc3", f"{box.prefix}team3"
    bin_dir.mkdir()
    try:
        done = subprocess.run(
            [
                str(private / "bin" / "python"),
                "-m",
                "git_nbcollab",
                "init",
                "--root",
                str(root),
                "--service-user",
                service,
                "--team-group",
                team,
                "--bin-dir",
                str(bin_dir),
                "--runtime",
                str(runtime),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd="/",
        )
        assert done.returncode == 0, done.stderr
        assert json.loads((root / "hub.json").read_text())["runtime"] == str(runtime)
        assert (bin_dir / "git-nbcollab").resolve().parent == (runtime / "bin").resolve()
        probe = ["runuser", "-u", "nobody", "--", str(bin_dir / "git-nbcollab"), "-h"]
        assert subprocess.run(probe, capture_output=True, cwd="/").returncode == 0
    finally:
        for account in (service, f"{service}-run"):  # and the check runner init made
            subprocess.run(["userdel", account], capture_output=True, check=False)
        subprocess.run(["groupdel", team], capture_output=True, check=False)
        subprocess.run(["rm", "-rf", str(root), str(runtime), str(bin_dir)], check=False)
