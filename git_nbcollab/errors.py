"""The one user-facing error type, and the one place that maps outcomes to exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:  # the gate imports this module: typing stays off a push's path
    from typing import NoReturn

OK, REFUSED, USAGE, BUG, INTERRUPTED = 0, 1, 2, 3, 130


class UserError(Exception):
    """Something the user can cause and fix; the message is one actionable line."""

    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.code = code


def _log_bug() -> str:
    import os
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="git-nbcollab-crash-", suffix=".log")
    with os.fdopen(fd, "w") as log:
        traceback.print_exc(file=log)
    return path


def disk_full(error: BaseException) -> bool:
    """An OSError for a full disk or quota, or a tool's error that says so (git, libgit2)."""
    import errno

    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(error) or "Disk quota exceeded" in str(error)


def run_main(prog: str, body: Callable[[], int], disk: str = "the disk") -> int:
    """Run a command body and turn every outcome into an exit code, never a traceback. A full
    `disk` is said in one line: the commands leave nothing half-done when a write fails."""
    try:
        return body()
    except UserError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except SystemExit as e:  # argparse after --help
        return e.code if isinstance(e.code, int) else OK
    except BrokenPipeError:
        return OK
    except Exception as e:
        if disk_full(e):
            print(
                f"{prog}: {disk} is full: free space (or ask its admin), try again", file=sys.stderr
            )
            return REFUSED
        path = _log_bug()
        print(
            f"{prog}: internal error ({type(e).__name__}: {e}); details in {path}", file=sys.stderr
        )
        return BUG


def exit_now(code: int) -> NoReturn:
    """End a command run from a shell (the console scripts) without tearing the interpreter
    down: freeing every object of pygit2 and the notebook code took a sync 20-50 ms. The
    command has closed all it opened (its `with` blocks, thread pools joined); what is left is
    in the standard streams, flushed here."""
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing to say
            stream.flush()
    os._exit(code)
