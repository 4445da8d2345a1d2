"""Files JupyterLab shows that are not the teammate's own: published copies (is a newer
version out?) and links into another teammate's private folder (whose is it?)."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path
from typing import Any

from git_nbcollab.errors import UserError
from git_nbcollab.hub.published import LATEST, METADATA
from git_nbcollab.names import final_file


def published(path: Path) -> dict[str, Any]:
    """For a file in a published version's folder (`<Name>/vX.Y.Z/`): its name and version,
    the newest version (the `latest` link beside it) and whether it is older."""
    import json

    version_dir = path.resolve().parent
    meta_file = version_dir / METADATA
    if not version_dir.name.startswith("v") or not meta_file.is_file():
        raise UserError(f"{path.name} is not a published copy (those are under shared/)")
    meta = json.loads(meta_file.read_text())
    name, version = meta["name"], meta["version"]
    latest_link = version_dir.parent / LATEST
    latest = os.readlink(latest_link).removeprefix("v") if latest_link.is_symlink() else version
    return {
        "name": name,
        "version": version,
        "shown": meta.get("shown", f"{name}:v{version}"),
        "latest": latest,
        "stale": latest != version,
        "latest_path": str(path.parent.parent / f"v{latest}" / final_file(name)),
    }


def _target(path: Path) -> Path:
    """Where `path` leads, following its links by reading them (never opening through them)."""
    seen = 0
    while os.path.islink(path) and seen < 40:  # False where we may not look (not an error)
        path = Path(os.path.normpath(path.parent / os.readlink(path)))
        seen += 1
    return path


def _blocker(target: Path) -> os.stat_result | None:
    """The deepest folder on the way to `target` that this user may see but not enter."""
    for folder in [*reversed(target.parents)]:
        try:
            st = os.lstat(folder)
        except PermissionError:
            return None
        except FileNotFoundError:
            return None
        if stat.S_ISDIR(st.st_mode) and not os.access(folder, os.X_OK):
            return st
    return None


def whose(path: Path, me: str) -> dict[str, Any]:
    """Why this user cannot open `path`, in one line: whose folder it is in, and the way in."""
    if os.access(path, os.R_OK):
        raise UserError(f"{path.name} can be read: open it again")
    target = _target(path)
    st = _blocker(target)
    if st is None:
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            raise UserError(f"{path.name} leads to {target}, which does not exist") from None
        except PermissionError:
            raise UserError(f"cannot read {path.name}: permission denied") from None
    owner = _user_name(st.st_uid)
    if owner == me:
        raise UserError(f"cannot read {path.name}: it is yours but not readable (chmod u+r)")
    name = target.name
    where = f"in {owner}'s private folder" if stat.S_ISDIR(st.st_mode) else f"{owner}'s, private"
    return {
        "message": f"{name} is {where}: ask {owner} to share it (git nbshare {me} {name})",
        "owner": owner,
    }


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
