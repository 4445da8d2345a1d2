"""Git repositories on the hub: pygit2 for objects, the git CLI for refs and setup."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from git_nbcollab import proc
from git_nbcollab.names import ZERO

HOOKS = ("pre-receive", "post-receive")

# What every collaboration's config says; users cannot change it (they cannot reach the file).
REPO_CONFIG = {
    "receive.denyNonFastForwards": "true",
    "receive.fsckObjects": "true",
    "core.logAllRefUpdates": "always",
    "gc.auto": "0",
}


@dataclass(frozen=True)
class RefUpdate:
    ref: str
    new: str
    old: str = ZERO  # ZERO: the ref must not exist yet


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    return proc.out("git", "--git-dir", str(repo), *args, input=input)


def init_bare(path: Path, python: str) -> None:
    """A bare repo with the hub's config and hook shims (the shims run `python`)."""
    proc.run(
        "git", "init", "--quiet", "--bare", "--template=", "--initial-branch=master", str(path)
    )
    for key, value in REPO_CONFIG.items():
        git(path, "config", key, value)
    (path / "hooks").mkdir(mode=0o700)
    for name in HOOKS:
        shim = resources.files("git_nbcollab").joinpath("hooks", name).read_text()
        hook = path / "hooks" / name
        hook.write_text(shim.replace("@PYTHON@", python))
        hook.chmod(0o700)


def commit_file(
    path: Path, filename: str, data: bytes, *, author: tuple[str, str], message: str
) -> str:
    """A root commit holding one file; returns its id. No ref moves."""
    import pygit2

    repo = pygit2.Repository(str(path))
    blob = repo.create_blob(data)
    builder = repo.TreeBuilder()
    builder.insert(filename, blob, pygit2.enums.FileMode.BLOB)
    who = pygit2.Signature(*author)
    return str(repo.create_commit(None, who, who, message, builder.write(), []))


def update_refs(path: Path, updates: Sequence[RefUpdate], reason: str) -> None:
    """Move refs all-or-nothing, each only from the old value given (compare-and-swap)."""
    lines = ["start"]
    lines += [f"update {u.ref} {u.new} {u.old}" for u in updates]
    lines += ["prepare", "commit"]
    git(
        path,
        "update-ref",
        "--create-reflog",
        "-m",
        reason,
        "--stdin",
        input=("\n".join(lines) + "\n").encode(),
    )


def branches(path: Path, prefix: str = "refs/heads/") -> list[str]:
    """Branch names read straight from the ref store (no subprocess: `list` reads thousands)."""
    names: set[str] = set()
    try:
        with open(path / "packed-refs") as packed:
            for line in packed:
                parts = line.split()
                if len(parts) == 2 and parts[1].startswith(prefix):
                    names.add(parts[1])
    except FileNotFoundError:
        pass
    top = path / prefix
    for dirpath, _, files in os.walk(top):
        rel = os.path.relpath(dirpath, path)
        names.update(f"{rel}/{f}" for f in files if not f.endswith(".lock"))
    return sorted(n[len("refs/heads/") :] for n in names)
