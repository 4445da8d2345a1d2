"""How a teammate's machine reaches the hub: settings from git config, one ssh connection."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from git_nbcollab import proc
from git_nbcollab.errors import UserError

HUB_KEY = "nbcollab.hub"
IDENTITY_KEY = "nbcollab.identity"
# A hub that stops answering (a laptop's network gone, the box frozen) ends the command, and a
# sync waiting behind it, in about 30 s, rather than leaving it hung for good.
ALIVE = ("-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=2")
ID_KEY = "nbcollab.id"


Config = dict[str, str]  # git's settings where a command runs (`read_config`)


def git_config(key: str, cwd: str | None = None) -> str | None:
    found = proc.run("git", "config", "--get", key, cwd=cwd, check=False)
    return found.stdout.decode().strip() or None


def read_config(cwd: str | None = None) -> Config:
    """Every git setting in force in `cwd`, read by one git command (the last value of a key
    wins, as `git config --get` answers)."""
    found = proc.run("git", "config", "--list", "-z", cwd=cwd, check=False)
    pairs = (entry.partition("\n") for entry in proc.zsplit(found.stdout.decode()))
    return {key: value for key, _, value in pairs}


def author(config: Config | None = None) -> tuple[str, str]:
    """Who the user's commits say they are, as git would sign them; every command that commits
    asks this first, so an unset identity stops it before anything is written."""
    get = config.get if config is not None else git_config
    name = os.environ.get("GIT_AUTHOR_NAME") or get("user.name")
    email = os.environ.get("GIT_AUTHOR_EMAIL") or get("user.email")
    if not name or not email:
        raise UserError(
            'git does not know who you are: run `git config --global user.name "Your Name"`'
            " and `git config --global user.email you@example.org`"
        )
    return name, email


class Client(NamedTuple):
    url: str  # ssh://service@host:port
    identity: str | None
    control: str | None = None  # socket of the connection shared for one command's lifetime

    def ssh_args(self, *, shared: bool = True) -> list[str]:
        args = [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            "LogLevel=ERROR",
            *ALIVE,
        ]
        if self.identity:
            args += ["-i", self.identity, "-o", "IdentitiesOnly=yes"]
        if shared and self.control:
            args += [
                "-o",
                "ControlMaster=auto",
                "-o",
                f"ControlPath={self.control}",
                "-o",
                "ControlPersist=60",
            ]
        return args

    def repo_url(self, cid: str) -> str:
        return f"{self.url}/{cid}"

    def git_env(self) -> dict[str, str]:
        """The environment for git to reach the hub over this command's shared connection."""
        return {**os.environ, "GIT_SSH_COMMAND": shlex.join(self.ssh_args())}

    def git(self, *args: str, cwd: str | None = None) -> str:
        """git with its ssh going over this command's shared connection."""
        try:
            return proc.out("git", *args, cwd=cwd, env=self.git_env())
        except proc.ProcessError as e:  # the hub refused, or could not be reached
            raise UserError(f"git {args[0]} from the hub failed: {e.message}") from None

    @contextlib.contextmanager
    def git_started(self, *args: str, cwd: str | None = None) -> Iterator[Callable[[], None]]:
        """`git` started in the background while the block works; call what it yields to wait
        for it (raising as `git` does)."""
        with proc.started("git", *args, cwd=cwd, env=self.git_env()) as finished:

            def done() -> None:
                found = finished()
                if found.returncode != 0:
                    why = proc.reason(found.stderr) or f"git exited {found.returncode}"
                    raise UserError(f"git {args[0]} from the hub failed: {why}")

            yield done

    def call(self, *op: str, input: bytes | None = None) -> dict[str, Any]:
        """Run one of the hub's own operations and return its JSON answer."""
        found = proc.run(
            *self.ssh_args(), self.url, shlex.join(["nbcollab", *op]), input=input, check=False
        )
        if found.returncode != 0:
            raise UserError(proc.reason(found.stderr) or _no_answer(found.returncode))
        answer: dict[str, Any] = json.loads(found.stdout)
        return answer


def _no_answer(code: int) -> str:
    if code == 255:  # ssh's own failure; it says nothing at LogLevel=ERROR when it gave up
        return (
            "the hub stopped answering (no reply for 30 s): check the network, then what the hub"
            " has (`git nbcollab list`), and run this again"
        )
    return f"the hub did not answer (ssh exit {code})"


def configured(config: Config | None = None) -> Client:
    get = config.get if config is not None else git_config
    url = get(HUB_KEY)
    if not url:
        raise UserError(
            f"no hub configured ({HUB_KEY}): ask an admin to run `git nbcollab user add` for you,"
            f" or on a laptop `git config --global {HUB_KEY} ssh://nbcollab@BOX:22`"
        )
    return Client(url, get(IDENTITY_KEY))


@contextlib.contextmanager
def connect(client: Client | None = None) -> Iterator[Client]:
    """The (configured) client, its ssh connection opened once and closed at the end."""
    import tempfile  # not at the top: `list` needs no shared connection

    client = client or configured()
    with tempfile.TemporaryDirectory(prefix="nbcollab-ssh-") as tmp:
        control = str(Path(tmp) / "control")
        shared = client._replace(control=control)
        try:
            yield shared
        finally:  # no master when nothing reached the hub
            if os.path.exists(control) and not _stop_master(control):
                proc.run(*shared.ssh_args(), "-O", "exit", shared.url, check=False)


# ssh's multiplexing protocol (OpenSSH's PROTOCOL.mux): each message is a uint32 length, then
# uint32 words. Both ends say hello (version 4); the client then asks the master to end.
MUX_HELLO, MUX_VERSION, MUX_TERMINATE, MUX_OK = 0x1, 4, 0x10000005, 0x80000001


def _stop_master(control: str) -> bool:
    """End the shared connection as `ssh -O exit` does, without starting ssh for it (10-30 ms
    of a sync): True once the master took the request (it answers OK, or has already gone)."""
    import socket
    import struct

    def send(*words: int) -> None:
        master.sendall(struct.pack(f">{len(words) + 1}I", 4 * len(words), *words))

    def kind() -> int | None:  # of the master's next message; None when it has closed
        size = int.from_bytes(answers.read(4) or b"\0")
        message = answers.read(size)
        return int.from_bytes(message[:4]) if size >= 4 and len(message) == size else None

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as master:
            master.settimeout(10)
            master.connect(control)
            with master.makefile("rb") as answers:
                send(MUX_HELLO, MUX_VERSION)
                if kind() != MUX_HELLO:
                    return False
                send(MUX_TERMINATE, 1)
                return kind() in (MUX_OK, None)
    except OSError:
        return False
