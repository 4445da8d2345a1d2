"""Start-up time of the commands against `git --version`, median of N runs in one go.

Run: `python bench/bench_startup.py [N]` with the runtime's Python (its bin/ holds the commands).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "git --version (baseline)": ["git", "--version"],
    "python -c pass": [sys.executable, "-c", "pass"],
    "git nbshare -h": ["git", "nbshare", "-h"],
    "git nbcollab -h": ["git", "nbcollab", "-h"],
    "gate + hook imports (push path)": [
        sys.executable,
        "-I",
        "-c",
        "import git_nbcollab.gate, git_nbcollab.hook",
    ],
}


def main(n: int) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.prefix) / 'bin'}:{os.environ['PATH']}"}
    medians = {}
    for _ in range(n):  # interleaved, so drift on a noisy machine hits every command alike
        for label, cmd in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            medians.setdefault(label, []).append(time.perf_counter() - start)
    base = statistics.median(medians["git --version (baseline)"])
    for label, times in medians.items():
        median = statistics.median(times)
        print(f"{label:34s} median {median * 1000:6.1f} ms  ({median / base:4.1f}x git --version)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
