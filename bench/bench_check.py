"""`git nbcollab check` on a small notebook against `jupyter nbconvert --to notebook --execute`
of the same notebook (target: at most 1.3x), median of N interleaved runs.

Run: `python bench/bench_check.py [N]` with the runtime's Python (its bin/ holds the commands;
ipykernel and nbconvert installed there). As root, check runs as a throwaway runner account
(made and removed here), in its namespaces and limits, as the hub's checks do.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parent.parent / "fixtures" / "notebooks" / "sales.ipynb"


def main(n: int) -> None:
    bin_dir = Path(sys.prefix) / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    runner = f"nbcbench{secrets.token_hex(2)}" if os.geteuid() == 0 else ""
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    try:
        if runner:
            subprocess.run(["useradd", "--system", "--no-create-home", runner], check=True)
        shutil.copy(NOTEBOOK, work / "sales.ipynb")
        check = ["git", "nbcollab", "check", str(work / "sales.ipynb")]
        commands = {
            "jupyter nbconvert --execute (baseline)": [
                "jupyter",
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                str(work / "sales.ipynb"),
                "--output",
                str(work / "out.ipynb"),
            ],
            "git nbcollab check" + (" --runner" if runner else ""): check
            + (["--runner", runner] if runner else []),
        }
        times: dict[str, list[float]] = {}
        for _ in range(n):  # interleaved, so drift on a noisy machine hits both alike
            for label, cmd in commands.items():
                start = time.perf_counter()
                subprocess.run(cmd, env=env, capture_output=True, check=True)
                times.setdefault(label, []).append(time.perf_counter() - start)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if runner:
            subprocess.run(["userdel", runner], capture_output=True)
    base = statistics.median(next(iter(times.values())))
    for label, runs in times.items():
        median = statistics.median(runs)
        print(f"{label:42s} median {median:6.2f} s  ({median / base:4.2f}x nbconvert)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
