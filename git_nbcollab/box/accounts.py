"""Unix accounts, groups and ssh keys on the box (run as root)."""

from __future__ import annotations

import grp
import os
import pwd
import re
from pathlib import Path

from git_nbcollab import proc
from git_nbcollab.errors import UserError

LOCKED = {"!", "!!", "!*", ""}  # shadow fields of accounts that have never had a password


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise UserError(f"{what} changes accounts on this box: run it as root (sudo)")


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def home(name: str) -> Path:
    return Path(pwd.getpwnam(name).pw_dir)


def in_group(name: str, group: str) -> bool:
    return (
        name in grp.getgrnam(group).gr_mem
        or pwd.getpwnam(name).pw_gid == grp.getgrnam(group).gr_gid
    )


def unlock_for_keys(name: str) -> None:
    """sshd refuses key logins to never-used (locked) accounts; '*' allows keys, no password."""
    for line in Path("/etc/shadow").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name and fields[1] in LOCKED:
            proc.run("usermod", "-p", "*", name)


def as_user(name: str, *cmd: str, check: bool = True) -> str:
    """Run a command as `name` in their home, so what it writes is theirs; returns stdout.

    The environment is theirs too, not the caller's: no GIT_* or other settings leak in.
    """
    where = str(home(name))
    env = [f"HOME={where}", f"USER={name}", f"LOGNAME={name}", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
    found = proc.run("runuser", "-u", name, "--", "env", "-i", *env, *cmd, cwd=where, check=check)
    return found.stdout.decode()


def public_key(path: Path) -> str:
    """The one public key line in `path`; private keys are refused unread."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read key {path}: {getattr(e, 'strerror', None) or e}") from None
    if "PRIVATE KEY" in text:
        raise UserError(
            f"{path} is a private key: give the .pub file; private keys stay with their owner"
        )
    lines = [line for line in text.splitlines() if line.strip()]
    checked = proc.run("ssh-keygen", "-l", "-f", str(path), check=False)
    if len(lines) != 1 or checked.returncode != 0 or not re.match(r"(ssh|ecdsa|sk)-", lines[0]):
        raise UserError(
            f"{path} is not an ssh public key (expected one line such as ssh-ed25519"
            " AAAA... you@laptop)"
        )
    return lines[0].strip()
