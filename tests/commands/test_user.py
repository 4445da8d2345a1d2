"""git nbcollab user add|list|remove|key add, as root, with real unix users and ssh."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.box import Box


@pytest.fixture
def extra(box: Box) -> Iterator[str]:
    """A unix name for a person the test adds; removed afterwards with all they left."""
    name = f"{box.prefix}x{len(list(box.base.glob('x*')))}"
    (box.base / f"x-{name}").touch()
    yield name
    subprocess.run(["pkill", "-u", name], check=False)
    subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


def _laptop_key(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "laptop"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, Path(f"{key}.pub")


def _authorized(box: Box) -> str:
    return (box.root / ".ssh" / "authorized_keys").read_text()


def test_user_add_makes_a_teammate_with_box_and_laptop_keys(
    box: Box, extra: str, tmp_path: Path
) -> None:
    private, public = _laptop_key(tmp_path)
    assert box.admin("user", "add", extra, "--key", str(public)) == 0
    lines = [
        line
        for line in _authorized(box).splitlines()
        if line.endswith(f" {extra}@nbcollab") or public.read_text().split()[1] in line
    ]
    assert len(lines) == 2
    assert all(f'git_nbcollab.gate {box.root} {extra}",restrict ' in line for line in lines)
    notebooks = Path(f"/home/{extra}/notebooks")
    assert notebooks.stat().st_mode & 0o777 == 0o700
    assert (Path(f"/home/{extra}/.ssh/nbcollab_ed25519")).stat().st_mode & 0o777 == 0o600
    # the laptop key reaches the gate too: the gate answers as the key's owner
    target = f"{box.service}@127.0.0.1"
    done = subprocess.run(
        [
            "ssh",
            "-i",
            str(private),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-p",
            str(box.port),
            target,
            "nbcollab list",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert f'"you": "{extra}"' in done.stdout


def test_user_add_adopts_an_existing_account(box: Box, extra: str) -> None:
    subprocess.run(["useradd", "--create-home", extra], check=True)
    (Path(f"/home/{extra}") / "mine.txt").write_text("kept")
    assert box.admin("user", "add", extra) == 0
    assert (Path(f"/home/{extra}") / "mine.txt").read_text() == "kept"
    done = box.run_as(extra, "git", "nbcollab", "list")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("bad", ["../x", "a;b", "Root", ""])
def test_bad_user_names_change_nothing(box: Box, bad: str) -> None:
    before = box.snapshot()
    assert box.admin("user", "add", bad) == 1
    assert box.changes(before) == {}


def test_a_private_key_is_refused_and_nothing_is_made(box: Box, extra: str, tmp_path: Path) -> None:
    private, _ = _laptop_key(tmp_path)
    before = box.snapshot()
    assert box.admin("user", "add", extra, "--key", str(private)) == 1
    assert box.changes(before) == {}
    assert not Path(f"/home/{extra}").exists()


def test_a_file_that_is_not_a_key_is_refused(box: Box, extra: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pub"
    junk.write_text('command="id" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA x\n')
    before = box.snapshot()
    assert box.admin("user", "add", extra, "--key", str(junk)) == 1
    assert box.changes(before) == {}


def test_adding_a_teammate_twice_is_refused(box: Box) -> None:
    before = box.snapshot()
    assert box.admin("user", "add", box.user("alice")) == 1
    assert box.changes(before) == {}


def test_remove_revokes_access_and_keeps_the_work(box: Box, extra: str, tmp_path: Path) -> None:
    assert box.admin("user", "add", extra) == 0
    work = Path(f"/home/{extra}/notebooks/keep.ipynb")
    work.write_text("{}")
    assert box.admin("user", "remove", extra) == 0
    assert extra not in _authorized(box)
    assert work.read_text() == "{}"
    done = box.run_as(extra, "git", "nbcollab", "list")
    assert done.returncode != 0
    assert box.admin("user", "remove", extra) == 1, "a second remove says there is no such teammate"
    logged = "".join(p.read_text() for p in sorted((box.root / "audit").glob("*.jsonl")))
    for op in (f"user add {extra}", f"user remove {extra}"):
        assert logged.count(f'"user":"root","op":"{op}"') == 1, f"the audit log has {op} once"


def test_key_add_and_list(box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, public = _laptop_key(tmp_path)
    assert box.admin("user", "key", "add", box.user("carol"), str(public)) == 0
    assert public.read_text().split()[1] in _authorized(box)
    capsys.readouterr()
    assert box.admin("user", "list") == 0
    listing = capsys.readouterr().out
    assert box.user("carol") in listing and "laptop" in listing
