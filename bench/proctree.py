"""The peak memory of a command's whole process tree: every process's RSS added up, sampled.

`/usr/bin/time -f %M` gives only the largest single process (git's and the merge driver's
peaks add up when one waits for the other). `peak` polls /proc every few milliseconds for the
command and its descendants and keeps the largest sum of their RSS, the processes making it
up, and each process's own high-water mark (VmHWM, which a sample between two polls misses
only in the sum).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Peak:
    total: int  # bytes: the largest sum of the tree's RSS at one sample
    at: tuple[tuple[int, str], ...]  # (bytes, command) of each process in that sample
    single: tuple[int, str]  # the largest VmHWM of one process, and its command


def _status(pid: str) -> tuple[int, int, int]:
    """(parent pid, RSS bytes, HWM bytes); zeros once the process is gone."""
    try:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
    except (OSError, ValueError):
        return 0, 0, 0

    def kb(key: str) -> int:
        return int(fields.get(key, "0 kB").split()[0]) * 1024

    return int(fields.get("PPid", "0")), kb("VmRSS"), kb("VmHWM")


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:90]
    except OSError:
        return "?"


def peak(cmd: Sequence[str], **kw: Any) -> tuple[Peak, subprocess.CompletedProcess[bytes]]:
    """Run `cmd` (Popen keywords in `kw`) to its end, sampling its process tree."""
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    best = Peak(0, (), (0, ""))
    highs: dict[int, tuple[int, str]] = {}
    while child.poll() is None:
        status = {int(p): _status(p) for p in os.listdir("/proc") if p.isdigit()}
        tree, grew = {child.pid}, True
        while grew:
            found = {pid for pid, (parent, _r, _h) in status.items() if parent in tree}
            grew = not found <= tree
            tree |= found
        sample = [(status.get(pid, (0, 0, 0))[1], pid) for pid in tree]
        for pid in tree:
            hwm = status.get(pid, (0, 0, 0))[2]
            if hwm > highs.get(pid, (0, ""))[0]:
                highs[pid] = (hwm, _command(pid))
        total = sum(rss for rss, _pid in sample)
        if total > best.total:
            at = tuple(sorted(((rss, _command(pid)) for rss, pid in sample), reverse=True))
            best = Peak(total, at, best.single)
        time.sleep(0.005)
    out, err = child.communicate()
    single = max(highs.values(), default=(0, ""))
    done = subprocess.CompletedProcess(cmd, child.returncode, out, err)
    return Peak(best.total, best.at, single), done
