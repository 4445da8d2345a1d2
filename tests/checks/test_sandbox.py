"""The check runner on a real box: notebooks that try to reach what a runner must never reach
(the hub, a teammate's home, the spool, the backup credentials, the published tree, the
network), that loop forever, allocate without bound or leave processes behind."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from git_nbcollab.checks import Finding, Limits, Report, run_checks
from git_nbcollab.errors import UserError
from tests.box import FIXTURES, Box

QUICK = Limits(timeout_s=60, memory_mb=1024)


@pytest.fixture(scope="module")
def box(own_box: Box) -> Box:
    """A box of this module's own: the tests plant backup credentials in its hub."""
    return own_box


@pytest.fixture(scope="module")
def runner(box: Box) -> Iterator[str]:
    """A dedicated unprivileged account, as `init` makes one: no home, no shell, no groups."""
    name = box.user("run")
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
    )
    try:
        yield name
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", name], capture_output=True)


def make(*sources: str, kernel: str = "python3") -> bytes:
    from git_nbcollab.notebooks import notebook

    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"c{i}",
            "metadata": {},
            "outputs": [],
            "source": source,
        }
        for i, source in enumerate(sources)
    ]
    doc = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": kernel, "display_name": kernel, "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return notebook.dumps(notebook.read(json.dumps(doc).encode(), "test notebook"))


def check(folder: Path, data: bytes, runner: str | None, limits: Limits = QUICK) -> Report:
    folder.mkdir(exist_ok=True)
    (folder / "attack.ipynb").write_bytes(data)
    return run_checks(folder, "attack.ipynb", limits, runner=runner)


def outputs(report: Report) -> list[str]:
    """Each cell's printed text in the executed copy."""
    assert report.executed is not None
    cells: list[dict[str, Any]] = json.loads(report.executed)["cells"]
    return ["".join("".join(o.get("text", "")) for o in c["outputs"]).strip() for c in cells]


def executes(report: Report) -> Any:
    return next(c for c in report.checks if c.name == "executes")


def runner_processes(runner: str) -> list[str]:
    found = subprocess.run(["pgrep", "-u", runner], capture_output=True, text=True)
    return found.stdout.split()


TRY = """\
import os, socket
try:
    {action}
    print("DONE")
except OSError as e:
    print(type(e).__name__, e.errno)
"""


