"""Every subprocess goes through here: argument lists only, failures raise with everything known."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


class ProcessError(Exception):
    def __init__(self, cmd: Sequence[str], code: int, stdout: bytes, stderr: bytes) -> None:
        self.cmd, self.code, self.stdout, self.stderr = list(cmd), code, stdout, stderr
        detail = stderr.decode(errors="replace").strip() or stdout.decode(errors="replace").strip()
        super().__init__(f"{' '.join(cmd)} exited {code}: {detail}")

    @property
    def message(self) -> str:
        """Why the command failed, in one line (see `reason`)."""
        return reason(self.stderr) or f"{self.cmd[0]} exited {self.code}"


GATE = "git-nbcollab: "  # how the hub's gate starts its refusals


def reason(stderr: bytes) -> str:
    """The line of a failed command's stderr that says why: the hub gate's own refusal (which
    git and ssh wrap in lines of their own), else git's first fatal or error line, else the
    last line."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    for line in lines:
        if line.startswith(GATE):
            return line.removeprefix(GATE)
    for line in lines:
        if line.startswith(("fatal: ", "error: ")):
            return line.split(": ", 1)[1]
    return lines[-1] if lines else ""


def run(
    *cmd: str,
    cwd: str | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(cmd, cwd=cwd, input=input, env=env, capture_output=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise ProcessError(cmd, proc.returncode, proc.stdout, proc.stderr)
    return proc


# git reading one large blob out: streamed where git can (an object stored whole), pack files
# mapped a window at a time (mapped pages count in its memory): an 80 MB notebook stored as a
# delta took git 275 MB to print, 190 MB with these
GIT_ONE_BLOB = (
    "-c", "core.bigFileThreshold=1m", "-c", "core.packedGitWindowSize=1m",
    "-c", "core.packedGitLimit=2m",
)  # fmt: skip


def to_file(*cmd: str, path: Path, env: Mapping[str, str] | None = None) -> None:
    """Run a command with its stdout written to `path`: a large output is never held here."""
    with path.open("wb") as file:
        proc = subprocess.run(cmd, stdout=file, stderr=subprocess.PIPE, env=env)
    if proc.returncode != 0:
        raise ProcessError(cmd, proc.returncode, b"", proc.stderr)


def out(
    *cmd: str,
    cwd: str | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run a command and return its stdout as text."""
    return run(*cmd, cwd=cwd, input=input, env=env).stdout.decode()


def feed(*cmd: str, chunks: Iterable[bytes]) -> bytes:
    """Run a command with `chunks` streamed into its stdin (more than fits in memory); stdout."""
    import tempfile  # not at the top: every push's hook imports this module

    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        assert child.stdin is not None and child.stdout is not None
        try:
            for chunk in chunks:
                child.stdin.write(chunk)
            child.stdin.close()
        except BrokenPipeError:
            pass  # it stopped reading: its exit code and stderr say why
        stdout = child.stdout.read()
        code = child.wait()
        if code != 0:
            err.seek(0)
            raise ProcessError(cmd, code, stdout, err.read())
    return stdout


def zsplit(text: str) -> list[str]:
    return [part for part in text.split("\0") if part]


def call(*cmd: str, env: Mapping[str, str] | None = None) -> int:
    """Run a command with our stdout and stderr (its messages are the user's); its exit code."""
    return subprocess.run(cmd, env=env).returncode


@contextmanager
def started(
    *cmd: str, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> Iterator[Callable[[], subprocess.CompletedProcess[bytes]]]:
    """A command started in the background while the block does other work; call what it yields
    to wait for it and get what `run(..., check=False)` would have. Leaving the block waits."""
    import tempfile  # not at the top: every push's hook imports this module

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )

        def finished() -> subprocess.CompletedProcess[bytes]:
            code = child.wait()
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(cmd, code, out.read(), err.read())

        try:
            yield finished
        finally:
            child.wait()


@contextmanager
def talk(*cmd: str) -> Iterator[subprocess.Popen[bytes]]:
    """A command we talk to over pipes, a line asked and an answer read at a time (so neither
    side waits on a full pipe); raises like `run` if it then fails."""
    with subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as child:
        yield child
        assert child.stdin and child.stderr
        child.stdin.close()
        stderr = child.stderr.read()
        if child.wait():
            raise ProcessError(cmd, child.returncode, b"", stderr)
