"""`git nbcollab user add|list|remove|key add`: teammates, their keys and their workspaces."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from git_nbcollab import proc
from git_nbcollab.box import accounts
from git_nbcollab.errors import UserError
from git_nbcollab.fsutil import Undo, atomic_write, undoable
from git_nbcollab.layout import Hub, Settings
from git_nbcollab.names import User, user
from git_nbcollab.output import say, table

KEY_NAME = "nbcollab_ed25519"  # the key pair each teammate gets for use on the box
BOX_KEY = "box"


def _hub(root: Path) -> tuple[Hub, Settings]:
    accounts.require_root("git nbcollab user")
    hub = Hub(root)
    return hub, hub.settings


def _admin(root: Path, name: str) -> tuple[Hub, Settings, User]:
    hub, settings = _hub(root)
    return hub, settings, user(name)


def _teammate(hub: Hub, who: User) -> None:
    if not hub.is_teammate(who):
        raise UserError(f"no teammate named {who} (see `git nbcollab user list`)")


def write_authorized_keys(hub: Hub, settings: Settings) -> None:
    """Every teammate's keys, each forced through the gate under its owner's name."""
    lines = []
    for who in hub.teammates():
        gate = f"{settings.python} -I -m git_nbcollab.gate {hub.root} {who}"
        for key in sorted(hub.user_keys(who).glob("*.pub")):
            lines.append(f'command="{gate}",restrict {key.read_text().strip()}\n')
    owner = (settings.service_user, settings.service_user)
    atomic_write(hub.authorized_keys, "".join(lines).encode(), 0o600, owner)


def _store_keys(hub: Hub, settings: Settings, who: User, keys: dict[str, str]) -> None:
    folder = hub.user_keys(who)
    taken = {p.stem for p in folder.glob("*.pub")}
    present = {p.read_text().split()[1] for p in folder.glob("*.pub")}
    for label, line in keys.items():
        if line.split()[1] in present:
            continue
        base = re.sub(r"[^A-Za-z0-9_-]", "-", label)
        stem, n = base, 1
        while stem in taken:
            stem, n = f"{base}-{n}", n + 1
        taken.add(stem)
        atomic_write(
            folder / f"{stem}.pub",
            f"{line}\n".encode(),
            0o600,
            (settings.service_user, settings.service_user),
        )


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _workspace(hub: Hub, who: User, undo: Undo) -> Path:
    """`~/notebooks` (0700) with `shared` linked to the published tree; the box key pair."""
    home = accounts.home(who)
    notebooks = home / "notebooks"
    if not notebooks.exists():
        accounts.as_user(who, "mkdir", "-m", "700", str(notebooks))
        undo.push(lambda: shutil.rmtree(notebooks))
    notebooks.chmod(0o700)
    shared = notebooks / "shared"
    if not shared.is_symlink():
        accounts.as_user(who, "ln", "-s", str(hub.published), str(shared))
    key = home / ".ssh" / KEY_NAME
    if not key.exists():
        accounts.as_user(who, "mkdir", "-p", "-m", "700", str(key.parent))
        accounts.as_user(
            who,
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            f"{who}@nbcollab",
            "-f",
            str(key),
        )
        undo.push(lambda: _remove(key, Path(f"{key}.pub")))
    return key


def _configure_git(settings: Settings, who: User, key: Path) -> None:
    def config(*args: str) -> str:
        return accounts.as_user(who, "git", "config", "--global", *args)

    config("nbcollab.hub", settings.url)
    config("nbcollab.identity", str(key))
    host = settings.ssh.split(":")[0]
    for field, value in (("user.name", who), ("user.email", f"{who}@{host}")):
        if not accounts.as_user(who, "git", "config", "--global", field, check=False).strip():
            config(field, value)


def add(*, root: Path, name: str, keys: list[Path]) -> int:
    hub, settings, who = _admin(root, name)
    laptop_keys = {path.stem: accounts.public_key(path) for path in keys}
    if hub.is_teammate(who):
        raise UserError(f"{who} is already a teammate; add keys with `git nbcollab user key add`")
    team = settings.team_group
    with undoable() as undo:
        if not accounts.exists(who):
            proc.run("useradd", "--create-home", "--shell", "/bin/bash", "--groups", team, who)
            undo.push(lambda: proc.run("userdel", "--remove", who))
        elif not accounts.in_group(who, team):
            proc.run("usermod", "--append", "--groups", team, who)
            undo.push(lambda: proc.run("gpasswd", "--delete", who, team))
        accounts.unlock_for_keys(who)
        key = _workspace(hub, who, undo)
        folder = hub.user_keys(who)
        folder.mkdir(mode=0o700)
        shutil.chown(folder, settings.service_user, settings.service_user)

        def forget_keys() -> None:
            shutil.rmtree(folder)
            write_authorized_keys(hub, settings)

        undo.push(forget_keys)
        box_key = Path(f"{key}.pub").read_text().strip()
        _store_keys(hub, settings, who, {BOX_KEY: box_key, **laptop_keys})
        write_authorized_keys(hub, settings)
        _configure_git(settings, who, key)
    say(
        f"{who} is a teammate: ~{who}/notebooks is theirs alone, ~{who}/notebooks/shared is the"
        f" published tree, and git nbshare/nbcollab reach the hub with their key"
    )
    return 0


def add_keys(*, root: Path, name: str, keys: list[Path]) -> int:
    hub, settings, who = _admin(root, name)
    lines = {path.stem: accounts.public_key(path) for path in keys}
    _teammate(hub, who)
    _store_keys(hub, settings, who, lines)
    write_authorized_keys(hub, settings)
    say(f"{who} can reach the hub with {', '.join(str(k) for k in keys)}")
    return 0


def remove(*, root: Path, name: str) -> int:
    hub, settings, who = _admin(root, name)
    _teammate(hub, who)
    shutil.rmtree(hub.user_keys(who))
    write_authorized_keys(hub, settings)
    if accounts.exists(who) and accounts.in_group(who, settings.team_group):
        proc.run("gpasswd", "--delete", who, settings.team_group)
    say(f"{who} can no longer reach the hub; their notebooks and branches are kept")
    return 0


def list_users(*, root: Path) -> int:
    hub, _ = _hub(root)
    rows = []
    for who in hub.teammates():
        keys = sorted(p.stem for p in hub.user_keys(who).glob("*.pub"))
        account = "yes" if accounts.exists(who) else "missing"
        rows.append((who, ", ".join(keys), account))
    table(("teammate", "keys", "unix account"), rows, empty="no teammates yet")
    return 0
