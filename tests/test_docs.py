"""Every command has help, the README shows each one, and `git nbshare --help` works."""

from __future__ import annotations

import argparse
import os
import re
import shlex
from pathlib import Path

import pytest

from git_nbcollab.cli import COMMANDS, PARSERS, _nbcollab_parser, parse_nbpublish
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


def _parse(words: list[str]) -> None:
    """Run a command line through its parser, as the command would (nothing is executed)."""
    program = "-".join(words[:2])
    if program == "git-nbpublish":
        parse_nbpublish(words[2:])
    else:
        PARSERS[program]().parse_args(words[2:])


def _readme_examples() -> list[str]:
    """Every command line the README shows: in its shell blocks and in `code` in its text."""
    found: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.removeprefix("sudo ").replace(
                "/opt/git-nbcollab/bin/git-nbcollab", "git nbcollab"
            )
            command = shlex.join(shlex.split(line, comments=True))
            found += [p for p in command.split(" '&&' ") if p.startswith(("git nb", "git-nb"))]
    spans = re.findall(r"`(git nb[^`]*)`", README)
    found += [span for span in spans if len(span.split()) > 2]  # not a bare command's name
    return found


def _help_examples() -> list[str]:
    found = []
    for parser in _all_parsers().values():
        for line in (parser.epilog or "").split("example")[1:]:
            found += [e.strip() for e in line.lstrip("s").lstrip(":").split(" ; ") if e.strip()]
    return found


@pytest.mark.parametrize("example", sorted(set(_readme_examples() + _help_examples())))
def test_every_example_in_the_readme_and_the_help_parses(example: str) -> None:
    _parse(shlex.split(example.replace("git-nb", "git nb", 1)))


@pytest.mark.parametrize(
    "argv",
    [
        ["SPEC", "-version", "HOTFIX", "--", "Name"],
        ["--", "Name", "-m", "Q3 figures"],
        ["SPEC", "-m", "x", "--", "Name"],
        ["--", "Name", "--dry-run", "SPEC", "--bump", "major"],
    ],
)
def test_nbpublish_takes_options_and_the_spec_in_any_order(argv: list[str]) -> None:
    args, name = parse_nbpublish(argv)
    assert name == "Name"
    assert args.spec == ("SPEC" if "SPEC" in argv else None)
    assert args.message == ("Q3 figures" if "Q3 figures" in argv else "x" if "x" in argv else "")


def _helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Every (sub)command's help text under `parser`, by its prog."""
    found = {parser.prog: parser.format_help()}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _helps(sub)
    return found


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_parsed_alone_has_the_help_it_has_among_all(command: str) -> None:
    """`git nbcollab COMMAND` builds only its own parser, with the help it has when every
    command is built (as for `git nbcollab -h`, or a command that does not exist)."""

    def mine(helps: dict[str, str]) -> dict[str, str]:
        return {p: h for p, h in helps.items() if p.split()[2:3] == [command]}

    alone = _helps(_nbcollab_parser(command))
    assert mine(alone) == mine(_helps(_nbcollab_parser())) != {}
    assert {p.split()[2] for p in alone if len(p.split()) > 2} == {command}
    for other in (None, "-h", "no-such-command"):
        assert len(_helps(_nbcollab_parser(other))) == len(_helps(_nbcollab_parser())), other
