"""Unix accounts, groups and ssh keys on the box (run as root)."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Sequence
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


def unlock_for_keys(name: str) -> str | None:
    """sshd refuses key logins to never-used (locked) accounts; '*' allows keys, no password.
    Returns the password field it replaced (for `usermod -p` to put back), if it did."""
    for line in Path("/etc/shadow").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name and fields[1] in LOCKED:
            proc.run("usermod", "-p", "*", name)
            return fields[1]
    return None


def as_user(name: str, *cmd: str, check: bool = True) -> str:
    """Run a command as `name` in their home, so what it writes is theirs; returns stdout.

    The environment is theirs too, not the caller's: no GIT_* or other settings leak in.
    """
    where = str(home(name))
    env = [f"HOME={where}", f"USER={name}", f"LOGNAME={name}", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
    found = proc.run("runuser", "-u", name, "--", "env", "-i", *env, *cmd, cwd=where, check=check)
    return found.stdout.decode(errors="replace")


def check_home(name: str, folders: Sequence[str], files: Sequence[str]) -> None:
    """Refuse, before anything changes, a home where root would meet a link: the home, and
    each of `folders` and `files` (relative to it) that exists, must be a plain folder or
    file of `name`. (Root then still acts only through `chmod_own` and `as_user`.)"""
    uid, where = pwd.getpwnam(name).pw_uid, home(name)
    kinds = [(where, stat.S_ISDIR, "folder")]
    kinds += [(where / f, stat.S_ISDIR, "folder") for f in folders]
    kinds += [(where / f, stat.S_ISREG, "file") for f in files]
    for path, right_kind, kind in kinds:
        try:
            st = path.lstat()
        except FileNotFoundError:
            if path == where:
                raise UserError(f"{name}'s home {where} does not exist") from None
            continue
        if stat.S_ISLNK(st.st_mode):
            raise UserError(
                f"{path} is a symlink: nothing was changed; make it a plain {kind} of {name}"
                " (or remove it) and run `user add` again"
            )
        if not right_kind(st.st_mode) or st.st_uid != uid:
            raise UserError(f"{path} must be a {kind} owned by {name}: nothing was changed")


def chmod_own(path: Path, name: str, mode: int) -> int:
    """chmod a folder of user `name`, never through a link; returns its mode before."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as e:
        raise UserError(f"{path} must be a folder of {name}, not a link: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if st.st_uid != pwd.getpwnam(name).pw_uid:
            raise UserError(f"{path} must be a folder owned by {name}")
        os.fchmod(fd, mode)
        return stat.S_IMODE(st.st_mode)
    finally:
        os.close(fd)
