"""The pre-receive hook of a push through the gate, answered by a child of the gate.

Starting Python and importing the rules took the hook about 60 ms of every push, and the gate
has paid for most of that already. So before the gate execs `git receive-pack`, `start` forks a
child that loads the rest of the checks while the pack arrives, then waits on a pipe. The hook
shim (hooks/pre-receive) finds the pipes at fds REQUESTS_FD and ANSWERS_FD, sends the
quarantine's paths and git's ref lines, and relays the answer: the exit code on a line of its
own, then what to tell the pusher (text that may hold any path a pusher chose, so the shim never
reads a verdict from it). No answer (the child died) is a refusal. A shim run without the
child's pipes (a push that did not come through the gate) runs `hook.py` itself, which refuses.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

REQUESTS_FD, ANSWERS_FD = 8, 9  # as hooks/pre-receive names them
ENV = "NBCOLLAB_HOOK_SERVER"  # set for git: the shim sends to the child
END = "."  # after git's lines (the pipe stays open while git runs: no end of file)
# What git's quarantine sets for a hook: the objects the push brought, not yet in the repo.
QUARANTINE = ("GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES")


def start(repo: str) -> None:
    """Fork the child that answers this push's pre-receive hook in `repo`, and leave its pipes
    at REQUESTS_FD and ANSWERS_FD for the git the gate execs next (which keeps this pid)."""
    import fcntl

    requests, to_child = os.pipe()
    from_child, answers = os.pipe()
    receiver = os.getpid()
    middle = os.fork()
    if middle == 0:  # leaves at once: the child's parent is then init, which reaps it
        try:
            if os.fork() == 0:
                os.close(to_child)
                os.close(from_child)
                _serve(requests, answers, repo, receiver)
        finally:
            os._exit(0)
    os.waitpid(middle, 0)
    os.close(requests)
    os.close(answers)
    for fd, number in ((to_child, REQUESTS_FD), (from_child, ANSWERS_FD)):
        high = fcntl.fcntl(fd, fcntl.F_DUPFD, ANSWERS_FD + 1)  # never one of the two numbers
        os.close(fd)
        os.dup2(high, number)  # inheritable: git passes it on to the hook
        os.close(high)
    os.environ[ENV] = "1"


def _serve(requests: int, answers: int, repo: str, receiver: int) -> NoReturn:
    """Answer one pre-receive request, or leave when git ends without one."""
    import contextlib
    import io

    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the ssh channel: the push must not wait for this process to end
        os.dup2(null, fd)
    os.close(null)
    from git_nbcollab.errors import run_main
    from git_nbcollab.hub import hook, intake, marks, rules  # noqa: F401 (loaded while the pack arrives)
    from git_nbcollab.notebooks import check  # noqa: F401

    lines = []
    with open(requests, encoding="utf-8", errors="surrogateescape") as asked:
        for line in asked:
            if line == f"{END}\n":
                break
            lines.append(line.removesuffix("\n"))
        else:  # git ended without running the hook: nothing to update, or an older shim
            os._exit(0)
    if len(lines) < len(QUARANTINE):
        os._exit(0)  # not what the shim sends: no answer, which refuses
    os.chdir(repo)  # where git runs its hooks (and its paths would be relative to)
    paths, refs = lines[: len(QUARANTINE)], lines[len(QUARANTINE) :]
    for var, path in zip(QUARANTINE, paths, strict=True):
        if path:
            os.environ[var] = path
        else:
            os.environ.pop(var, None)
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        user = os.environ.get(hook.IDENTITY)
        code = run_main("git-nbcollab", lambda: hook.pre_receive(user, refs, repo, receiver))
    with open(answers, "w", encoding="utf-8", errors="surrogateescape") as answer:
        answer.write(f"{code}\n{said.getvalue()}")
    os._exit(0)
