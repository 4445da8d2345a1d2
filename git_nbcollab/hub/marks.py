"""Marks of collaborations about to change, for the listing index (hub/listing.py).

`listing/changed/<id>.<pid>` under the hub root says that process `pid` is changing
collaboration `id`: `list` reads that repo again until the process has ended. The pre-receive
hook leaves one for every push it lets in, so this module imports os alone.
"""

from __future__ import annotations

import os

FOLDER = os.path.join("listing", "changed")


def mark(root: str, cid: str, pid: int) -> None:
    """Say that process `pid` is about to change collaboration `cid`."""
    changed = os.path.join(root, FOLDER)
    path = os.path.join(changed, f"{cid}.{pid}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    except FileNotFoundError:
        os.makedirs(changed, 0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
