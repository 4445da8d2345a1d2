"""Benchmark: merging a large notebook with git_nbcollab.notebooks.notebook.merge, nbdime, and git.

Builds a 200-cell notebook with 50 embedded PNG outputs (random bytes, base64, that do not
compress; ~20 MB, or the size given with --mb), makes ours and theirs with source edits in
different cells plus output changes, and measures, each in a fresh process (median of N runs
for time, the largest peak RSS of the process tree for memory, against the notebook's size):

  (a) git_nbcollab's merge driver (`python -m git_nbcollab merge-driver`), as git runs it;
  (b) nbdime's git merge driver: git-nbmergedriver merge BASE LOCAL REMOTE MARKER [PATH];
  (c) git merge-file -p (a plain text merge), as the floor.

Run: PYTHONPATH=. python bench/bench_merge.py [--runs N] [--mb 80]. Prints its figures (target:
(a) under 4x the notebook's size in memory); asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from git_nbcollab.notebooks import notebook

REPO = Path(__file__).resolve().parent.parent
CELLS, IMAGES, IMAGE_BYTES = 200, 50, 300_000  # 300 kB raw = 400 kB base64 per image
TIME = "/usr/bin/time"  # -f %M: the peak RSS (kB) of the command and the children it waited for


def png_output(rng: random.Random, count: int, scale: float = 1) -> dict[str, Any]:
    payload = b"\x89PNG\r\n\x1a\n" + rng.randbytes(int(IMAGE_BYTES * scale))
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "image/png": base64.b64encode(payload).decode(),
            "text/plain": [f"<Figure {count}>"],
        },
    }


def text_output(count: int, text: str) -> dict[str, Any]:
    return {
        "output_type": "execute_result",
        "execution_count": count,
        "metadata": {},
        "data": {"text/plain": [text]},
    }


def make_base(rng: random.Random, scale: float = 1) -> dict[str, Any]:
    cells: list[dict[str, Any]] = []
    image_every = CELLS // IMAGES
    for i in range(CELLS):
        if i % 4 == 3:
            src = f"## Section {i}\n\nNotes about step {i}."
            cells.append(
                {"cell_type": "markdown", "id": f"c{i:03d}", "metadata": {}, "source": src}
            )
            continue
        outputs = (
            [png_output(rng, i, scale)] if i % image_every == 0 else [text_output(i, repr(i * i))]
        )
        cells.append(
            {
                "cell_type": "code",
                "id": f"c{i:03d}",
                "metadata": {},
                "execution_count": i,
                "source": f"x{i} = {i}\nplot(x{i})"
                if outputs[0]["data"].get("image/png")
                else f"{i} * {i}",
                "outputs": outputs,
            }
        )
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells}


def make_side(
    base: dict[str, Any], rng: random.Random, edit: range, rerun: range, who: str, scale: float
) -> Any:
    nb = json.loads(json.dumps(base))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code[edit.start : edit.stop : edit.step]:
        cell["source"] += f"\n# edited by {who}"
    for cell in code[rerun.start : rerun.stop : rerun.step]:
        cell["execution_count"] += 1000
        if "image/png" in cell["outputs"][0]["data"]:
            cell["outputs"] = [png_output(rng, cell["execution_count"], scale)]
        else:
            cell["outputs"] = [text_output(cell["execution_count"], f"{who} re-ran")]
    return nb


def write_inputs(folder: Path, mb: float = 20) -> dict[str, Path]:
    """base, ours and theirs of a notebook of about `mb` MB."""
    rng = random.Random(42)
    scale = mb / 20
    base = make_base(rng, scale)
    sides = {
        "base": base,
        "ours": make_side(base, rng, range(0, 30, 6), range(1, 40, 4), "ours", scale),
        "theirs": make_side(base, rng, range(100, 130, 6), range(90, 140, 3), "theirs", scale),
    }
    paths = {}
    for name, nb in sides.items():
        paths[name] = folder / f"{name}.ipynb"
        paths[name].write_bytes(notebook.dumps(notebook.read(json.dumps(nb).encode(), name)))
    return paths


def timed(runs: int, setup: Callable[[], None], cmd: list[str]) -> tuple[float, int, int]:
    """Median seconds, the largest peak RSS (bytes) and the last exit code of `cmd`."""
    times, peaks, code = [], [], 0
    env = os.environ | {"PYTHONPATH": str(REPO)}
    for _ in range(runs):
        setup()
        start = time.perf_counter()
        proc = subprocess.run(
            [TIME, "-f", "%M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        times.append(time.perf_counter() - start)
        peaks.append(int(proc.stderr.split()[-1]) * 1024)
        code = proc.returncode
    return statistics.median(times), max(peaks), code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mb", type=float, default=20, help="the notebook's size")
    args = parser.parse_args()
    runs = args.runs
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        folder = Path(tmp)
        p = write_inputs(folder, args.mb)
        ours_out, local = folder / "ours-merged.ipynb", folder / "local.ipynb"
        size = sum(p[n].stat().st_size for n in ("base", "ours", "theirs")) / 3
        print(
            f"notebook: {CELLS} cells, {IMAGES} PNG outputs, {size / 1e6:.1f} MB each side;"
            f" {runs} runs"
        )

        def fresh(target: Path) -> Callable[[], None]:
            return lambda: shutil.copyfile(p["ours"], target)

        ours_driver = [sys.executable, "-m", "git_nbcollab", "merge-driver"]
        results = {
            "git_nbcollab merge": timed(
                runs,
                fresh(ours_out),
                [*ours_driver, *map(str, (p["base"], ours_out, p["theirs"])), "x.ipynb"],
            ),
            "nbdime merge driver": timed(
                runs,
                fresh(local),
                [
                    str(bindir / "git-nbmergedriver"),
                    "merge",
                    str(p["base"]),
                    str(local),
                    str(p["theirs"]),
                    "7",
                    "x.ipynb",
                ],
            ),
            "git merge-file -p": timed(
                runs,
                lambda: None,
                ["git", "merge-file", "-p", str(p["ours"]), str(p["base"]), str(p["theirs"])],
            ),
        }
        for name, (seconds, peak, code) in results.items():
            print(
                f"{name:22s} median {seconds:6.3f} s, peak RSS {peak / 1e6:5.0f} MB"
                f" = {peak / size:4.1f}x the notebook (exit {code})"
            )
        ratio = results["git_nbcollab merge"][0] / results["nbdime merge driver"][0]
        print(f"time git_nbcollab / nbdime: {ratio:.2f}; memory target: under 4x the notebook")
        same = notebook.read(ours_out.read_bytes(), "ours") == notebook.read(
            local.read_bytes(), "nbdime"
        )
        print(f"git_nbcollab and nbdime results identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
