"""A throwaway box for integration tests: a hub in a temp folder with its own service account,
teammates that are real unix users, and a private sshd on 127.0.0.1 at a free port."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from git_nbcollab.cli import nbcollab
from git_nbcollab.client.link import Client

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
AllowUsers {prefix}*
LogLevel VERBOSE
"""


@dataclass
class Box:
    base: Path
    prefix: str
    port: int = field(default_factory=free_port)
    sshd: subprocess.Popen[bytes] | None = None
    mounted: bool = False  # the hub is a small tmpfs of its own (to fill its disk)

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
    def runner(self) -> str:
        """The account published notebooks are checked as."""
        return f"{self.service}-run"  # init's default for this service account

    @property
    def team(self) -> str:
        return f"{self.prefix}team"

    def user(self, short: str) -> str:
        """The unix name of a teammate: box.user("alice") -> "nbt1a2balice"."""
        return f"{self.prefix}{short}"

    def home(self, short: str) -> Path:
        return Path("/home") / self.user(short)

    def init_options(self) -> list[str]:
        """The options this box's hub was set up with."""
        return [
            "--service-user",
            self.service,
            "--team-group",
            self.team,
            "--ssh",
            f"127.0.0.1:{self.port}",
        ]

    def hub_git(self, cid: str, *args: str) -> str:
        """git in a collaboration's bare repo on the hub, as root; returns stdout."""
        repo = self.root / "collabs" / f"{cid}.git"
        done = subprocess.run(
            ["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def admin(self, *args: str) -> int:
        """`git nbcollab ARGS --root HUB`, in this process, as root."""
        return nbcollab([*args, "--root", str(self.root)])

    def run(
        self, short: str, *cmd: str, cwd: Path | None = None, input: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as a teammate (by short name), by default in their ~/notebooks."""
        return self.run_as(
            self.user(short), *cmd, cwd=cwd or self.home(short) / "notebooks", input=input
        )

    def run_as(
        self, who: str, *cmd: str, cwd: Path | None = None, input: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as a unix user, with a clean login-like environment."""
        return subprocess.run(
            self._as(who, cmd),
            cwd=cwd or "/",
            input=input and input.decode(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def popen_as(self, who: str, *cmd: str) -> subprocess.Popen[str]:
        """`run_as`, started in the background in a session of its own (stdout and stderr
        piped): stop it with everything it started by `os.killpg` of its pid."""
        pipe = subprocess.PIPE
        return subprocess.Popen(
            self._as(who, cmd), cwd="/", stdout=pipe, stderr=pipe, text=True, start_new_session=True
        )

    def _as(self, who: str, cmd: Sequence[str]) -> list[str]:
        env = [
            f"HOME=/home/{who}",
            f"USER={who}",
            f"LOGNAME={who}",
            "LANG=C.UTF-8",
            f"PATH={self.bin_dir}:/usr/local/bin:/usr/bin:/bin",
            f"MANPATH={self.base / 'share' / 'man'}:",
        ]
        return ["runuser", "-u", who, "--", "env", "-i", *env, *cmd]

    def url(self, cid: str) -> str:
        return f"ssh://{self.service}@127.0.0.1:{self.port}/{cid}"

    def ssh(self, short: str) -> list[str]:
        """ssh as a teammate with their box key, the way git and the tool use it."""
        key = self.home(short) / ".ssh" / "nbcollab_ed25519"
        return Client(self.url(""), str(key)).ssh_args(shared=False)

    def git(
        self, short: str, *args: str, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Plain git as a teammate, reaching the hub with their own key."""
        return self.run(
            short, "env", f"GIT_SSH_COMMAND={' '.join(self.ssh(short))}", "git", *args, cwd=cwd
        )

    def put(self, short: str, source: Path | bytes, name: str) -> Path:
        """Give a teammate a file in their ~/notebooks, owned by them."""
        path = self.home(short) / "notebooks" / name
        path.write_bytes(source if isinstance(source, bytes) else source.read_bytes())
        shutil.chown(path, self.user(short), self.user(short))
        return path

    def share(self, short: str, others: list[str], notebook: str, *extra: str) -> str:
        """`git nbshare` as a teammate; returns the new collaboration's id."""
        self.put(short, FIXTURES / "notebooks" / "sales.ipynb", notebook)
        names = ",".join(self.user(o) for o in others)
        done = self.run(short, "git", "nbshare", names, notebook, *extra)
        assert done.returncode == 0, done.stderr
        return done.stdout.split("(id ")[1].split(")")[0]

    def refs(self, cid: str) -> dict[str, str]:
        """Every ref of a collaboration on the hub, read as root."""
        return self.refs_at(self.root / "collabs" / f"{cid}.git")

    @staticmethod
    def refs_at(git_dir: Path) -> dict[str, str]:
        listing = subprocess.run(
            [
                "git",
                "--git-dir",
                str(git_dir),
                "for-each-ref",
                "--format=%(refname) %(objectname)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return dict(line.split() for line in listing.splitlines())

    def backups_idle(self, timeout: float = 60) -> None:
        """Wait until the detached uploader has bundled and sent everything (it changes the
        spool on its own time; a snapshot must not race it)."""
        spool = self.root / "spool"
        deadline = time.monotonic() + timeout
        hooks = ["pgrep", "-u", self.service, "-f", "git_nbcollab.hook post-receive"]
        busy: list[Path] = []
        while time.monotonic() < deadline:
            if subprocess.run(hooks, capture_output=True).returncode == 0:
                time.sleep(0.05)  # a post-receive hook (it runs in the background) is queueing
                continue
            busy = [
                p
                for d in ("pending", "queue", "checks/queued", "checks/running")
                if (spool / d).is_dir()
                for p in (spool / d).iterdir()
            ]
            if not busy and not (spool / ".uploader.lock").exists():
                return  # no uploader ever ran (and root must not make its lock file)
            if not busy:
                with open(spool / ".uploader.lock", "r+") as lock:
                    try:
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        return
                    except BlockingIOError:
                        pass
            time.sleep(0.05)
        status = spool / "status.json"
        said = status.read_text() if status.exists() else "no status"
        raise AssertionError(f"backups still busy after {timeout}s: {busy}; {said}")

    def snapshot(self) -> dict[str, str]:
        """Everything on disk that the tool may change: the hub tree, homes, accounts."""
        self.backups_idle()
        state = {}
        tops = [self.root, self.bin_dir, *(self.home(s) for s in TEAM)]
        for top in tops:
            for path in sorted(top.rglob("*")):
                if path.name.startswith("known_hosts"):  # ssh's own cache of host keys
                    continue
                if self.root / "audit" in (path, path.parent):
                    continue  # the audit log records refusals too (tests/commands/test_log.py)
                st = path.lstat()
                digest = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
                state[str(path)] = f"{st.st_mode:o} {st.st_uid} {hash(digest)}"
        for account_file in ("/etc/passwd", "/etc/group", "/etc/shadow"):
            lines = Path(account_file).read_text().splitlines()
            state[account_file] = "\n".join(line for line in lines if self.prefix in line)
        return state

    def changes(self, before: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
        """What changed on disk since `before` (a snapshot): path -> (before, after)."""
        after = self.snapshot()
        return {
            path: (before.get(path), after.get(path))
            for path in sorted(set(before) | set(after))
            if before.get(path) != after.get(path)
        }

    def _start_sshd(self) -> None:
        conf = self.base / "sshd"
        conf.mkdir(mode=0o700)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(conf / "host_ed25519")],
            check=True,
        )
        (conf / "sshd_config").write_text(
            SSHD_CONFIG.format(port=self.port, dir=conf, prefix=self.prefix)
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
        for who in (*(self.user(s) for s in TEAM), self.service, self.runner):
            pids = subprocess.run(
                ["pgrep", "-u", who], capture_output=True, text=True
            ).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGTERM)
        for short in TEAM:
            subprocess.run(["userdel", "--remove", self.user(short)], capture_output=True)
        subprocess.run(["userdel", self.service], capture_output=True)
        subprocess.run(["userdel", self.runner], capture_output=True)
        if self.mounted:
            subprocess.run(["umount", "--lazy", str(self.root)], capture_output=True)
        for group in (self.team, self.service, self.runner):
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)

    @classmethod
    @contextlib.contextmanager
    def started(
        cls, *init_args: str, keep: bool = False, hub_size: str | None = None, checks: bool = False
    ) -> Iterator[Box]:
        """A box whose hub was made with `git nbcollab init ... INIT_ARGS`; removed afterwards
        (with `keep`, after Enter is pressed). With `hub_size` (`32m`) the hub is a tmpfs of
        that size, so a test can fill its disk. Published versions are checked only with
        `checks` (tests/hub/test_checking.py): elsewhere each publish would run a notebook in
        the background, on the CPU the suite shares."""
        base = Path(tempfile.mkdtemp(prefix="nbcollab-box-"))
        base.chmod(0o755)
        box = cls(base=base, prefix=f"nbt{secrets.token_hex(2)}")
        try:
            if hub_size:
                box.root.mkdir()
                mount = ["mount", "-t", "tmpfs", "-o", f"size={hub_size}", "tmpfs", str(box.root)]
                subprocess.run(mount, check=True)
                box.mounted = True
            box.bin_dir.mkdir(mode=0o755)
            init = ["init", *box.init_options(), "--bin-dir", str(box.bin_dir), *init_args]
            init += [] if checks else ["--checks", "none"]
            assert box.admin(*init) == 0
            box._start_sshd()
            for short in TEAM:
                assert box.admin("user", "add", box.user(short)) == 0
            yield box
        finally:
            if keep:
                input(f"everything is kept under {box.base}; press Enter to remove it all ")
            box._stop()


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def edit_cell(path: Path, index: int, source: str) -> None:
    """Change one cell's source in a notebook file, as Jupyter would save it."""
    from git_nbcollab.notebooks import notebook

    nb = notebook.read(path.read_bytes(), str(path))
    nb.cells[index].source = source
    owner = path.stat()
    path.write_bytes(notebook.dumps(nb))
    os.chown(path, owner.st_uid, owner.st_gid)
