"""A throwaway box for integration tests: a hub in a temp folder with its own service account,
teammates that are real unix users, and a private sshd on 127.0.0.1 at a free port."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from git_nbcollab.cli import nbcollab

SSHD = Path("/usr/sbin/sshd")
TEAM = ("alice", "bob", "carol")


def missing_prerequisite() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create unix users"
    for tool in ("useradd", "runuser", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    if not SSHD.exists():
        return "needs openssh-server (/usr/sbin/sshd)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


SSHD_CONFIG = """\
ListenAddress 127.0.0.1:{port}
HostKey {dir}/host_ed25519
PidFile {dir}/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
StrictModes yes
AllowUsers {service}
LogLevel VERBOSE
"""


@dataclass
class Box:
    base: Path
    prefix: str
    port: int = field(default_factory=free_port)
    sshd: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> Path:
        return self.base / "hub"

    @property
    def bin_dir(self) -> Path:
        return self.base / "bin"

    @property
    def service(self) -> str:
        return f"{self.prefix}svc"

    @property
    def team(self) -> str:
        return f"{self.prefix}team"

    def user(self, short: str) -> str:
        """The unix name of a teammate: box.user("alice") -> "nbt1a2balice"."""
        return f"{self.prefix}{short}"

    def home(self, short: str) -> Path:
        return Path("/home") / self.user(short)

    def admin(self, *args: str) -> int:
        """`git nbcollab ARGS --root HUB`, in this process, as root."""
        return nbcollab([*args, "--root", str(self.root)])

    def run(
        self, short: str, *cmd: str, cwd: Path | None = None, input: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as a teammate, with a clean login-like environment."""
        who, home = self.user(short), self.home(short)
        env = [
            f"HOME={home}",
            f"USER={who}",
            f"LOGNAME={who}",
            "LANG=C.UTF-8",
            f"PATH={self.bin_dir}:/usr/local/bin:/usr/bin:/bin",
            f"MANPATH={self.base / 'share' / 'man'}:",
        ]
        return subprocess.run(
            ["runuser", "-u", who, "--", "env", "-i", *env, *cmd],
            cwd=cwd or home / "notebooks",
            input=input and input.decode(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def _start_sshd(self) -> None:
        conf = self.base / "sshd"
        conf.mkdir(mode=0o700)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(conf / "host_ed25519")],
            check=True,
        )
        (conf / "sshd_config").write_text(
            SSHD_CONFIG.format(port=self.port, dir=conf, service=self.service)
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        with open(conf / "sshd.log", "wb") as log:
            self.sshd = subprocess.Popen(
                [str(SSHD), "-f", str(conf / "sshd_config"), "-D", "-e"], stderr=log
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise RuntimeError(f"sshd did not start: {(conf / 'sshd.log').read_text()}")

    def _stop(self) -> None:
        if self.sshd:
            self.sshd.terminate()
            self.sshd.wait(10)
        for short in TEAM:
            pids = subprocess.run(
                ["pgrep", "-u", self.user(short)], capture_output=True, text=True
            ).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGTERM)
            subprocess.run(["userdel", "--remove", self.user(short)], capture_output=True)
        subprocess.run(["userdel", self.service], capture_output=True)
        for group in (self.team, self.service):
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)

    @classmethod
    @contextlib.contextmanager
    def started(cls) -> Iterator[Box]:
        base = Path(tempfile.mkdtemp(prefix="nbcollab-box-"))
        base.chmod(0o755)
        box = cls(base=base, prefix=f"nbt{secrets.token_hex(2)}")
        try:
            box.bin_dir.mkdir(mode=0o755)
            assert (
                nbcollab(
                    [
                        "init",
                        "--root",
                        str(box.root),
                        "--service-user",
                        box.service,
                        "--team-group",
                        box.team,
                        "--ssh",
                        f"127.0.0.1:{box.port}",
                        "--bin-dir",
                        str(box.bin_dir),
                    ]
                )
                == 0
            )
            box._start_sshd()
            for short in TEAM:
                assert box.admin("user", "add", box.user(short)) == 0
            yield box
        finally:
            box._stop()
