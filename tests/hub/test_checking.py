"""The checks of published versions on a real hub: queued at publish, run by the detached worker
as the runner account over the real sshd, kept in the published tree and in a git note."""

from __future__ import annotations

import grp
import io
import json
import os
import pwd
import stat
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from git_nbcollab.hub import checking, runner
from git_nbcollab.layout import Hub, Settings
from git_nbcollab.names import CHECKS_NOTES
from git_nbcollab.notebooks import notebook
from tests.box import Box, edit_cell, missing_prerequisite
from tests.conftest import require

WAIT_S = 240  # a notebook's kernel starts in seconds; two cores shared by many test runs


def _show(box: Box, version: str) -> dict[str, Any]:
    done = box.run("alice", "git", "nbcollab", "show", version, "--json")
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _checked(box: Box, version: str) -> dict[str, Any]:
    """Poll (bounded) until the worker has finished the version's checks."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        meta = _show(box, version)
        if meta["checks"]["state"] in ("passed", "failed"):
            return meta
        time.sleep(1)
    raise AssertionError(f"{version} still {meta['checks']} after {WAIT_S}s")


def _publish(box: Box, cid: str, name: str) -> str:
    done = box.run("alice", "git", "nbpublish", cid, "--", name)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _sync_edit(box: Box, name: str, cell: int, source: str) -> None:
    copy = box.home("alice") / "notebooks" / name
    edit_cell(copy / f"{name}.ipynb", cell, source)
    done = box.run("alice", "git", "nbcollab", "sync", cwd=copy)
    assert done.returncode == 0, done.stderr


def _init(box: Box, *options: str) -> int:
    """`init` again on the box's hub, changing only the check settings given."""
    return box.admin("init", *box.init_options(), "--bin-dir", str(box.bin_dir), *options)


@pytest.fixture(scope="module")
def own_box() -> Iterator[Box]:
    """A box of this module's own, with the checks of published versions on (the default)."""
    require(missing_prerequisite())
    with Box.started(checks=True) as started:
        yield started


@pytest.fixture(scope="module")
def gated(own_box: Box) -> Box:
    """A hub where `latest` moves only to versions whose checks passed."""
    assert _init(own_box, "--required-checks") == 0
    return own_box


def test_a_version_is_queued_then_passes_and_its_results_are_kept_twice(gated: Box) -> None:
    box = gated
    cid = box.share("alice", ["bob"], "chk.ipynb")
    _publish(box, cid, "chk")
    first = _show(box, "chk:v1.0.0")["checks"]
    assert first["state"] in ("queued", "running"), "publish does not wait for the checks"

    meta = _checked(box, "chk:v1.0.0")
    checks = meta["checks"]
    assert checks["state"] == "passed" and checks["first_failure"] is None, checks
    assert {c["name"] for c in checks["checks"]} >= {"valid", "executes", "secrets", "size"}
    assert checks["runner"] == box.runner, "the notebook ran as the runner account"

    folder = box.root / "published" / "chk" / "v1.0.0"
    for name in ("checks.json", "executed.ipynb"):
        st = (folder / name).stat()
        assert stat.S_IMODE(st.st_mode) == 0o440 and pwd.getpwuid(st.st_uid).pw_name == box.service
    assert json.loads((folder / "checks.json").read_text())["state"] == "passed"
    executed = notebook.read((folder / "executed.ipynb").read_bytes(), "executed")
    assert any(c.get("outputs") for c in executed.cells), "the executed copy has the run's outputs"
    assert os.readlink(box.root / "published" / "chk" / "latest") == "v1.0.0"

    listed = box.run("alice", "git", "nbcollab", "versions", "chk")
    assert listed.returncode == 0 and "passed" in listed.stdout, listed.stdout

    # the note travels with the repo: a fresh clone (and `git log`) sees it
    assert box.run("bob", "git", "nbcollab", "clone", cid, "chk-bob").returncode == 0
    clone = box.home("bob") / "notebooks" / "chk-bob"
    note = box.run("bob", "git", "notes", f"--ref={CHECKS_NOTES}", "show", "chk/v1.0.0^{commit}",
                   cwd=clone)  # fmt: skip
    assert note.returncode == 0, note.stderr
    assert json.loads(note.stdout)["state"] == "passed"
    shown = box.run("bob", "git", "log", "-1", "chk/v1.0.0", cwd=clone).stdout
    assert "Notes (nbcollab-checks)" in shown and '"state": "passed"' in shown

    # a working copy cloned before the notes existed gets them at its next sync
    alice = box.home("alice") / "notebooks" / "chk"
    unset = ["git", "config", "--unset-all", "remote.origin.fetch", "notes"]
    assert box.run("alice", *unset, cwd=alice).returncode == 0
    assert (
        box.run("alice", "git", "config", "--unset", "notes.displayRef", cwd=alice).returncode == 0
    )
    assert box.run("alice", "git", "update-ref", "-d", CHECKS_NOTES, cwd=alice).returncode == 0
    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice).returncode == 0
    assert box.run("alice", "git", "notes", f"--ref={CHECKS_NOTES}", "show", "chk/v1.0.0^{commit}",
                   cwd=alice).returncode == 0  # fmt: skip

    # both are backed up: the published files and the notes ref, through the bundle path
    box.backups_idle()
    mirror = box.root.with_name("hub-mirror")
    assert (mirror / "published" / "chk" / "v1.0.0" / "checks.json").is_file()
    manifests = sorted((mirror / "collabs" / cid).rglob("*.json"))
    assert CHECKS_NOTES in json.loads(manifests[-1].read_text())["refs"]


