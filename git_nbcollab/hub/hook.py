"""Hook bodies; the shims in hooks/ run `python -I -m git_nbcollab.hook <name>`.

Runs on the hub as the service account, with the caller's identity set by the gate. A push
through the gate has its pre-receive answered by a child of the gate (hub/hookserver.py), which
has started Python already; the shim runs this module when no such child waits (a push that
did not come through the gate, which is refused). Imports only what the rules need.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence

IDENTITY = "NBCOLLAB_USER"  # exported by the gate
# The push limits (hub.json), exported by the gate too: the hook needs no settings file.
LIMITS = {"max_file_mb": "NBCOLLAB_MAX_FILE_MB", "max_refs": "NBCOLLAB_MAX_REFS"}


def pre_receive(user: str | None, lines: Iterable[str], git_dir: str, receiver: int) -> int:
    """The ref rules (hub.rules), then what the push brings (hub.intake); one line per refusal.
    `receiver` is the pid of the git that receives the push (and moves the refs)."""
    from git_nbcollab.hub.rules import refusal
    from git_nbcollab.names import User

    if not user or not all(var in os.environ for var in LIMITS.values()):
        print("refused: pushes reach the hub only through its ssh gate", file=sys.stderr)
        return 1
    updates = [line.split() for line in lines]
    reasons = [
        f"refused {ref}: {why}"
        for old, new, ref in updates
        if (why := refusal(User(user), ref, old, new))
    ]
    if not reasons:
        from git_nbcollab.hub import intake

        pushed = [intake.Update(*u) for u in updates]
        limits = {field: int(os.environ[var]) for field, var in LIMITS.items()}
        reasons = intake.refusals(git_dir, User(user), pushed, **limits)
    for reason in reasons:
        print(reason, file=sys.stderr)
    if not reasons:  # `list` waits for the git that moves the refs to end
        from git_nbcollab.hub import marks

        root, name = _hub_of(git_dir)
        marks.mark(root, name[:-4], receiver)
    if reasons:
        moves = [(ref, old, new) for old, new, ref in updates]
        _log(git_dir, user, moves, "; ".join(r.removeprefix("refused ") for r in reasons))
    return 1 if reasons else 0


def _log(repo: str, user: str, moves: list[tuple[str, str, str]], reason: str = "") -> None:
    """The push's line in the audit log (the gate execs git, so the hooks know the refs)."""
    from git_nbcollab import audit

    root, name = _hub_of(repo)
    audit.write(root, user, "push", name[:-4], moves, reason)


def _hub_of(git_dir: str) -> tuple[str, str]:
    """(hub root, `<id>.git`) of the repo a hook runs in."""
    path = os.path.realpath(git_dir)
    return os.path.dirname(os.path.dirname(path)), os.path.basename(path)


def post_receive(repo: str, lines: Iterable[str]) -> int:
    """Log the push and queue a backup of this collaboration; the uploader runs detached (no
    waiting here). `backup` and `audit` import only os, sys, time: every push pays for them."""
    from git_nbcollab import backup

    moves = [(ref, old, new) for old, new, ref in (line.split() for line in lines)]
    _log(repo, os.environ.get(IDENTITY, ""), moves)
    root, name = _hub_of(repo)
    backup.queue_path(root, name[:-4])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["pre-receive"]:
        from git_nbcollab.errors import run_main

        # Whatever goes wrong refuses the push with one line (and a crash log on the hub).
        user, git_dir = os.environ.get(IDENTITY), os.environ.get("GIT_DIR", ".")
        return run_main("git-nbcollab", lambda: pre_receive(user, sys.stdin, git_dir, os.getppid()))
    if args == ["post-receive"]:
        return post_receive(os.environ.get("GIT_DIR", "."), sys.stdin)
    print(
        f"usage: python -m git_nbcollab.hook pre-receive|post-receive (got {args})", file=sys.stderr
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
