"""The account notebooks run as when the hub checks a published version (made by `init`, as root).

The runner is an unprivileged system account outside the team group, so it cannot enter the hub
(0750, service account and team), a teammate's home (0700), the spool or the backup credentials,
let alone write the published tree. The service account reaches it the way teammates reach the
gate: over the box's sshd, with a key of its own forced to one command
(`python -m git_nbcollab.hub.runner`), so handing a notebook over never needs root. Its home and
`authorized_keys` are root's: code run as the runner cannot open another way in.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from git_nbcollab import proc
from git_nbcollab.box import accounts, keys
from git_nbcollab.errors import UserError
from git_nbcollab.fsutil import Undo
from git_nbcollab.layout import Hub, Settings


def command(settings: Settings) -> str:
    """The runner's forced command: it reads one version's files and answers with the report."""
    return f"{settings.python} -I -m git_nbcollab.hub.runner"


def default_name(service_user: str) -> str:
    """`nbcollab-run` for the service account `nbcollab`."""
    return f"{service_user[:28]}-run"


def _home(hub: Hub, settings: Settings) -> Path:
    """The runner's home: a folder of root's (made here when the account is new). An account
    that exists already is used only if it is no teammate's, and its home is root's or absent."""
    name = settings.runner_user
    if not accounts.exists(name):
        return hub.runner_home
    home = accounts.home(name)
    teammate = accounts.in_group(name, settings.team_group)
    try:
        st = home.lstat()
        roots = stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022
    except FileNotFoundError:
        roots = True
    if name in (settings.service_user, "root") or teammate or not roots:
        raise UserError(
            f"--runner-user {name} is an account of its own (a teammate, the service, or a home"
            " not root's): name a new one for running notebooks, init makes it"
        )
    return home


def make(hub: Hub, settings: Settings, undo: Undo) -> None:
    """The runner account, its home (root's), and the service account's key to reach it."""
    name, home = settings.runner_user, _home(hub, settings)
    if not accounts.exists(name):
        options = ["--home-dir", str(home), "--no-create-home", "--shell", "/bin/sh"]
        try:
            proc.run("useradd", "--system", "--user-group", *options, name)
        except proc.ProcessError as e:
            raise UserError(f"useradd failed ({e.message}); nothing was changed") from None
        undo.push(lambda: proc.run("userdel", name))
    accounts.unlock_for_keys(name)  # sshd refuses key logins to a locked account
    if not home.is_dir():
        home.mkdir(mode=0o755)
        undo.push(lambda: shutil.rmtree(home, ignore_errors=True))
    for folder in (home, home / ".ssh"):
        folder.mkdir(mode=0o755, exist_ok=True)
        os.chown(folder, 0, 0)
        folder.chmod(0o755)
    authorize(hub, settings, home / ".ssh" / "authorized_keys")


def authorize(hub: Hub, settings: Settings, authorized: Path) -> None:
    """Make the service account's key, and add it to the runner's forced lines (keeping those
    of other hubs on this box that share the runner)."""
    key, svc = hub.runner_key, settings.service_user
    if not key.exists():
        proc.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nbcollab-runner",
                 "-f", str(key))  # fmt: skip
        for path, mode in ((key, 0o600), (key.with_suffix(".pub"), 0o644)):
            shutil.chown(path, svc, svc)
            path.chmod(mode)
    ours = keys.parse(keys.read_file(key.with_suffix(".pub")), str(key))
    found = authorized.read_text().splitlines() if authorized.is_file() else []
    others = [line.partition(",restrict ")[2] for line in found]
    kept = [k for k in others if k and keys.parse(k, str(authorized)).blob != ours.blob]
    entries = [(command(settings), k) for k in (*kept, str(ours))]
    # root's file, readable by the runner (sshd reads it as the runner): it cannot add keys
    keys.write(authorized, entries, ("root", "root"), mode=0o644)
