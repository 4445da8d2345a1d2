"""Start-up paths import only what they need (the timing itself lives in bench/)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = {"pygit2", "nbformat", "nbdime", "boto3", "rich", "jsonschema"}

PATHS = {
    "git nbshare -h": "from git_nbcollab.cli import nbshare\nnbshare(['-h'])",
    "git nbcollab list (client)": "import git_nbcollab.commands.list",
    "git nbcollab merge-driver -h": "from git_nbcollab.cli import nbcollab\n"
    "nbcollab(['merge-driver', '-h'])",
    "gate and hook (every push)": "import git_nbcollab.gate, git_nbcollab.hook",
}


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("path", sorted(PATHS))
def test_start_up_paths_do_not_import_heavy_libraries(path: str) -> None:
    modules = loaded_after(PATHS[path])
    assert {m.split(".")[0] for m in modules} & HEAVY == set()


def test_the_push_path_imports_no_dataclasses_or_shlex() -> None:
    modules = loaded_after(PATHS["gate and hook (every push)"])
    assert {"dataclasses", "shlex", "argparse"} & modules == set()


def test_the_post_receive_hook_logs_and_queues_without_json_re_or_pathlib() -> None:
    modules = loaded_after("from git_nbcollab import audit, backup, hook")
    assert {"json", "re", "pathlib", "dataclasses"} & modules == set()


def test_sync_imports_no_notebook_code_before_its_fetch_starts() -> None:
    """The merge's modules load while the fetch runs (client.sync imports them after)."""
    modules = loaded_after("import git_nbcollab.commands.sync")
    notebook_code = {"git_nbcollab.notebooks.treemerge", "git_nbcollab.client.savedover"}
    assert notebook_code & modules == set()
    assert "concurrent.futures" not in modules, "restore's thread pool (fsutil.sync_tree)"
    assert "dataclasses" not in modules, "its import (inspect, ast) cost 11 ms before the fetch"


def test_the_probe_sees_imports() -> None:
    assert "pygit2" in loaded_after("import pygit2"), "the check above can fail"


def test_list_loads_no_tempfile_and_its_hub_side_no_dataclasses() -> None:
    assert "tempfile" not in loaded_after(PATHS["git nbcollab list (client)"])
    hub = loaded_after("import git_nbcollab.gate\nfrom git_nbcollab.hub import ops")
    assert {"tempfile", "dataclasses", "git_nbcollab.repo"} & hub == set()


def test_a_command_builds_no_other_commands_parser() -> None:
    """`git nbcollab sync` does not build init's or check's arguments (check's import the
    limits' dataclass)."""
    modules = loaded_after("from git_nbcollab.cli import nbcollab\nnbcollab(['sync', '-h'])")
    assert "git_nbcollab.checks.report" not in modules
    assert "git_nbcollab.checks.report" in loaded_after(
        "from git_nbcollab.cli import nbcollab\nnbcollab(['check', '-h'])"
    ), "the check above can fail"


def test_console_scripts_end_without_tearing_the_interpreter_down() -> None:
    """Freeing pygit2's and the notebook code's objects took a sync 20-50 ms: the scripts
    flush what was said and leave (atexit handlers, teardown: not run)."""
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text())["project"]["scripts"]
    for command, target in scripts.items():
        module, function = target.split(":")
        probe = (
            "import atexit, sys\natexit.register(print, 'torn down')\n"
            f"sys.argv = [{command!r}, '-h']\nfrom {module} import {function}\n{function}()"
        )
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert f"usage: {command.replace('-', ' ', 1)}" in done.stdout, "flushed before leaving"
        assert "torn down" not in done.stdout, target
