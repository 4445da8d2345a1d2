"""The README's laptop steps, word for word, as a unix account that is not on the box's team:
its own ssh key, its own venv, the package installed from a read-only copy of this repository,
the hub reached only over the private sshd."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.box import Box, edit_cell

TOP = Path(__file__).resolve().parent.parent
SECTION = re.search(r"### On a laptop\n(.*?)\n## ", (TOP / "README.md").read_text(), re.S)


def _readme_blocks() -> list[str]:
    assert SECTION, "the README has no '### On a laptop' section"
    return re.findall(r"```sh\n(.*?)```", SECTION.group(1), flags=re.S)


@pytest.fixture
def laptop(own_box: Box) -> Iterator[str]:
    """A unix account off the team: no group, no hub key, no git identity."""
    who = f"{own_box.prefix}lap"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", who], check=True)
    try:
        yield who
    finally:
        pids = subprocess.run(["pgrep", "-u", who], capture_output=True, text=True).stdout
        for pid in pids.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
        subprocess.run(["userdel", "--remove", who], capture_output=True)


def _as(
    box: Box, who: str, script: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A bash script as the laptop's user, with a laptop's PATH (nothing of the box's)."""
    env = [f"HOME=/home/{who}", f"USER={who}", f"LOGNAME={who}", "LANG=C.UTF-8"]
    env.append("PATH=/usr/bin:/bin")
    return subprocess.run(
        ["runuser", "-u", who, "--", "env", "-i", *env, "bash", "-euo", "pipefail", "-c", script],
        cwd=cwd or f"/home/{who}",
        capture_output=True,
        text=True,
        timeout=600,
    )


def _read_only_copy(dest: Path) -> None:
    """The folder the box was installed from (this repository's files and the JupyterLab
    frontend its install built), owned by root: the laptop's user can read but not write it."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=TOP, capture_output=True, check=True
    ).stdout.split(b"\0")
    built = TOP / "git_nbcollab" / "labextension"
    assert (built / "package.json").is_file(), "the install builds the frontend (scripts/install)"
    files += [os.fsencode(p.relative_to(TOP)) for p in built.rglob("*") if p.is_file()]
    for name in filter(None, files):
        source, target = TOP / os.fsdecode(name), dest / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.exists():
            shutil.copy2(source, target)
    for path in [dest, *dest.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o555 if path.is_dir() or os.access(path, os.X_OK) else 0o444)


def test_readme_laptop_steps_from_an_account_off_the_team(own_box: Box, laptop: str) -> None:
    box, home = own_box, Path(f"/home/{laptop}")
    alice, bob = box.user("alice"), box.user("bob")
    cid = box.share("alice", ["bob"], "analysis.ipynb")
    done = box.run("alice", "git", "nbpublish", f"{alice},{bob}:analysis", "--", "analysis")
    assert done.returncode == 0, done.stderr
    _read_only_copy(home / "git-nbcollab")
    done = _as(box, laptop, 'ssh-keygen -q -t ed25519 -N "" -f ~/.ssh/id_ed25519')
    assert done.returncode == 0, done.stderr
    install, setup = _readme_blocks()

    installed = _as(box, laptop, install + "command -v git-nbcollab\n")
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert installed.stdout.splitlines()[-1] == f"{home}/.nbcollab/bin/git-nbcollab"
    assert not (home / "git-nbcollab" / "build").exists()

    assert box.admin("user", "key", "add", alice, str(home / ".ssh" / "id_ed25519.pub")) == 0
    setup = setup.replace(
        "nbcollab@box.example.org:22", f"{box.service}@127.0.0.1:{box.port}"
    ).replace("alice,bob:", f"{alice},{bob}:")
    done = _as(box, laptop, f'export PATH="$HOME/.nbcollab/bin:$PATH"\n{setup}')
    assert done.returncode == 0, done.stderr
    assert "analysis" in done.stdout and cid in done.stdout  # the list
    assert "wrote analysis_FINAL.ipynb" in done.stdout
    fetched = (home / "analysis_FINAL.ipynb").read_bytes()
    assert fetched == box.hub_git(cid, "show", "analysis/v1.0.0:analysis_FINAL.ipynb").encode()

    laptop_cmd = 'export PATH="$HOME/.nbcollab/bin:$PATH"\n'
    shown = _as(box, laptop, laptop_cmd + "git nbcollab show analysis:v1.0.0")
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert "--fetch" in first and "git show analysis/v1.0.0:analysis_FINAL.ipynb" in first
    again = _as(box, laptop, laptop_cmd + "git nbcollab show analysis:v1.0.0 --fetch")
    assert again.returncode == 1 and again.stderr.count("\n") == 1, again.stderr
    assert "analysis_FINAL.ipynb exists here" in again.stderr
    assert (home / "analysis_FINAL.ipynb").read_bytes() == fetched

    # no git identity: sync says in one line what to set, and changes nothing
    work = home / "analysis"
    edit_cell(work / "analysis.ipynb", 0, "# edited on the laptop")
    _as(box, laptop, "git config --global --unset user.email")
    before = box.refs(cid)
    done = _as(box, laptop, laptop_cmd + "git nbcollab sync", cwd=work)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "user.email" in done.stderr, done.stderr
    assert "internal error" not in done.stderr
    assert box.refs(cid) == before

    _as(box, laptop, "git config --global user.email alice@example.org")
    done = _as(box, laptop, laptop_cmd + "git nbcollab sync", cwd=work)
    assert done.returncode == 0, done.stderr
    pushed = box.hub_git(cid, "show", f"u/{alice}/main:analysis.ipynb")
    assert "# edited on the laptop" in pushed