def test_a_failing_version_says_its_first_failure_and_latest_stays(gated: Box) -> None:
    box = gated
    cid = box.share("alice", ["bob"], "chkfail.ipynb")
    _publish(box, cid, "chkfail")
    assert _checked(box, "chkfail:v1.0.0")["checks"]["state"] == "passed"
    _sync_edit(box, "chkfail", 2, "raise ValueError('boom')")
    _publish(box, cid, "chkfail")

    checks = _checked(box, "chkfail:v1.1.0")["checks"]
    assert checks["state"] == "failed" and checks["first_failure"] == "executes", checks
    executes = next(c for c in checks["checks"] if c["name"] == "executes")
    assert [c["cell"] for c in executes["cells"]] == [3] and "boom" in executes["message"]
    latest = box.root / "published" / "chkfail" / "latest"
    assert os.readlink(latest) == "v1.0.0", "required checks: latest stays on the passing one"

    listed = box.run("alice", "git", "nbcollab", "versions", "chkfail").stdout
    assert "failed: executes" in listed, listed
    shown = box.run("alice", "git", "nbcollab", "show", "chkfail:v1.1.0").stdout
    assert "checks: failed: executes" in shown and "FAIL executes" in shown
    assert "cell 3:" in shown, shown


def test_the_runner_reaches_no_hub_file_no_home_and_cannot_write_the_published_tree(
    gated: Box,
) -> None:
    box = gated
    targets = [
        box.root / "hub.json",
        box.root / "spool",
        box.root / ".ssh" / "runner_ed25519",
        box.root / ".aws",
        box.home("alice") / "notebooks",
    ]
    probe = (
        "import os\n"
        f"for p in {[str(t) for t in targets]!r}:\n"
        "    try:\n"
        "        os.listdir(p) if os.path.isdir(p) else open(p).read()\n"
        "        print('READ', p)\n"
        "    except OSError as e:\n"
        "        print('refused', p, type(e).__name__)\n"
        "try:\n"
        f"    open({str(box.root / 'published' / 'x')!r}, 'w')\n"
        "    print('WROTE published')\n"
        "except OSError as e:\n"
        "    print('refused published', type(e).__name__)\n"
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {box.port}), timeout=5)\n"
        "    print('REACHED sshd')\n"
        "except OSError as e:\n"
        "    print('net closed', type(e).__name__)\n"
    )
    cid = box.share("alice", ["bob"], "chkprobe.ipynb")
    _sync_edit(box, "chkprobe", 2, probe)
    _publish(box, cid, "chkprobe")
    checks = _checked(box, "chkprobe:v1.0.0")["checks"]
    executes = next(c for c in checks["checks"] if c["name"] == "executes")
    assert executes["passed"], checks
    executed = box.root / "published" / "chkprobe" / "v1.0.0" / "executed.ipynb"
    text = "".join(
        "".join(o.get("text", ""))
        for c in notebook.read(executed.read_bytes(), "executed").cells
        for o in c.get("outputs", [])
    )
    assert "READ" not in text and "WROTE" not in text, text
    assert text.count("refused") == len(targets) + 1, text
    closed = checks["network"] == "closed"  # where the box allows user namespaces (this one)
    assert ("net closed" in text) == closed and ("REACHED" in text) != closed, text


def test_a_project_check_command_runs_in_the_version_s_files(gated: Box) -> None:
    box = gated
    cid = box.share("alice", ["bob"], "chkproj.ipynb")
    copy = box.home("alice") / "notebooks" / "chkproj"
    done = box.run("alice", "git", "nbcollab", "project", "set", "--check-command",
                   "test -f data.csv", cwd=copy)  # fmt: skip
    assert done.returncode == 0, done.stderr
    _publish(box, cid, "chkproj")
    checks = _checked(box, "chkproj:v1.0.0")["checks"]
    assert checks["first_failure"] == "project", checks


