"""The published ("blessed") tree: `published/<Name>/vX.Y.Z/` and a `latest` link per name.

Each version folder holds `<Name>_FINAL.ipynb` and `metadata.json`, read-only, readable by the
team. A published copy is a pure function of its tag (the notebook at the tag's commit, the
metadata in the tag's message), so a copy that a crash left unwritten can always be rebuilt.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from git_nbcollab import proc, repo
from git_nbcollab.errors import UserError
from git_nbcollab.layout import Hub
from git_nbcollab.names import final_file, shown, tag_version, version_tag

METADATA = "metadata.json"
CHECKS = "checks.json"  # what the checks of the version found (hub/checking.py)
EXECUTED = "executed.ipynb"  # the notebook as the checks ran it
LATEST = "latest"
INCOMING = ".incoming-"


def folder(hub: Hub, name: str) -> Path:
    return hub.published / name


def versions(hub: Hub, name: str) -> list[str]:
    """Published versions of `name`, oldest first."""
    import semver

    try:
        found = [p.name[1:] for p in folder(hub, name).iterdir() if p.name.startswith("v")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted((v for v in found if semver.Version.is_valid(v)), key=semver.Version.parse)


def metadata(hub: Hub, name: str, version: str) -> dict[str, Any]:
    """A version's metadata.json. A folder without a readable one (copied in by hand, damaged)
    is answered as incomplete, with `incomplete` saying why, rather than failing a listing."""
    where = folder(hub, name) / f"v{version}" / METADATA
    try:
        data = json.loads(where.read_text())
        if isinstance(data, dict) and data.get("version") == version:
            return data
        why = f"its {METADATA} is not this version's"
    except FileNotFoundError:
        why = f"no {METADATA}"
    except (OSError, ValueError) as e:
        why = f"{METADATA} unreadable ({e.__class__.__name__})"
    return {"name": name, "version": version, "shown": shown(name, version), "incomplete": why}


def owner(hub: Hub, name: str) -> str | None:
    """The collaboration that published `name` (None if nothing is published under it); the
    first version whose metadata says so."""
    found = versions(hub, name)
    for version in found:
        if "collab" in (meta := metadata(hub, name, version)):
            return str(meta["collab"])
    if found:
        raise UserError(
            f"{name}'s published versions all lack {METADATA} ({folder(hub, name)}):"
            " ask the admin to check that folder"
        )
    return None


def checked(hub: Hub, name: str, version: str) -> dict[str, Any] | None:
    """The version's checks.json, or None when its checks have not finished."""
    try:
        data: dict[str, Any] = json.loads((folder(hub, name) / f"v{version}" / CHECKS).read_bytes())
    except FileNotFoundError:
        return None
    return data


def check_owner(hub: Hub, name: str, collab_id: str) -> None:
    """A name is published from one collaboration only: the one that published it first."""
    if (found := owner(hub, name)) not in (None, collab_id):
        raise UserError(
            f"{name} is published from another collaboration ({found}): choose another name"
        )


def tag_message(meta: dict[str, Any]) -> str:
    return f"Publish {meta['shown']}\n\n{json.dumps(meta, indent=1, sort_keys=True)}\n"


def _tag_metadata(path: Path, ref: str) -> dict[str, Any]:
    body = repo.git(path, "cat-file", "tag", ref).split("\n\n", 2)[2]
    data: dict[str, Any] = json.loads(body)
    return data


def update_latest(hub: Hub, name: str) -> bool:
    """Point `latest` at the newest version (with required checks, the newest that passed
    them); True if it had to move."""
    found = versions(hub, name)
    if hub.settings.required_checks:
        found = [v for v in found if (checked(hub, name, v) or {}).get("state") == "passed"]
    if not found:
        return False
    link, newest = folder(hub, name) / LATEST, f"v{found[-1]}"
    if link.is_symlink() and os.readlink(link) == newest:
        return False
    tmp = link.with_name(f"{INCOMING}{LATEST}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(newest)
    os.replace(tmp, link)
    return True


def write_copy(hub: Hub, path: Path, name: str, version: str) -> bool:
    """Write the published copy of a tagged version if it is missing; True if it was."""
    target = folder(hub, name) / f"v{version}"
    if target.exists():
        return False
    ref = version_tag(name, version)
    meta = _tag_metadata(path, ref)
    if not folder(hub, name).exists():
        folder(hub, name).mkdir()
        folder(hub, name).chmod(0o2750)  # the gate's umask is 077; the team reads this tree
    staging = Path(tempfile.mkdtemp(prefix=INCOMING, dir=folder(hub, name)))
    try:
        blob = f"{ref}^{{commit}}:{final_file(name)}"  # streamed by git, never held here
        git = ("git", "--git-dir", str(path), *proc.GIT_ONE_BLOB, "cat-file", "blob", blob)
        proc.to_file(*git, path=staging / final_file(name))
        (staging / METADATA).write_text(json.dumps(meta, indent=1))
        for filename in (final_file(name), METADATA):
            (staging / filename).chmod(0o440)
        staging.chmod(0o2750)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    update_latest(hub, name)
    return True


def repair(hub: Hub, path: Path, name: str) -> list[str]:
    """Finish what an interrupted publish left: clear half-written folders, write missing
    copies of tagged versions, point `latest` at the newest. Returns the versions finished."""
    repo.clear_quarantines(path)
    for stale in folder(hub, name).glob(f"{INCOMING}*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    done = [shown(name, v) for v in tagged(path, name) if write_copy(hub, path, name, v)]
    if not done and versions(hub, name) and update_latest(hub, name):
        done.append(shown(name, versions(hub, name)[-1]))
    return done


def tagged(path: Path, name: str) -> list[str]:
    """The versions of `name` tagged in a collaboration's repo, oldest first."""
    import semver

    tags = repo.git(path, "for-each-ref", "--format=%(refname)", f"refs/tags/{name}/").split()
    return sorted((v for ref in tags if (v := tag_version(ref, name))), key=semver.Version.parse)


def names_of(hub: Hub, collab_id: str) -> list[str]:
    """The notebook names a collaboration has published."""
    found = []
    for entry in hub.published.iterdir():
        if entry.is_dir():
            with contextlib.suppress(UserError):  # nobody's versions: not this collaboration's
                if owner(hub, entry.name) == collab_id:
                    found.append(entry.name)
    return sorted(found)
