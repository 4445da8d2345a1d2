"""`git nbpublish` end to end on a 20 MB notebook (200 cells, 50 images), and where time goes.

Run as root: `python bench/bench_publish.py [N] [MB]`. On a throwaway box (tests/box.py), alice
shares the notebook (about MB megabytes, 20 by default) with bob; each round both edit a cell and
push without syncing, so every publish merges two notebooks cell by cell. Prints the median of
N publishes, an ssh round trip through the gate as the floor, the peak memory (RSS) of the hub's
side of one more publish (the gate and the merge it runs) against the notebook's size (target:
under 4x), and the hub side's profile for one more publish.
"""

from __future__ import annotations

import io
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).parent)]

from bench_merge import write_inputs  # noqa: E402

from tests.box import Box, edit_cell  # noqa: E402


def _round(box: Box, k: int) -> None:
    for short, cell in (("alice", 4 * k + 1), ("bob", 4 * k + 101)):
        copy = box.home(short) / "notebooks" / "big"
        edit_cell(copy / "big.ipynb", cell, f"y = {k}  # {short}")
        done = box.run(short, "sh", "-c", "git commit -qam edit && git push -q", cwd=copy)
        assert done.returncode == 0, done.stderr


def _gate(
    box: Box, cid: str, wrapped: tuple[str, ...] = (), options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """One publish run straight through the gate as sshd would start it: inside `wrapped`,
    with Python `options`."""
    settings = json.loads((box.root / "hub.json").read_text())
    request = f"nbcollab publish {cid} big --bump HOTFIX --message '' --author a a@example.invalid"
    env = [f"HOME={box.root}", "PATH=/usr/bin:/bin", f"SSH_ORIGINAL_COMMAND={request}"]
    python = f"{settings['runtime']}/bin/python"
    gate = ["-m", "git_nbcollab.gate", str(box.root), box.user("alice")]
    return subprocess.run(
        ["runuser", "-u", box.service, "--", "env", "-i", *env, *wrapped, python, *options, *gate],
        check=True,
        capture_output=True,
        cwd="/",
        text=True,
    )


def _peak(box: Box, cid: str) -> int:
    """The peak RSS (bytes) of the hub's side of a publish: the gate and what it waited for."""
    done = _gate(box, cid, wrapped=("/usr/bin/time", "-f", "%M"))
    return int(done.stderr.split()[-1]) * 1024


def _profile(box: Box, cid: str) -> str:
    out = box.root / "publish.prof"
    _gate(box, cid, options=("-m", "cProfile", "-o", str(out)))
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).sort_stats("tottime").print_stats(12)
    return text.getvalue()


def main(n: int, mb: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, Box.started() as box:
        base = write_inputs(Path(tmp), mb)["base"]
        size = base.stat().st_size / 1e6
        box.put("alice", base, "big.ipynb")
        done = box.run("alice", "git", "nbshare", box.user("bob"), "big.ipynb")
        cid = done.stdout.split("(id ")[1].split(")")[0]
        assert box.run("bob", "git", "nbcollab", "clone", cid).returncode == 0
        alice = box.home("alice") / "notebooks" / "big"
        times = []
        for k in range(n):
            _round(box, k)
            start = time.perf_counter()
            done = box.run(
                "alice", "git", "nbpublish", "-version", "HOTFIX", "--", "big", cwd=alice
            )
            times.append(time.perf_counter() - start)
            assert done.returncode == 0, done.stderr
        floor = []
        for _ in range(n):
            start = time.perf_counter()
            box.run("alice", "git", "nbcollab", "list")
            floor.append(time.perf_counter() - start)
        _round(box, n)
        peak = _peak(box, cid)
        _round(box, n + 1)
        profile = _profile(box, cid)
    print(f"notebook: {size:.1f} MB; each publish merges two edited copies cell by cell")
    print(f"git nbpublish, end to end: median {statistics.median(times):.2f} s of {n}")
    print(f"git nbcollab list (ssh + gate round trip): median {statistics.median(floor):.2f} s")
    print(
        f"hub side of one more publish: peak RSS {peak / 1e6:.0f} MB ="
        f" {peak / 1e6 / size:.1f}x the notebook (target: under 4x)"
    )
    print("hub side of one more publish, under cProfile, by own time:")
    print(profile)


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 5,
        float(sys.argv[2]) if len(sys.argv) > 2 else 20,
    )
