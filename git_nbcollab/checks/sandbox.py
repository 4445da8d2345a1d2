"""Where a notebook's code runs: a throwaway copy of its folder, as an unprivileged account,
inside limits, with the network closed where the box allows it.

As root with a runner account, every command runs as
`unshare --net --pid --fork --kill-child --mount --mount-proc -- sh -c PRIVATE_TMP ...
prlimit ... -- setpriv --reuid RUNNER ... -- env -i ... CMD`: a network namespace with no
interface up (not even loopback), a PID namespace whose processes all die with it (a killed
run leaves nothing behind), private small /tmp, /var/tmp and /dev/shm, limits on CPU time,
address space, processes and file size, then the runner's own uid and gid with no groups, no
capabilities and no_new_privs. Not as root, the command runs as the current user inside the
same limits, with the network closed (and the PID namespace) only where unprivileged user
namespaces are allowed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from git_nbcollab.checks import copying
from git_nbcollab.checks.report import Limits
from git_nbcollab.errors import UserError

RESULT_FD = "NBCOLLAB_RESULT_FD"  # names the descriptor execute.py writes its result to
STARTED = "nbcollab-check: cell "  # + the 1-based index: execute.py's stderr, cell by cell
NPROC = 256  # processes and threads of the runner account, box-wide
GRACE_S = 5  # after the time limit, for the child to report which cell was running
_NAMESPACES = ["--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"]


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Sandbox:
    base: Path  # root-owned temp folder holding work/ and home/
    account: Account | None  # None: the current user
    limits: Limits
    unshare: tuple[str, ...]  # the namespace wrapper, empty when the box allows none

    @property
    def work(self) -> Path:
        return self.base / "work"

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def network(self) -> str:
        return "closed" if self.unshare else "open"


@dataclass(frozen=True)
class Outcome:
    code: int
    result: bytes  # what the command wrote to the descriptor in $NBCOLLAB_RESULT_FD
    stderr: bytes
    timed_out: bool


def account(runner: str) -> Account:
    """The runner account; never root. (The caller keeps the service account out.)"""
    try:
        entry = pwd.getpwnam(runner)
    except KeyError:
        raise UserError(f"no such runner account {runner!r}: create it first") from None
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise UserError(f"notebooks never run as root: {runner!r} has uid or gid 0")
    return Account(runner, entry.pw_uid, entry.pw_gid)


def current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


# Run as root in the new mount namespace, before the runner takes over: /tmp, /var/tmp and
# /dev/shm become small private tmpfs (nothing the notebook writes there outlives the run or
# fills the disk); the sandbox (itself under /tmp) is bound back in through a descriptor
# opened before /tmp was covered. $1: the sandbox, $2: the size in MB; then the command.
PRIVATE_TMP = """set -e
exec 9<"$1"
for d in /tmp /var/tmp /dev/shm; do
  if [ -d "$d" ]; then mount -t tmpfs -o "size=${2}m,mode=1777,nosuid,nodev" tmpfs "$d"; fi
done
mkdir -p "$1"
mount --no-canonicalize --bind /proc/self/fd/9 "$1"
exec 9<&-
shift 2
exec "$@"
"""


def _namespaces(as_root: bool) -> tuple[str, ...]:
    """The unshare wrapper this box allows (tried with `true`): as a user it needs unprivileged
    user namespaces; root in a container may be refused them too."""
    if shutil.which("unshare") is None:
        return ()
    user = () if as_root else ("--user", "--map-current-user")
    wrapper = ("unshare", *user, *_NAMESPACES, "--")
    if subprocess.run([*wrapper, "true"], capture_output=True).returncode != 0:
        return ()
    return (*wrapper, "sh", "-c", PRIVATE_TMP, "sh") if as_root else wrapper


def _give(base: Path, who: Account) -> None:
    """Hand what root made under `base` to the runner, the top folder last (until then the
    runner cannot even enter it)."""
    for folder, dirs, files in os.walk(base, topdown=False):
        for name in (*dirs, *files):
            os.lchown(Path(folder, name), who.uid, who.gid)
    os.chown(base, who.uid, who.gid)


@contextlib.contextmanager
def prepared(folder: Path, limits: Limits, runner: str | None) -> Iterator[Sandbox]:
    """A throwaway copy of `folder` for `runner` (None: the current user), read with the rights
    of the folder's owner; removed afterwards."""
    as_root = os.geteuid() == 0
    if as_root and runner is None:
        raise UserError("notebooks never run as root: name the runner account")
    who = account(runner) if runner else None
    if who and not as_root:
        if who.uid != os.geteuid():
            raise UserError(f"only root can run notebooks as {runner!r}: leave out the runner")
        who = None  # that is the current user
    base = Path(tempfile.mkdtemp(prefix="nbcollab-check-"))
    try:
        for part in ("work", "home", "home/runtime"):
            (base / part).mkdir(mode=0o700)
        copying.copy(folder, base / "work")
        if who:
            _give(base, who)
        yield Sandbox(base, who, limits, _namespaces(as_root))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def file_limit_mb(limits: Limits) -> int:
    """The largest file the runner may write: room for the executed copy of a notebook."""
    return max(2 * limits.max_notebook_mb, 16)


def _command(box: Sandbox, argv: Sequence[str], result_fd: int) -> list[str]:
    limits = box.limits
    mb = 1024 * 1024
    caps = [
        f"--cpu={limits.timeout_s + GRACE_S}",
        f"--as={limits.memory_mb * mb}",
        f"--fsize={file_limit_mb(limits) * mb}",
    ]
    if box.account:
        caps.append(f"--nproc={NPROC}")
    switch = []
    if box.account:
        switch = [
            "setpriv",
            f"--reuid={box.account.uid}",
            f"--regid={box.account.gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]
    python = Path(sys.executable).parent
    env = [
        f"HOME={box.home}",
        f"USER={box.account.name if box.account else current_user()}",
        "LANG=C.UTF-8",
        f"PATH={python}:/usr/local/bin:/usr/bin:/bin",
        f"JUPYTER_RUNTIME_DIR={box.home / 'runtime'}",
        f"TMPDIR={box.home}",
        "MALLOC_ARENA_MAX=2",  # glibc reserves 64 MB of address space per thread otherwise
        "PYTHONNOUSERSITE=1",
        f"{RESULT_FD}={result_fd}",
    ]
    wrapper = [*box.unshare]
    if box.unshare and box.unshare[-1] == "sh":  # PRIVATE_TMP's arguments
        wrapper += [str(box.base), str(file_limit_mb(limits))]
    return [*wrapper, "prlimit", *caps, "--", *switch, "env", "-i", *env, *argv]


def run(box: Sandbox, argv: Sequence[str], timeout: float) -> Outcome:
    """Run `argv` in the sandbox's work folder; killed (with everything it started) after
    `timeout` seconds. The descriptor in $NBCOLLAB_RESULT_FD is a file that only this process
    can read back (nothing the runner can open by name)."""
    with tempfile.TemporaryFile() as result, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            _command(box, argv, result.fileno()),
            cwd=box.work,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            pass_fds=(result.fileno(),),
            start_new_session=True,
        )
        timed_out = False
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(child)
            code = child.wait()
        result.seek(0)
        err.seek(0)
        return Outcome(code, result.read(), err.read(), timed_out)


def _kill(child: subprocess.Popen[bytes]) -> None:
    """The whole process group; in a PID namespace its first process takes all others along."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(1)
            return
