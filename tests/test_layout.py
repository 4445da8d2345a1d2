"""The package's folders show who runs what; imports only go down the layers."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "git_nbcollab"

# Highest first: a module may import its own group and the groups below it, never above.
LAYERS = ("lab", "commands", "client", "hub", "box", "notebooks", "backup", "shared")
TOP = {"cli", "__main__", "gate", "hook"}  # entry points, beside the commands
NOTEBOOKS_MAY_USE = {"names", "errors", "proc"}  # notebook logic needs nothing else of ours


def _group(module: str) -> str:
    """`git_nbcollab.hub.gate` -> "hub"; the shared modules (names, errors, ...) -> "shared"."""
    parts = module.split(".")[1:]
    if not parts or parts[0] in TOP or parts[0] == "commands":
        return "commands"
    return parts[0] if parts[0] in LAYERS else "shared"


def _imports(path: Path) -> set[str]:
    """Every git_nbcollab module `path` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("git_nbcollab")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("git_nbcollab"):
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _module(path: Path) -> str:
    return ".".join(("git_nbcollab", *path.relative_to(PACKAGE).with_suffix("").parts))


def test_imports_only_go_down_the_layers() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = _group(_module(path))
        for target in _imports(path):
            theirs = _group(target)
            if LAYERS.index(theirs) < LAYERS.index(mine):
                upward.append(f"{_module(path)} ({mine}) imports {target} ({theirs})")
    assert not upward, "\n".join(upward)


def test_notebook_logic_needs_only_names_and_errors() -> None:
    for path in sorted((PACKAGE / "notebooks").glob("*.py")):
        for target in _imports(path):
            parts = target.split(".")
            assert parts[1] == "notebooks" or parts[1] in NOTEBOOKS_MAY_USE, (
                f"{_module(path)} imports {target}"
            )


def test_the_layering_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from git_nbcollab.cli import nbcollab\n")
    assert _imports(bad) == {"git_nbcollab.cli.nbcollab"}
    assert _group("git_nbcollab.cli.nbcollab") == "commands"
    assert _group("git_nbcollab.layout.Hub") == "shared"
    assert _group("git_nbcollab.backup") == "backup"