def test_a_notebook_cannot_reach_the_hub_homes_spool_credentials_or_network(
    box: Box, runner: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    aws = box.root / ".aws"
    aws.mkdir(mode=0o700, exist_ok=True)
    request.addfinalizer(lambda: shutil.rmtree(aws))  # the session's box, as it was
    (aws / "credentials").write_text("[default]\naws_access_key_id = x\n")
    box.put("alice", FIXTURES / "notebooks" / "sales.ipynb", "private.ipynb")
    targets = {
        "the hub's settings": f"open({str(box.root / 'hub.json')!r}).read()",
        "the list of collaborations": f"os.listdir({str(box.root / 'collabs')!r})",
        "the spool": f"os.listdir({str(box.root / 'spool')!r})",
        "the backup credentials": f"open({str(aws / 'credentials')!r}).read()",
        "alice's notebook": f"open({str(box.home('alice') / 'notebooks' / 'private.ipynb')!r})",
        "the published tree": f"open({str(box.root / 'published' / 'x.ipynb')!r}, 'w')",
        "the hub's sshd": f"socket.create_connection(('127.0.0.1', {box.port}), timeout=5)",
    }
    for path in ("hub.json", "collabs", "spool", ".aws/credentials", "published"):
        assert (box.root / path).exists()  # the targets are real: root reaches each
    assert (box.home("alice") / "notebooks" / "private.ipynb").is_file()
    socket.create_connection(("127.0.0.1", box.port), timeout=5).close()
    control = "open('attack.ipynb').read()"  # the notebook's own copy: must work
    report = check(
        tmp_path / "nb", make(*(TRY.format(action=a) for a in [control, *targets.values()])), runner
    )
    said = outputs(report)
    assert said[0] == "DONE"
    # The test box's hub is under /tmp, which the runner sees as its own empty tmpfs (a real
    # hub, /srv/nbcollab, is kept out by its permissions: the home below shows that layer).
    hidden = "FileNotFoundError 2" if box.root.is_relative_to("/tmp") else "PermissionError 13"
    expected = [hidden] * 4 + ["PermissionError 13", hidden]
    expected.append("OSError 101")  # ENETUNREACH: no interface is up, not even loopback
    assert dict(zip(targets, said[1:], strict=True)) == dict(zip(targets, expected, strict=True))
    for path in ("hub.json", "collabs", "spool", ".aws/credentials"):  # the permission layer
        tried = subprocess.run(
            ["runuser", "-u", runner, "--", "ls", str(box.root / path)],
            capture_output=True,
            text=True,
        )
        assert "Permission denied" in tried.stderr, (path, tried.stdout)
    assert report.network == "closed" and report.runner == runner
    assert not (box.root / "published" / "x.ipynb").exists()


# The result file of the runner's parent (the kernel runs under the same uid): a notebook that
# writes to every file it holds open, and tries its parent's descriptors through /proc.
REACH_RESULT = """\
import os, stat
for n in os.listdir("/proc/self/fd"):
    try:
        if int(n) > 2 and stat.S_ISREG(os.fstat(int(n)).st_mode):
            os.write(int(n), b"forged")
    except OSError:
        pass
try:
    print(os.listdir(f"/proc/{os.getppid()}/fd"))
except OSError as e:
    print(type(e).__name__)
"""


LEAVE_BEHIND = """\
import os
for d in ("/tmp", "/var/tmp", "/dev/shm"):
    open(f"{d}/left-by-{os.environ['USER']}", "w").write("x")
try:
    with open("/tmp/big", "wb") as f:
        for _ in range(100):
            f.write(bytes(1024 * 1024))
    print("DONE")
except OSError as e:
    print(type(e).__name__, e.errno)
"""


def test_the_notebook_runs_as_the_runner_without_groups_in_a_throwaway_copy(
    box: Box, runner: str, tmp_path: Path
) -> None:
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "data.csv").write_text("a,b\n1,2\n")
    (folder / "shadow").symlink_to("/etc/shadow")
    (folder / "etc").symlink_to("/etc")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]\n")
    report = check(
        folder,
        make(
            "import os; print(os.getresuid(), os.getresgid(), os.getgroups())",
            "print(sorted(os.listdir('.')))",
            "open('data.csv', 'a').write('3,4\\n'); print(os.getcwd())",
            REACH_RESULT,
            LEAVE_BEHIND,
        ),
        runner,
    )
    assert report.state == "passed", report.lines()  # cells never run are not compared
    account = pwd.getpwnam(runner)
    ids, listing, cwd, reach, left = outputs(report)
    assert left == "OSError 28"  # ENOSPC: /tmp is small, and private
    assert not any(Path(d, f"left-by-{runner}").exists() for d in ("/tmp", "/var/tmp", "/dev/shm"))
    assert reach == "PermissionError"  # and the result (the JSON read above) was not spoilt
    uid, gid = account.pw_uid, account.pw_gid
    assert ids == f"({uid}, {uid}, {uid}) ({gid}, {gid}, {gid}) []"
    assert listing == "['attack.ipynb', 'data.csv']"  # no link followed, no .git
    assert (folder / "data.csv").read_text() == "a,b\n1,2\n"  # the original is untouched
    assert not Path(cwd).exists()  # the throwaway copy is gone
    assert not Path(cwd).parent.exists()


def test_a_notebook_that_loops_forever_is_killed_at_the_time_limit(
    box: Box, runner: str, tmp_path: Path
) -> None:
    limits = Limits(timeout_s=8, memory_mb=1024)
    start = time.monotonic()
    report = check(
        tmp_path / "nb", make("x = 1", "while True:\n    pass", "print(x)"), runner, limits
    )
    took = time.monotonic() - start
    assert report.state == "failed" and report.first_failure == executes(report)
    assert executes(report).cells == (Finding(2, "did not finish within the 8s limit"),)
    assert took < 8 + 30
    assert runner_processes(runner) == []


def test_a_notebook_that_allocates_without_bound_is_stopped_by_the_memory_limit(
    box: Box, runner: str, tmp_path: Path
) -> None:
    limits = Limits(timeout_s=60, memory_mb=700)
    hog = "hog = []\nwhile True:\n    hog.append(bytearray(50 * 1024 * 1024))"
    report = check(tmp_path / "nb", make("x = 1", hog, "print(x)"), runner, limits)
    (found,) = executes(report).cells
    assert found.cell == 2
    assert found.message.startswith("MemoryError") and "700 MB memory limit" in found.message
    assert runner_processes(runner) == []


FORK_BOMB = """\
import os, time
forked = 0
try:
    for _ in range(1000):
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        forked += 1
except OSError:
    pass
print(forked)
"""


