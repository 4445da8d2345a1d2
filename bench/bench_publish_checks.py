"""Publish latency with the checks of every version on against off (target: at most 1.05x).

Run as root: `python bench/bench_publish_checks.py [N]`. On a throwaway box (tests/box.py), alice
publishes a small notebook N times with checks off (`init --checks none`, the baseline) and N
times with them on, alternating, each after a one-cell edit and a sync. With checks on, the
publish queues the checks and starts the detached worker; the round waits for the checks to
finish before the next one (so each publish is timed alone), and one more publish is timed
while a check is running (the worker is niced behind it).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from tests.box import Box, edit_cell  # noqa: E402

CHECKS = "valid,executes,reproduces,secrets,size"


def _init(box: Box, checks: str) -> None:
    assert box.admin("init", *box.init_options(), "--bin-dir", str(box.bin_dir),
                     "--checks", checks) == 0  # fmt: skip


def _publish(box: Box, copy: Path, k: int) -> float:
    edit_cell(copy / "bench.ipynb", 0, f"# round {k}")
    assert box.run("alice", "git", "nbcollab", "sync", cwd=copy).returncode == 0
    start = time.perf_counter()
    done = box.run("alice", "git", "nbpublish", "-version", "HOTFIX", "--", "bench", cwd=copy)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    return seconds


def _state(box: Box, copy: Path, version: str) -> str:
    done = box.run("alice", "git", "nbcollab", "show", f"bench:v{version}", "--json", cwd=copy)
    return str(json.loads(done.stdout)["checks"]["state"])


def _wait(box: Box, copy: Path, version: str) -> float:
    start = time.perf_counter()
    while _state(box, copy, version) not in ("passed", "failed"):
        assert time.perf_counter() - start < 600, "checks did not finish"
        time.sleep(0.5)
    return time.perf_counter() - start


def main(n: int) -> None:
    with Box.started() as box:
        box.share("alice", ["bob"], "bench.ipynb")
        copy = box.home("alice") / "notebooks" / "bench"
        _init(box, "none")
        _publish(box, copy, 0)  # 1.0.0: the first publish makes the name's folder
        off, on, waited, patch = [], [], [], 0
        for k in range(1, n + 1):
            _init(box, "none")
            off.append(_publish(box, copy, 2 * k))
            patch += 1
            _init(box, CHECKS)
            on.append(_publish(box, copy, 2 * k + 1))
            patch += 1
            waited.append(_wait(box, copy, f"1.0.{patch}"))
        _publish(box, copy, 2 * n + 2)
        busy = _publish(box, copy, 2 * n + 3)  # the check of the version before is running
        patch += 2
        _wait(box, copy, f"1.0.{patch}")
        box.backups_idle()
    base, with_checks = statistics.median(off), statistics.median(on)
    print(f"publish, checks off (baseline): median {base * 1000:7.0f} ms over {n}")
    print(f"publish, checks on:             median {with_checks * 1000:7.0f} ms over {n}"
          f"  = {with_checks / base:.2f}x (target <= 1.05x)")  # fmt: skip
    print(f"publish while a check runs:            {busy * 1000:7.0f} ms"
          f"  = {busy / base:.2f}x")  # fmt: skip
    print(f"checks of a version, publish to passed: median {statistics.median(waited):.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
