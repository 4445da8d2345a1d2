"""Asking for a backup: the one call every hub-side writer makes after it moves refs.

`queue(hub, cid)` leaves a request in the spool and starts the detached uploader, which
bundles and sends. It never waits for the network or for git: the post-receive hook calls it
on every push, so this module imports nothing beyond the standard library's cheapest parts.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from git_nbcollab.layout import Hub

RUNUSER = "/usr/sbin/runuser"  # root hands work to the service account with it
NICE = 10  # the uploader's niceness: it runs behind every push


# Where requests wait, under the hub root. Spelled here, not through hub.Hub and spool.Spool
# (which use these names), because every push imports this module and pathlib costs more.
PENDING = os.path.join("spool", "pending")


def request(root: str, cid: str) -> None:
    """Record that `cid` changed; the uploader bundles it (once, however many requests)."""
    pending = os.path.join(root, PENDING)
    try:
        fd = os.open(os.path.join(pending, cid), os.O_WRONLY | os.O_CREAT, 0o600)
    except FileNotFoundError:
        os.mkdir(pending, 0o700)
        fd = os.open(os.path.join(pending, cid), os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    if os.geteuid() == 0:  # root (an admin's command): the files are the service account's
        owner = os.stat(root).st_uid
        os.chown(pending, owner, -1)
        os.chown(os.path.join(pending, cid), owner, -1)


def uploader_command(root: str, module: str = "git_nbcollab.backup.uploader") -> list[str]:
    """A detached worker (the uploader; the check worker), run as the hub's service account
    (root hands over to it)."""
    command = [sys.executable, "-I", "-m", module, root]
    if os.geteuid() != 0:
        return command
    owner = os.stat(root).st_uid
    import pwd

    name = pwd.getpwuid(owner).pw_name
    env = [f"HOME={root}", f"USER={name}", f"LOGNAME={name}", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
    return [RUNUSER, "-u", name, "--", "env", "-i", *env, *command]


def start_uploader(root: str) -> None:
    """Start the uploader in its own session, detached from our pipes; return at once."""
    detach(uploader_command(root))


def detach(command: list[str]) -> None:
    """Run `command` niced in its own session, detached from our pipes; return at once."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:  # the child forks again and exits, so nobody has to reap the uploader
        os.setsid()
        if os.fork():
            os._exit(0)
        os.nice(NICE)  # bundling and repacking yield the CPU to the pushes people wait for
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.execvp(command[0], command)
    finally:
        os._exit(127)


def queue(hub: Hub, cid: str) -> None:
    """Back up collaboration `cid` as it is now (call after every hub-side ref change)."""
    queue_path(str(hub.root), cid)


def queue_path(root: str, cid: str) -> None:
    request(root, cid)
    start_uploader(root)
