"""`git nbcollab user add|list|remove|key add`: teammates, their keys and their workspaces."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from git_nbcollab import audit, proc
from git_nbcollab.box import accounts
from git_nbcollab.box import keys as pubkeys
from git_nbcollab.errors import UserError
from git_nbcollab.fsutil import Undo, undoable
from git_nbcollab.layout import Hub, Settings
from git_nbcollab.names import User, user
from git_nbcollab.output import say, table

BOX_KEY_FILE = ".ssh/nbcollab_ed25519"  # the key pair each teammate gets for use on the box
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


def _store_keys(
    hub: Hub, settings: Settings, who: User, found: dict[str, pubkeys.PublicKey]
) -> None:
    """Store each parsed key under a free name; a key of another teammate is refused."""
    folder = hub.user_keys(who)
    taken = {p.stem for p in folder.glob("*.pub")}
    owners = {pubkeys.read_stored(p).blob: owner for owner, p in pubkeys.stored(hub)}
    for label, key in found.items():
        if owners.get(key.blob, who) != who:
            raise UserError(f"the {label} key is already {owners[key.blob]}'s: a key has one owner")
        if key.blob in owners:
            continue
        base = re.sub(r"[^A-Za-z0-9_-]", "-", label)
        stem, n = base, 1
        while stem in taken:
            stem, n = f"{base}-{n}", n + 1
        taken.add(stem)
        owners[key.blob] = who
        pubkeys.store(folder / f"{stem}.pub", key, settings)


def _key_files(paths: list[Path]) -> dict[str, pubkeys.PublicKey]:
    return {path.stem: pubkeys.parse(pubkeys.read_file(path), str(path)) for path in paths}


def _box_key(who: User) -> pubkeys.PublicKey:
    """The public half of the box key pair, read as its owner."""
    pub = accounts.home(who) / f"{BOX_KEY_FILE}.pub"
    return pubkeys.parse(pubkeys.read_as(who, pub), str(pub))


def _check_home(who: User) -> None:
    """Refuse links (and foreign files) where `user add` works in an existing home."""
    files = (BOX_KEY_FILE, f"{BOX_KEY_FILE}.pub")
    accounts.check_home(who, ("notebooks", ".ssh"), files)
    if (accounts.home(who) / f"{BOX_KEY_FILE}.pub").exists():
        _box_key(who)


def _workspace(hub: Hub, who: User, undo: Undo) -> Path:
    """`~/notebooks` (0700) with `shared` linked to the published tree; the box key pair.
    Root changes nothing in the home through a path: the user's own commands do, or
    `accounts.chmod_own`."""
    _check_home(who)
    home = accounts.home(who)
    notebooks = home / "notebooks"

    def as_them(*cmd: str) -> Callable[[], object]:
        return lambda: accounts.as_user(who, *cmd)

    if not notebooks.exists():
        accounts.as_user(who, "mkdir", "-m", "700", str(notebooks))
        undo.push(as_them("rm", "-rf", str(notebooks)))
    mode = accounts.chmod_own(notebooks, who, 0o700)
    undo.push(lambda: accounts.chmod_own(notebooks, who, mode))
    shared = notebooks / "shared"
    if not shared.is_symlink():
        accounts.as_user(who, "ln", "-s", str(hub.published), str(shared))
        undo.push(as_them("rm", "-f", str(shared)))
    key = home / BOX_KEY_FILE
    if not key.exists():
        if not key.parent.exists():
            accounts.as_user(who, "mkdir", "-m", "700", str(key.parent))
            undo.push(as_them("rmdir", str(key.parent)))
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
        undo.push(as_them("rm", "-f", str(key), f"{key}.pub"))
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
    laptop_keys = _key_files(keys)
    if hub.is_teammate(who):
        raise UserError(f"{who} is already a teammate; add keys with `git nbcollab user key add`")
    if accounts.exists(who):
        _check_home(who)
    team = settings.team_group
    with undoable() as undo:
        if not accounts.exists(who):
            proc.run("useradd", "--create-home", "--shell", "/bin/bash", "--groups", team, who)
            undo.push(lambda: proc.run("userdel", "--remove", who))
        elif not accounts.in_group(who, team):
            proc.run("usermod", "--append", "--groups", team, who)
            undo.push(lambda: proc.run("gpasswd", "--delete", who, team))
        locked = accounts.unlock_for_keys(who)
        if locked is not None:
            undo.push(lambda: proc.run("usermod", "-p", locked, who))
        key = _workspace(hub, who, undo)
        folder = hub.user_keys(who)
        folder.mkdir(mode=0o700)
        shutil.chown(folder, settings.service_user, settings.service_user)

        def forget_keys() -> None:
            shutil.rmtree(folder)
            pubkeys.rewrite(hub, settings)

        undo.push(forget_keys)
        _store_keys(hub, settings, who, {BOX_KEY: _box_key(who), **laptop_keys})
        pubkeys.rewrite(hub, settings)
        _configure_git(settings, who, key)
    audit.write(str(hub.root), "root", f"user add {who}")
    say(
        f"{who} is a teammate: ~{who}/notebooks is theirs alone, ~{who}/notebooks/shared is the"
        f" published tree, and git nbshare/nbcollab reach the hub with their key"
    )
    return 0


def add_keys(*, root: Path, name: str, keys: list[Path]) -> int:
    hub, settings, who = _admin(root, name)
    found = _key_files(keys)
    _teammate(hub, who)
    _store_keys(hub, settings, who, found)
    pubkeys.rewrite(hub, settings)
    audit.write(str(hub.root), "root", f"user key add {who}")
    say(f"{who} can reach the hub with {', '.join(str(k) for k in keys)}")
    return 0


def remove(*, root: Path, name: str) -> int:
    hub, settings, who = _admin(root, name)
    _teammate(hub, who)
    shutil.rmtree(hub.user_keys(who))
    pubkeys.rewrite(hub, settings)
    if accounts.exists(who) and accounts.in_group(who, settings.team_group):
        proc.run("gpasswd", "--delete", who, settings.team_group)
    audit.write(str(hub.root), "root", f"user remove {who}")
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
