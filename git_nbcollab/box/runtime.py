"""Making the commands runnable by every user on the box, whatever Python installed them.

The gate, the hooks and every teammate run the same interpreter. It must be one that all users
can execute and whose packages they can read; a Python under /root is not. When the running
one is not, a venv is built (`init --runtime`) from the system Python and the package installed
there.
"""

from __future__ import annotations

import json
import shutil
import stat
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from git_nbcollab import proc
from git_nbcollab.errors import UserError

SYSTEM_PYTHONS = (Path("/usr/bin/python3"), Path("/usr/local/bin/python3"))


def _runnable_by_all(path: Path) -> bool:
    path = path.resolve()
    if not path.exists() or not path.stat().st_mode & stat.S_IXOTH:
        return False
    return all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)


def _usable(prefix: Path) -> bool:
    """Can an unprivileged user run this environment's Python and import the package?"""
    python = prefix / "bin" / "python"
    if not python.exists():
        return False
    probe = ("runuser", "-u", "nobody", "--", str(python), "-I", "-c", "import git_nbcollab.gate")
    return proc.run(*probe, check=False).returncode == 0


def _source(runtime: Path) -> str:
    """Where this package was installed from (pip records it), to install it again."""
    try:
        record = metadata.distribution("git-nbcollab").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        record = None
    url = json.loads(record)["url"] if record else ""
    if not url.startswith("file://"):
        raise UserError(
            f"cannot tell where git-nbcollab came from: install it for everyone with"
            f" `/usr/bin/python3 -m venv {runtime} && {runtime}/bin/pip install SOURCE`"
        )
    return url.removeprefix("file://")


def shared_prefix(runtime: Path) -> Path:
    """A Python environment with this package that every user can run: the running one if it
    is, else `runtime`, built there from the system Python if need be."""
    current = Path(sys.prefix)
    if _usable(current):
        return current
    if not _usable(runtime):
        system = next((p for p in SYSTEM_PYTHONS if _runnable_by_all(p)), None)
        if system is None:
            raise UserError("no Python that every user can run: install python3 and python3-venv")
        source = _source(runtime)
        try:
            proc.run(str(system), "-m", "venv", str(runtime))
            proc.run(str(runtime / "bin" / "pip"), "install", "--quiet", source)
        except proc.ProcessError as e:
            shutil.rmtree(runtime, ignore_errors=True)
            raise UserError(f"could not install git-nbcollab into {runtime}: {e.message}") from None
    return runtime


def _man_page(command: str, help_text: str) -> str:
    body = help_text.replace("\\", "\\\\").replace("\n.", "\n\\&.").replace("\n'", "\n\\&'")
    return (
        f'.TH {command.upper()} 1 "" git-nbcollab\n.SH NAME\n{command}\n.SH HELP\n.nf\n{body}.fi\n'
    )


def install_commands(prefix: Path, bin_dir: Path, helps: Mapping[str, str]) -> list[str]:
    """Link the commands into `bin_dir` and their man pages (`helps`: command -> --help text)
    beside it; returns what changed."""
    changed = []
    man_dir = bin_dir.parent / "share" / "man" / "man1"
    man_dir.mkdir(parents=True, exist_ok=True)
    for command, help_text in helps.items():
        link, target = bin_dir / command, prefix / "bin" / command
        if not link.is_symlink() or link.readlink() != target:
            link.unlink(missing_ok=True)
            link.symlink_to(target)
            changed.append(str(link))
        page = man_dir / f"{command}.1"
        text = _man_page(command, help_text)
        if not page.exists() or page.read_text() != text:
            page.write_text(text)
            changed.append(str(page))
    return changed
