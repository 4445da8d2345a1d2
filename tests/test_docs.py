"""Every command has help, the README shows each one, and `git nbshare --help` works."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import pytest

from git_nbcollab.cli import PARSERS
from tests.box import Box

TOP = Path(__file__).resolve().parent.parent
README = (TOP / "README.md").read_text()


def _all_parsers() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    todo: list[argparse.ArgumentParser] = [make() for make in PARSERS.values()]
    while todo:
        parser = todo.pop()
        found[parser.prog] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())
    return found


@pytest.mark.parametrize("prog", sorted(_all_parsers()))
def test_every_command_has_help_and_a_readme_example(prog: str) -> None:
    parser = _all_parsers()[prog]
    assert parser.format_help().startswith(f"usage: {prog}")
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{prog} {action.option_strings} has no help"
    example = r"git[\s-]" + r"\s+".join(map(re.escape, prog.split()[1:])) + r"\b"
    assert re.search(example, README), f"the README shows no example of {prog}"


def _shell_lines(text: str) -> list[str]:
    """Every command line in the README's ```sh blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_commands_are_the_ones_ci_runs() -> None:
    lines = _shell_lines(README)
    assert lines[0].startswith("scripts/demo ") and lines[1].startswith("scripts/test ")
    # as written they work for root on a box without sudo; a non-root admin is told to add it
    assert not [line for line in lines if line.startswith("sudo ")]
    assert "puts `sudo` in front" in README
    for script in ("scripts/demo", "scripts/test", "scripts/install"):
        assert os.access(TOP / script, os.X_OK), script
    assert "scripts/test" in (TOP / ".ci" / "run").read_text()


def test_git_nbshare_help_opens_the_manual_page(box: Box) -> None:
    done = box.run("alice", "git", "nbshare", "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: git nbshare" in done.stdout and "bob,carol" in done.stdout