def test_processes_a_notebook_starts_die_with_the_run(
    box: Box, runner: str, tmp_path: Path
) -> None:
    escape = (
        "import subprocess\n"
        "subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        "subprocess.Popen(['sh', '-c', 'sleep 600 &'])"
    )
    report = check(tmp_path / "nb", make(escape, FORK_BOMB), runner)
    assert executes(report).passed, executes(report).message
    forked = int(outputs(report)[1])
    assert 100 < forked < 256  # the process limit stopped it (the kernel has threads too)
    assert runner_processes(runner) == []


def test_root_never_runs_a_notebook_as_itself_or_without_a_runner(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="never run as root"):
        check(tmp_path / "nb", make("print(1)"), None)
    with pytest.raises(UserError, match="never run as root"):
        check(tmp_path / "nb", make("print(1)"), "root")
    with pytest.raises(UserError, match="no such runner account"):
        check(tmp_path / "nb", make("print(1)"), "nbt-nobody-here")


def test_a_kernel_the_runner_does_not_have_is_named(box: Box, runner: str, tmp_path: Path) -> None:
    report = check(tmp_path / "nb", make("1", kernel="julia-1.10"), runner)
    assert executes(report).message == "kernel 'julia-1.10' is not registered for the runner"
    assert os.path.exists(FIXTURES)


READ_ALL = """\
import os
for name in sorted(os.listdir('.')):
    print(name, open(name, 'rb').read()[:40])
"""


def _alices_folder(box: Box, name: str) -> Path:
    """A folder of alice's own in her notebooks, as she would make it."""
    folder = box.home("alice") / "notebooks" / name
    assert box.run("alice", "mkdir", "-p", str(folder)).returncode == 0
    return folder


def test_root_copies_a_teammates_folder_with_the_teammates_rights(
    box: Box, runner: str, tmp_path: Path
) -> None:
    """A hard link (or any file) in alice's folder that only root may read never reaches the
    copy the runner works on: root reads her folder as alice."""
    secret = tmp_path / "root-only"
    secret.write_text("ROOT-SECRET " * 4)
    secret.chmod(0o600)
    folder = _alices_folder(box, "hardlinks")
    os.link(secret, folder / "linked")  # what a teammate can do where protected_hardlinks=0
    shutil.copy(secret, folder / "planted")  # root's own 0600 file in her folder
    (folder / "data.csv").write_text("a,b\n")
    (folder / "attack.ipynb").write_bytes(make(READ_ALL))
    alice = pwd.getpwnam(box.user("alice"))
    for name in ("data.csv", "attack.ipynb"):
        os.chown(folder / name, alice.pw_uid, alice.pw_gid)
    report = run_checks(folder, "attack.ipynb", QUICK, runner=runner)
    assert executes(report).passed, executes(report).message
    (listing,) = outputs(report)
    assert listing.splitlines() == [
        "attack.ipynb " + repr((folder / "attack.ipynb").read_bytes()[:40]),
        "data.csv b'a,b\\n'",
    ]
    assert report.executed is not None and b"ROOT-SECRET" not in report.executed


def test_a_notebook_root_may_read_but_its_owner_may_not_is_refused(
    box: Box, runner: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.ipynb"
    secret.write_bytes(make("print('ROOT-SECRET')"))
    secret.chmod(0o600)
    folder = _alices_folder(box, "linked-notebook")
    os.link(secret, folder / "attack.ipynb")
    with pytest.raises(UserError, match="not a regular file its owner can read"):
        run_checks(folder, "attack.ipynb", QUICK, runner=runner)


def test_a_root_folder_inside_a_teammates_folder_is_read_as_the_teammate(
    box: Box, runner: str, tmp_path: Path
) -> None:
    """alice could swap anything below her own folder (after root looked): root reads what is
    under it as alice, whoever owns the folder named."""
    folder = _alices_folder(box, "owned-by-root") / "inner"
    folder.mkdir()  # root's own folder, inside alice's
    (folder / "attack.ipynb").write_bytes(make(READ_ALL))
    (folder / "secret").write_text("ROOT-SECRET")
    (folder / "secret").chmod(0o600)
    report = run_checks(folder, "attack.ipynb", QUICK, runner=runner)
    (listing,) = outputs(report)
    assert [line.split()[0] for line in listing.splitlines()] == ["attack.ipynb"]
    assert report.executed is not None and b"ROOT-SECRET" not in report.executed
