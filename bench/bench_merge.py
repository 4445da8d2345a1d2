"""Benchmark: merging a large notebook with git_nbcollab.notebooks.notebook.merge, nbdime, and git.

Builds a 200-cell notebook with 50 embedded PNG outputs (random bytes, base64: ~20 MB that do
not compress), makes ours and theirs with source edits in different cells plus output changes,
and times, each in a fresh process (median of 5 runs):

  (a) git_nbcollab.notebooks.notebook.merge, imports included;
  (b) nbdime's git merge driver: git-nbmergedriver merge BASE LOCAL REMOTE MARKER [PATH];
  (c) git merge-file -p (a plain text merge), as the floor.

Run: PYTHONPATH=. python bench/bench_merge.py [--runs N]. Prints its figures; asserts nothing.
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
OUR_MERGE = """
import sys
from pathlib import Path
from git_nbcollab.notebooks.notebook import merge
base, ours, theirs, out = (Path(p) for p in sys.argv[1:5])
result = merge(base.read_bytes(), ours.read_bytes(), theirs.read_bytes())
if result.notebook is None:
    sys.exit("conflicts: " + "; ".join(map(str, result.conflicts)))
out.write_bytes(result.notebook)
"""


def png_output(rng: random.Random, count: int) -> dict[str, Any]:
    payload = b"\x89PNG\r\n\x1a\n" + rng.randbytes(IMAGE_BYTES)
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


def make_base(rng: random.Random) -> dict[str, Any]:
    cells: list[dict[str, Any]] = []
    image_every = CELLS // IMAGES
    for i in range(CELLS):
        if i % 4 == 3:
            src = f"## Section {i}\n\nNotes about step {i}."
            cells.append(
                {"cell_type": "markdown", "id": f"c{i:03d}", "metadata": {}, "source": src}
            )
            continue
        outputs = [png_output(rng, i)] if i % image_every == 0 else [text_output(i, repr(i * i))]
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


def make_side(base: dict[str, Any], rng: random.Random, edit: range, rerun: range, who: str) -> Any:
    nb = json.loads(json.dumps(base))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code[edit.start : edit.stop : edit.step]:
        cell["source"] += f"\n# edited by {who}"
    for cell in code[rerun.start : rerun.stop : rerun.step]:
        cell["execution_count"] += 1000
        if "image/png" in cell["outputs"][0]["data"]:
            cell["outputs"] = [png_output(rng, cell["execution_count"])]
        else:
            cell["outputs"] = [text_output(cell["execution_count"], f"{who} re-ran")]
    return nb


def write_inputs(folder: Path) -> dict[str, Path]:
    rng = random.Random(42)
    base = make_base(rng)
    sides = {
        "base": base,
        "ours": make_side(base, rng, range(0, 30, 6), range(1, 40, 4), "ours"),
        "theirs": make_side(base, rng, range(100, 130, 6), range(90, 140, 3), "theirs"),
    }
    paths = {}
    for name, nb in sides.items():
        paths[name] = folder / f"{name}.ipynb"
        paths[name].write_bytes(notebook.dumps(notebook.read(json.dumps(nb).encode(), name)))
    return paths


def timed(runs: int, setup: Callable[[], None], cmd: list[str]) -> tuple[float, int]:
    times, code = [], 0
    env = os.environ | {"PYTHONPATH": str(REPO)}
    for _ in range(runs):
        setup()
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        times.append(time.perf_counter() - start)
        code = proc.returncode
    return statistics.median(times), code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        folder = Path(tmp)
        p = write_inputs(folder)
        local, ours_out = folder / "local.ipynb", folder / "ours-merged.ipynb"
        size = sum(p[n].stat().st_size for n in ("base", "ours", "theirs")) / 3 / 1e6
        print(
            f"notebook: {CELLS} cells, {IMAGES} PNG outputs, {size:.1f} MB each side; {runs} runs"
        )

        def fresh_local() -> None:
            shutil.copyfile(p["ours"], local)

        def nothing() -> None:
            pass

        results = {
            "git_nbcollab merge": timed(
                runs, nothing, [sys.executable, "-c", OUR_MERGE, *map(str, (*p.values(), ours_out))]
            ),
            "nbdime merge driver": timed(
                runs,
                fresh_local,
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
                nothing,
                ["git", "merge-file", "-p", str(p["ours"]), str(p["base"]), str(p["theirs"])],
            ),
        }
        for name, (seconds, code) in results.items():
            print(f"{name:22s} median {seconds:6.3f} s  (exit {code})")
        ratio = results["git_nbcollab merge"][0] / results["nbdime merge driver"][0]
        print(f"ratio git_nbcollab / nbdime: {ratio:.2f}")
        same = notebook.read(ours_out.read_bytes(), "ours") == notebook.read(
            local.read_bytes(), "nbdime"
        )
        print(f"git_nbcollab and nbdime results identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
