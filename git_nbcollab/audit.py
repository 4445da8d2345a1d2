"""The hub's audit log: one JSON line per gate request and per hub-side change.

It lives in `ROOT/audit/`, a folder only the service account can enter, as files named by the
time they were started (`20261126T010203123456.jsonl`); the newest one is written, and a new one
starts when it reaches MAX_BYTES (the oldest beyond KEEP are deleted). Lines are appended with
one `write` on a file opened O_APPEND, so concurrent writers never interleave.

Every push writes a line from its hooks, so this module imports only os, sys and time and
encodes its JSON by hand (json pulls in re, which costs more than the line itself).
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

FOLDER = "audit"
SUFFIX = ".jsonl"
MAX_BYTES = 8 << 20  # per file; then a new file starts
KEEP = 20  # files kept on the hub (the mirror keeps every piece)

RefMove = tuple[str, str, str]  # (ref, old, new); the zero id for "did not exist"
moved: list[RefMove] = []  # refs this process moved on the hub (repo.update_refs adds to it)


def _quote(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    if any(c < " " for c in out):
        out = "".join(c if c >= " " else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def encode(fields: Sequence[tuple[str, str | Sequence[RefMove]]]) -> str:
    """One JSON object on one line; values are text, or ref moves (a list of objects)."""
    parts = []
    for key, value in fields:
        if isinstance(value, str):
            parts.append(f"{_quote(key)}:{_quote(value)}")
        else:
            moves = ",".join(
                f'{{"ref":{_quote(r)},"old":{_quote(o)},"new":{_quote(n)}}}' for r, o, n in value
            )
            parts.append(f"{_quote(key)}:[{moves}]")
    return "{" + ",".join(parts) + "}\n"


def folder(root: str) -> str:
    return os.path.join(root, FOLDER)


def _listed(root: str) -> list[str]:
    return sorted(n for n in os.listdir(folder(root)) if n.endswith(SUFFIX))


def files(root: str) -> list[str]:
    """The log's files, oldest first (names only)."""
    try:
        return _listed(root)
    except FileNotFoundError:
        return []


def _owned(root: str, path: str) -> None:
    """Root writing (restore, an admin's command): the files stay the service account's."""
    if os.geteuid() == 0:
        os.chown(path, os.stat(root).st_uid, os.stat(root).st_gid)


def _start_file(root: str) -> str:
    """A new newest file (under the folder's lock); drops the oldest beyond KEEP."""
    import fcntl

    lock = os.open(os.path.join(folder(root), ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        names = _listed(root)
        if names and os.stat(os.path.join(folder(root), names[-1])).st_size < MAX_BYTES:
            return names[-1]  # another writer started one while we waited
        now = time.time_ns()
        name = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9))
        name += f"{now % 10**9 // 1000:06d}"
        path = os.path.join(folder(root), name + SUFFIX)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _owned(root, path)
        for old in names[: max(0, len(names) + 1 - KEEP)]:
            os.unlink(os.path.join(folder(root), old))
        return name + SUFFIX
    finally:
        os.close(lock)


def _append(root: str, line: bytes) -> None:
    try:
        names = _listed(root)
    except FileNotFoundError:  # the first line on this hub
        os.mkdir(folder(root), 0o700)
        _owned(root, folder(root))
        names = []
    path = os.path.join(folder(root), names[-1]) if names else ""
    if not names or os.stat(path).st_size >= MAX_BYTES:
        path = os.path.join(folder(root), _start_file(root))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def write(
    root: str,
    user: str,
    op: str,
    collab: str = "",
    refs: Sequence[RefMove] = (),
    reason: str = "",
) -> None:
    """Log one request or change: refused when a reason is given, else ok. A log that cannot be
    written (a full disk) is said on stderr; it never turns a request into a failure."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    fields: list[tuple[str, str | Sequence[RefMove]]] = [
        ("time", stamp),
        ("user", user),
        ("op", op),
        ("collab", collab),
        ("refs", refs),
        ("result", "refused" if reason else "ok"),
    ]
    if reason:
        fields.append(("reason", reason))
    try:
        _append(root, encode(fields).encode("utf-8", "replace"))
    except OSError as e:
        print(f"warning: the audit log was not written: {e.strerror or e}", file=sys.stderr)


def pieces(root: str, have: set[str]) -> Iterator[tuple[str, bytes]]:
    """What the mirror lacks, as (key, bytes): each file's whole lines after the last piece
    sent (keys `audit/<file>/<start>-<end>`, so every byte goes once and nothing is rewritten)."""
    for name in files(root):
        done = [int(k.rsplit("-", 1)[1]) for k in have if k.startswith(f"{FOLDER}/{name}/")]
        start = max(done, default=0)
        with open(os.path.join(folder(root), name), "rb") as log:
            log.seek(start)
            data = log.read()
        data = data[: data.rfind(b"\n") + 1]
        if data:
            yield f"{FOLDER}/{name}/{start:012d}-{start + len(data):012d}", data
