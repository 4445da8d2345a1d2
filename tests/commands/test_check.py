"""`git nbcollab check PATH.ipynb` as the README shows it: a teammate checking their own
notebook (run as themselves), and root (who must name a runner); per-check, per-cell reports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from git_nbcollab.cli import nbcollab
from tests.box import FIXTURES, Box
from tests.checks.test_sandbox import make
from tests.checks.test_scan import AWS_ID

SALES = FIXTURES / "notebooks" / "sales.ipynb"


def check(box: Box, *args: str) -> subprocess.CompletedProcess[str]:
    return box.run("alice", "git", "nbcollab", "check", *args)


def test_a_teammate_checks_a_notebook_that_passes(box: Box) -> None:
    box.put("alice", SALES, "sales.ipynb")
    before = box.snapshot()
    done = check(box, "sales.ipynb")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sales.ipynb: passed (python3, ")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "  ok   valid",
        "  ok   executes",
        "  ok   reproduces",
        "  ok   secrets",
        "  ok   size",
    ]
    assert box.changes(before) == {}  # the run happened in a throwaway copy

    done = check(box, "sales.ipynb", "--save-executed", "ran.ipynb")
    assert done.returncode == 0, done.stderr
    ran = json.loads((box.home("alice") / "notebooks" / "ran.ipynb").read_bytes())
    assert ran["cells"][2]["outputs"][0]["text"] == ["143\n"]
    done = check(box, "sales.ipynb", "--save-executed", "ran.ipynb")
    assert done.returncode == 1
    assert "ran.ipynb exists: name a new file for --save-executed" in done.stderr


def test_a_failing_notebook_is_reported_per_check_and_cell_with_exit_1(box: Box) -> None:
    sales = json.loads(SALES.read_bytes())
    sales["cells"][1]["outputs"][0]["data"]["text/plain"] = ["118"]  # not what it computes
    sales["cells"][2]["source"] = [f"key = '{AWS_ID}'\n", "print(max(sales))"]
    sales["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "boom",
            "metadata": {},
            "outputs": [],
            "source": "1 / 0",
        }
    )
    box.put("alice", json.dumps(sales).encode(), "broken.ipynb")
    done = check(box, "broken.ipynb", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["state"] == "failed" and report["first_failure"] == "executes"
    assert report["runner"] == box.user("alice") and report["format"] == 1
    assert report["network"] == "closed"  # this box allows unprivileged user namespaces
    found = {c["name"]: (c["passed"], c["cells"]) for c in report["checks"]}
    assert found["executes"] == (
        False,
        [{"cell": 4, "message": "ZeroDivisionError: division by zero"}],
    )
    assert found["reproduces"][0] is False  # not run: it did not execute
    assert found["secrets"] == (
        False,
        [{"cell": 3, "message": "AWS access key id in the source (AKIA...)"}],
    )
    assert found["valid"] == (True, []) and found["size"] == (True, [])

    done = check(box, "broken.ipynb", "--save-executed", "broken-ran.ipynb")
    ran = json.loads((box.home("alice") / "notebooks" / "broken-ran.ipynb").read_bytes())
    assert ran["cells"][3]["outputs"][0]["ename"] == "ZeroDivisionError"  # kept, as it ran

    sales["cells"].pop()  # now it executes: the changed output shows
    box.put("alice", json.dumps(sales).encode(), "broken.ipynb")
    done = check(box, "broken.ipynb")
    assert done.returncode == 1
    assert "  FAIL reproduces: outputs differ in cell 2" in done.stdout
    assert "         cell 2: text/plain differs: published '118', the run gave '117'" in (
        done.stdout
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["sales.ipynb"], "as root, name the account the notebook runs as: --runner NAME"),
        (["sales.ipynb", "--runner", "root"], "notebooks never run as root"),
        (["nothing.ipynb", "--runner", "nobody"], "cannot read"),
        (["notes.txt", "--runner", "nobody"], "is not a notebook (.ipynb)"),
    ],
)
def test_root_must_name_a_runner_and_bad_input_is_one_line(
    box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    (tmp_path / "sales.ipynb").write_bytes(SALES.read_bytes())
    paths = [str(tmp_path / a) if a.endswith((".ipynb", ".txt")) else a for a in args]
    before = box.snapshot()
    assert nbcollab(["check", *paths]) == 1
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "internal error" not in err, err
    assert box.changes(before) == {}


def test_the_hubs_service_account_is_never_a_runner(
    box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sales.ipynb").write_bytes(SALES.read_bytes())
    monkeypatch.setenv("NBCOLLAB_ROOT", str(box.root))
    assert nbcollab(["check", str(tmp_path / "sales.ipynb"), "--runner", box.service]) == 1
    assert "is the hub's service account" in capsys.readouterr().err


def test_a_notebook_over_the_size_limit_is_not_even_read(box: Box) -> None:
    sales = json.loads(SALES.read_bytes())
    sales["cells"][2]["outputs"][0]["text"] = ["x" * 2 * 1024 * 1024]
    box.put("alice", json.dumps(sales).encode(), "big.ipynb")
    done = check(box, "big.ipynb", "--max-notebook-mb", "1")
    assert done.returncode == 1
    assert "  FAIL size: the notebook is 2.0 MB, over the 1 MB limit" in done.stdout
    assert "  FAIL executes: not run: the notebook is 2.0 MB, over the 1 MB limit" in done.stdout
    done = check(box, "big.ipynb", "--max-output-mb", "1")
    assert done.returncode == 1
    assert "         cell 3: output 1 is 2.0 MB, over the 1 MB limit" in done.stdout


def test_a_teammate_may_name_only_themselves_as_the_runner(box: Box) -> None:
    box.put("alice", SALES, "sales.ipynb")
    done = check(box, "sales.ipynb", "--runner", box.user("alice"))
    assert done.returncode == 0, done.stdout + done.stderr
    done = check(box, "sales.ipynb", "--runner", box.user("bob"))
    assert done.returncode == 1
    assert done.stderr == (
        f"git nbcollab: only root can run notebooks as {box.user('bob')!r}: leave out the runner\n"
    )


def test_a_teammates_notebook_that_loops_is_stopped_and_leaves_no_kernel(box: Box) -> None:
    box.put("alice", make("x = 1", "while True:\n    pass"), "loop.ipynb")
    done = check(box, "loop.ipynb", "--timeout", "6")
    assert done.returncode == 1
    executes = next(line for line in done.stdout.splitlines() if "executes" in line)
    assert executes.startswith("  FAIL executes: cell 2: ")  # nbclient's timeout, or our kill
    assert executes.endswith("did not finish within the 6s limit")
    kernels = ["pgrep", "-u", box.user("alice"), "-f", "ipykernel"]
    assert subprocess.run(kernels, capture_output=True).stdout == b""


def test_an_invalid_notebook_fails_valid_and_runs_nothing(box: Box) -> None:
    box.put("alice", b'{"cells": [], "nbformat": 4}', "broken.ipynb")
    done = check(box, "broken.ipynb")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "broken.ipynb: failed"
    assert lines[1].startswith("  FAIL valid: broken.ipynb is not a valid notebook: ")
    assert lines[2:] == [
        f"  FAIL {name}: not run: the notebook is not valid"
        for name in ("executes", "reproduces", "secrets", "size")
    ]


def test_a_project_command_runs_in_the_copy_after_the_notebook(box: Box) -> None:
    box.put("alice", make("open('result.txt', 'w').write('42')"), "made.ipynb")
    done = check(box, "made.ipynb", "--project", "test $(cat result.txt) = 42 && echo fine")
    assert done.returncode == 0, done.stdout
    assert "  ok   project: 'test $(cat result.txt) = 42 && echo fine' passed: fine" in done.stdout
    done = check(box, "made.ipynb", "--project", "echo wrong answer >&2; exit 3")
    assert done.returncode == 1
    assert "exited 3: wrong answer" in done.stdout


def test_root_refuses_a_path_through_a_teammates_link(
    box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """alice's link to a folder only root may read: root checking "her" notebook through it
    would copy root's files for the runner."""
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    (private / "sales.ipynb").write_bytes(SALES.read_bytes())
    link = box.home("alice") / "notebooks" / "shortcut"
    assert box.run("alice", "ln", "-s", str(private), str(link)).returncode == 0
    before = box.snapshot()
    assert nbcollab(["check", str(link / "sales.ipynb"), "--runner", box.runner]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"git nbcollab: {link} is a link of {box.user('alice')}'s: as root, name the folder it"
        " points to\n"
    )
    assert box.changes(before) == {}
