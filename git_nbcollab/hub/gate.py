"""The only way into the hub: sshd runs this as the forced command of every teammate's key.

    command="<python> -I -m git_nbcollab.gate <root> <user>",restrict <key>

The caller is the key's owner (argv), never a commit author. The request comes in
SSH_ORIGINAL_COMMAND: git's pack commands for a collaboration the caller belongs to, or one of
the tool's own operations (`nbcollab <op> ...`). Nothing else runs. Pack commands exec git, so
a push pays only for this module's imports (and its hook for none: hub/hookserver.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from git_nbcollab import audit
from git_nbcollab.errors import UserError, run_main
from git_nbcollab.hub import collabs
from git_nbcollab.hub.hook import IDENTITY, LIMITS
from git_nbcollab.layout import Hub
from git_nbcollab.names import User, collab_id, user

PACK_COMMANDS = ("git-upload-pack", "git-receive-pack")


def parse_request(request: str) -> list[str]:
    """The request as words; git's own form (`git-upload-pack '/path'`) is parsed without shlex,
    which a push need not pay for."""
    command, _, arg = request.partition(" ")
    if command in PACK_COMMANDS:
        path = arg[1:-1] if len(arg) >= 2 and arg[0] == arg[-1] == "'" else arg
        if path and "'" not in path:
            return [command, path]
    elif command == "nbcollab":
        import shlex

        try:
            words = shlex.split(request)
        except ValueError:
            words = []
        if len(words) >= 2:
            return words
    raise UserError("this hub runs git fetch/push and git-nbcollab commands only")


def repo_id(path: str) -> str:
    """`'/1a2b3c4d.git'`, `1a2b3c4d`, ... as typed in a remote URL, to the bare id."""
    return path.strip("/").removesuffix(".git")


def serve_pack(hub: Hub, caller: User, command: str, path: str) -> int:
    """Exec git for a member; a fetch is logged here, a push by its hooks (they know the refs)."""
    op = "fetch" if command == "git-upload-pack" else "push"
    try:
        try:
            cid = collab_id(repo_id(path))
        except UserError:
            raise collabs.not_found(repo_id(path)) from None
        collab = collabs.resolve(hub, caller, cid)
    except UserError as e:
        audit.write(str(hub.root), caller, op, repo_id(path)[:80], reason=str(e))
        raise
    if op == "fetch":
        audit.write(str(hub.root), caller, op, collab.id)
    settings = hub.settings  # its limits, so that `init` changes them for every repo at once
    os.environ[IDENTITY] = caller
    os.environ.update({var: str(getattr(settings, field)) for field, var in LIMITS.items()})
    limit = f"receive.maxInputSize={settings.max_push_mb * 2**20}"  # the pack, as sent
    # A push keeps its pack: moved in as loose objects, it could meet the uploader's `repack -d`
    # removing the empty `objects/xx` folder it had just made ("unable to migrate objects").
    keep = "receive.unpackLimit=1"
    # The repos have gc.auto=0 (the uploader packs them, backup.packing): a push starts no
    # `git gc --auto` that would only find that out
    no_gc = "receive.autogc=false"
    options = ["-c", limit, "-c", keep, "-c", no_gc]
    repo = str(hub.repo(collab.id))
    if op == "push":  # its pre-receive hook is answered by a child of this process
        from git_nbcollab.hub import hookserver

        hookserver.start(repo)
    os.execvp("git", ["git", *options, command.removeprefix("git-"), repo])


def serve(root: str, caller_name: str, request: str) -> int:
    hub = Hub(Path(root))
    try:
        caller = user(caller_name)
        if not hub.is_teammate(caller):
            raise UserError(f"{caller} is no longer a teammate on this hub")
        words = parse_request(request)
    except UserError as e:
        audit.write(root, caller_name, "request", request[:200], reason=str(e))
        raise
    if words[0] in PACK_COMMANDS:
        return serve_pack(hub, caller, words[0], words[1])
    from git_nbcollab.hub import ops

    return ops.dispatch(hub, caller, words[1:])


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m git_nbcollab.gate ROOT USER", file=sys.stderr)
        return 2
    os.umask(0o077)
    request = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    return run_main("git-nbcollab", lambda: serve(args[0], args[1], request), "the hub's disk")


if __name__ == "__main__":
    sys.exit(main())