def test_with_checks_off_a_publish_queues_nothing(own_box: Box) -> None:
    box = own_box
    assert _init(box, "--checks", "none") == 0
    try:
        cid = box.share("alice", ["bob"], "nochk.ipynb")
        _publish(box, cid, "nochk")
        assert _show(box, "nochk:v1.0.0")["checks"]["state"] == "unchecked"
        assert not (box.root / "spool" / "checks" / "queued" / "nochk@1.0.0").exists()
    finally:
        assert _init(box, "--checks", "valid,executes,reproduces,secrets,size") == 0


def test_a_hub_from_before_checks_queues_none_until_init_makes_its_runner() -> None:
    old = Settings("svc", "team", "localhost:22", "/opt/x")  # hub.json without check fields
    assert not old.checks_on
    assert old._replace(runner_user="svc-run").checks_on
    assert not old._replace(runner_user="svc-run", checks="").checks_on


def test_the_runner_is_asked_for_the_admin_s_checks_and_the_project_s_own() -> None:
    settings = Settings("svc", "team", "h", "/opt/x", runner_user="r", checks="valid,size")
    plain = checking.request(settings, "an", "")
    assert plain["notebook"] == "an_FINAL.ipynb"
    assert plain["limits"]["required"] == ["valid", "size"]
    assert plain["limits"]["timeout_s"] == 600 and plain["limits"]["memory_mb"] == 2048
    with_project = checking.request(settings, "an", "make test")
    assert with_project["limits"]["required"] == ["valid", "size", "project"]
    assert with_project["project"] == "make test"


def test_a_version_s_state_follows_the_spool_then_its_checks_json(tmp_path: Path) -> None:
    hub = Hub(tmp_path)
    (tmp_path / "published" / "an" / "v1.0.0").mkdir(parents=True)
    assert checking.state(hub, "an", "1.0.0")["state"] == "unchecked"
    for where in ("queued", "running"):
        (hub.checks_spool / where).mkdir(parents=True)
        (hub.checks_spool / where / "an@1.0.0").write_text("1a2b3c4d")
    assert checking.state(hub, "an", "1.0.0")["state"] == "running"
    found = {"state": "failed", "first_failure": "secrets", "checks": []}
    (tmp_path / "published" / "an" / "v1.0.0" / "checks.json").write_text(json.dumps(found))
    assert checking.state(hub, "an", "1.0.0") == {"state": "failed", "first_failure": "secrets"}


def test_the_runner_unpacks_only_files_and_folders_inside_its_own(tmp_path: Path) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, kind in (("a.ipynb", tarfile.REGTYPE), ("d", tarfile.DIRTYPE),
                           ("d/x.csv", tarfile.REGTYPE), ("../up", tarfile.REGTYPE),
                           ("/abs", tarfile.REGTYPE), ("link", tarfile.SYMTYPE)):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, "/etc/shadow" if kind == tarfile.SYMTYPE else ""
            tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    data.seek(0)
    target = tmp_path / "in"
    target.mkdir()
    runner.unpack(data, str(target))
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == [
        "a.ipynb", "d", "d/x.csv",
    ]  # fmt: skip
    assert not (tmp_path / "up").exists()


def test_init_refuses_unknown_checks_in_one_line_and_changes_nothing(
    own_box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    before = own_box.snapshot()
    for bad in (["--checks", "valid,bogus"], ["--checks", ","], ["--check-timeout", "0"]):
        assert _init(own_box, *bad) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert own_box.changes(before) == {}


def test_the_runner_account_is_no_teammate_and_reached_only_through_its_forced_command(
    own_box: Box,
) -> None:
    box = own_box
    entry = pwd.getpwnam(box.runner)
    assert entry.pw_uid != 0 and box.runner not in grp.getgrnam(box.team).gr_mem
    home = Path(entry.pw_dir)
    for folder in (home, home / ".ssh"):
        st = folder.lstat()
        assert st.st_uid == 0 and not st.st_mode & 0o022, "root's: the runner cannot add keys"
    lines = (home / ".ssh" / "authorized_keys").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith('command="')
    assert ",restrict ssh-ed25519 " in lines[0]
    assert "git_nbcollab.hub.runner" in lines[0]
    key = box.root / ".ssh" / "runner_ed25519"
    assert key.owner() == box.service and stat.S_IMODE(key.stat().st_mode) == 0o600
