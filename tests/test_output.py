"""Output for scripts (`--json`) and for people waiting (progress, only on a terminal)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from git_nbcollab.output import table
from tests.box import Box
from tests.commands.test_backup import bob_commits, clone_as_bob

PROBE = (
    "import sys; from git_nbcollab.output import progress\n"
    "with progress('probe') as update:\n"
    "    update(1, 2); update(2, 2)\n"
    "print('rich' in sys.modules)\n"
)


def in_terminal(cmd: list[str]) -> str:
    """Run `cmd` with a pseudo-terminal on stdin, stdout and stderr (util-linux `script`)."""
    done = subprocess.run(
        ["script", "-qec", shlex.join(cmd), "/dev/null"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_progress_draws_only_on_a_terminal_and_imports_rich_only_there() -> None:
    piped = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert piped.stdout == "False\n" and piped.stderr == ""
    drawn = in_terminal([sys.executable, "-c", PROBE])
    assert "probe" in drawn and "True" in drawn, drawn


def test_backup_run_and_verify_show_progress_on_a_terminal_only(box: Box) -> None:
    cid = box.share("alice", ["bob"], "out-progress.ipynb")
    bob_commits(box, clone_as_bob(box, cid, "out-progress"), "one")
    box.backups_idle()
    admin = [str(box.bin_dir / "git-nbcollab"), "backup"]
    root = ["--root", str(box.root)]
    assert "sending bundles" in in_terminal([*admin, "run", *root])
    assert "replaying chains" in in_terminal([*admin, "verify", *root])
    piped = box.run_as("root", *admin, "verify", *root)
    assert piped.returncode == 0 and "replaying" not in piped.stdout + piped.stderr


def test_list_versions_show_and_backup_status_print_json(box: Box) -> None:
    cid = box.share("alice", ["bob"], "outjson.ipynb")
    copy = box.home("alice") / "notebooks" / "outjson"
    listed = box.run("alice", "git", "nbcollab", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    mine = [c for c in json.loads(listed.stdout) if c["id"] == cid]
    assert mine and box.user("bob") in mine[0]["members"], listed.stdout
    published = box.run("alice", "git", "nbpublish", "--", "outjson", cwd=copy)
    assert published.returncode == 0, published.stderr
    # by name: by collaboration the hub reads every published folder's metadata, and another
    # test leaves a folder without one (the hub then fails: reported, not this change's)
    versions = box.run("alice", "git", "nbcollab", "versions", "outjson", "--json")
    assert versions.returncode == 0, versions.stderr
    assert [v["shown"] for v in json.loads(versions.stdout)] == ["outjson:v1.0.0"]
    shown = box.run("alice", "git", "nbcollab", "show", "outjson:v1.0.0", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["file"].endswith("outjson_FINAL.ipynb"), shown.stdout
    box.backups_idle()
    status = box.run_as(
        "root", "git", "nbcollab", "backup", "status", "--json", "--root", str(box.root)
    )
    assert status.returncode == 0, status.stderr
    found = json.loads(status.stdout)
    assert found["queued_bundles"] == 0 and found["last_error"] is None, found


def test_a_table_aligns_its_columns_and_ends_no_line_in_spaces(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [("1a2b3c4d", "analysis", "alice, bob"), ("0f", "{0} {}", "")]  # braces are text
    table(("id", "name", "members"), rows, empty="none")
    assert capsys.readouterr().out == (
        "id        name      members\n1a2b3c4d  analysis  alice, bob\n0f        {0} {}\n"
    )
    table(("id",), [], empty="no collaborations yet")
    assert capsys.readouterr().out == "no collaborations yet\n"
