"""A collaboration's bare repo as the hub makes it: its config and its hook shims."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from git_nbcollab.fsutil import atomic_write
from git_nbcollab.notebooks import treemerge

HOOKS = ("pre-receive", "post-receive")

# What `git init --bare` writes (repository format 0: the layout every git reads)
CORE_CONFIG = {
    "core.repositoryformatversion": "0",
    "core.filemode": "true",
    "core.bare": "true",
}
# What every collaboration's config says; users cannot change it (they cannot reach the file).
REPO_CONFIG = {
    "receive.denyNonFastForwards": "true",
    "receive.fsckObjects": "true",
    "core.logAllRefUpdates": "always",
    "gc.auto": "0",
}


def init_bare(path: Path, python: str) -> None:
    """A bare repo with the hub's config and hook shims (the shims run `python`). The files
    `git init --bare --template=` makes, and the config, are written here in one go: no git
    process (restore makes one per collaboration)."""
    path.mkdir(exist_ok=True)
    for folder in ("objects/info", "objects/pack", "refs/heads", "refs/tags"):
        (path / folder).mkdir(parents=True)
    (path / "hooks").mkdir(mode=0o700)
    with open(path / "HEAD", "x") as head:
        head.write("ref: refs/heads/master\n")
    with open(path / "config", "x") as config:
        config.write(config_text({**CORE_CONFIG, **REPO_CONFIG}))
    treemerge.leave_notebooks_to_us(path)
    for name in HOOKS:
        hook = path / "hooks" / name
        hook.write_bytes(_shim(name, python))
        hook.chmod(0o700)


def config_text(values: dict[str, str]) -> str:
    """A git config file setting `values` ("section.key": value, without subsections)."""
    sections: dict[str, list[str]] = {}
    for name, value in values.items():
        section, key = name.split(".")
        sections.setdefault(section, []).append(f"\t{key} = {value}\n")
    return "".join(f"[{section}]\n" + "".join(lines) for section, lines in sections.items())


def _shim(name: str, python: str) -> bytes:
    shim = resources.files("git_nbcollab").joinpath("hooks", name).read_text()
    return shim.replace("@PYTHON@", python).encode()


def refresh(path: Path, python: str, owner: tuple[str, str]) -> bool:
    """Bring a repo that an older version made up to date: its hook shims and how it merges
    notebooks (`init` run again does this, as root: the files stay `owner`'s). True if
    anything changed."""
    wanted = {path / "hooks" / name: (_shim(name, python), 0o700) for name in HOOKS}
    wanted[path / "info" / "attributes"] = (treemerge.ATTRIBUTES.encode(), 0o600)
    changed = False
    for file, (data, mode) in wanted.items():
        if file.is_symlink() or not file.is_file() or file.read_bytes() != data:
            atomic_write(file, data, mode, owner)
            changed = True
    return changed
