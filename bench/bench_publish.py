"""`git nbpublish` end to end on a 20 MB notebook (200 cells, 50 images), and where time goes.

Run as root: `python bench/bench_publish.py [N]`. On a throwaway box (tests/box.py), alice
shares the notebook with bob; each round both edit a cell and push without syncing, so every
publish merges two 20 MB notebooks cell by cell. Prints the median of N publishes, an ssh
round trip through the gate as the floor, and the hub side's profile for one more publish.
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


def _profile(box: Box, cid: str) -> str:
    settings = json.loads((box.root / "hub.json").read_text())
    out = box.root / "publish.prof"
    request = f"nbcollab publish {cid} big --bump HOTFIX --message '' --author a a@example.invalid"
    env = [f"HOME={box.root}", "PATH=/usr/bin:/bin", f"SSH_ORIGINAL_COMMAND={request}"]
    cmd = [
        f"{settings['runtime']}/bin/python",
        "-m",
        "cProfile",
        "-o",
        str(out),
        "-m",
        "git_nbcollab.gate",
        str(box.root),
        box.user("alice"),
    ]
    subprocess.run(
        ["runuser", "-u", box.service, "--", "env", "-i", *env, *cmd],
        check=True,
        capture_output=True,
        cwd="/",
    )
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).sort_stats("tottime").print_stats(12)
    return text.getvalue()


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Box.started() as box:
        base = write_inputs(Path(tmp))["base"]
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
        profile = _profile(box, cid)
    print(f"notebook: {size:.1f} MB; each publish merges two edited copies cell by cell")
    print(f"git nbpublish, end to end: median {statistics.median(times):.2f} s of {n}")
    print(f"git nbcollab list (ssh + gate round trip): median {statistics.median(floor):.2f} s")
    print("hub side of one more publish, under cProfile, by own time:")
    print(profile)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
