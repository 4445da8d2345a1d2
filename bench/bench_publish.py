"""`git nbpublish` end to end on a 20 MB notebook (200 cells, 50 images), and where time goes.

Run as root: `python bench/bench_publish.py [N] [MB] [BEFORE]`. On a throwaway box (tests/box.py),
alice shares the notebook (about MB megabytes, 20 by default) with bob; each round both edit a cell
and push without syncing, so every publish merges two notebooks cell by cell. Prints the median of
N publishes, an ssh round trip through the gate as the floor, the peak memory of the hub's side
of one more publish (the gate and every process it runs, their RSS added up: `proctree`)
against the notebook's size (target: under 4x), the same for bob's side of a sync that merges
alice's edit cell by cell (the sync and the git and ssh processes it runs), and the hub side's
profile for one more publish. Then the merge publish makes, in a fresh process with every
process it runs added up, for each kind of history (`histories`: the notebook changed at one
path with one merge base, renamed, added by both, criss-cross), now and the old way (git's
merge-tree running the merge driver on the notebooks, as renames git cannot be sure of without
reading them still merge) and, given BEFORE
(a folder holding another version of the package, e.g. `git archive main | tar -x -C BEFORE`),
as that version does.
"""

from __future__ import annotations

import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).parent)]

import histories  # noqa: E402
from bench_merge import write_inputs  # noqa: E402
from proctree import Peak, peak  # noqa: E402

from tests.box import Box, edit_cell  # noqa: E402

TWO = ("alice", "bob")


def _round(box: Box, k: int) -> None:
    for short, cell in (("alice", 4 * k + 1), ("bob", 4 * k + 101)):
        copy = box.home(short) / "notebooks" / "big"
        edit_cell(copy / "big.ipynb", cell, f"y = {k}  # {short}")
        done = box.run(short, "sh", "-c", "git commit -qam edit && git push -q", cwd=copy)
        assert done.returncode == 0, done.stderr


def _gate_command(box: Box, cid: str, python_options: tuple[str, ...] = ()) -> list[str]:
    """One publish straight through the gate as sshd would start it, with Python's options."""
    settings = json.loads((box.root / "hub.json").read_text())
    request = f"nbcollab publish {cid} big --bump HOTFIX --message '' --author a a@example.invalid"
    env = [f"HOME={box.root}", "PATH=/usr/bin:/bin", f"SSH_ORIGINAL_COMMAND={request}"]
    python = f"{settings['runtime']}/bin/python"
    gate = ["-m", "git_nbcollab.gate", str(box.root), box.user("alice")]
    return ["env", "-i", *env, python, *python_options, *gate]


def _service(box: Box, cmd: list[str]) -> list[str]:
    return ["runuser", "-u", box.service, "--", *cmd]


def _peak(box: Box, cid: str) -> Peak:
    """The peak memory of the hub's side of a publish: the gate and what it runs."""
    found, done = peak(_service(box, _gate_command(box, cid)), cwd="/")
    assert done.returncode == 0, done.stderr
    return found


def _sync_peak(box: Box, k: int) -> Peak:
    """The peak memory of bob's side of a sync that merges alice's edit cell by cell: the sync,
    the git and ssh processes it runs (the hub side runs under sshd, not counted here)."""
    copies = {short: box.home(short) / "notebooks" / "big" for short in TWO}
    edit_cell(copies["alice"] / "big.ipynb", 4 * k + 1, f"z = {k}  # alice")
    done = box.run("alice", "sh", "-c", "git commit -qam edit && git push -q", cwd=copies["alice"])
    assert done.returncode == 0, done.stderr
    edit_cell(copies["bob"] / "big.ipynb", 4 * k + 101, f"z = {k}  # bob")
    assert box.run("bob", "git", "commit", "-qam", "edit", cwd=copies["bob"]).returncode == 0
    found, done = peak(box._as(box.user("bob"), ["git", "nbcollab", "sync"]), cwd=copies["bob"])
    assert done.returncode == 0, done.stderr
    return found


def _shown(what: str, found: Peak, size: float) -> str:
    top = ", ".join(
        f"{command.split(' -')[0][-12:]} {rss / 1e6:.0f}" for rss, command in found.at[:3]
    )
    total = found.total / 1e6
    return (
        f"{what}: all processes together {total:.0f} MB = {total / size:.1f}x"
        f" the notebook ({top} MB); largest one process {found.single[0] / 1e6:.0f} MB ="
        f" {found.single[0] / 1e6 / size:.1f}x ({found.single[1][:40]})"
    )


def _profile(box: Box, cid: str) -> str:
    out = box.root / "publish.prof"
    cmd = _service(box, _gate_command(box, cid, ("-m", "cProfile", "-o", str(out))))
    subprocess.run(cmd, check=True, capture_output=True, cwd="/")
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).sort_stats("tottime").print_stats(12)
    return text.getvalue()


def _cases(folder: Path, inputs: dict[str, Path], size: float, before: Path | None) -> list[str]:
    """The merge publish makes, for each kind of history, now, the old way and `before`."""
    (folder / "README").write_text("a small file\n")
    made = histories.make(folder, {**inputs, "readme": folder / "README"})
    lines = []
    names = {
        "new": "now",
        "before": f"as {before} does it",
        "old": "the old way (git runs the driver)",
    }
    for case, ways in histories.peaks(made, before).items():
        lines += [_shown(f"{case}, {names[way]}", found, size) for way, found in ways.items()]
    return lines


def main(n: int, mb: float, before: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp, Box.started() as box:
        inputs = write_inputs(Path(tmp), mb)
        base = inputs["base"]
        size = base.stat().st_size / 1e6
        box.put("alice", base, "big.ipynb")
        done = box.run("alice", "git", "nbshare", box.user("bob"), "big.ipynb")
        cid = done.stdout.split("(id ")[1].split(")")[0]
        assert box.run("bob", "git", "nbcollab", "clone", cid).returncode == 0
        alice, bob = (box.home(short) / "notebooks" / "big" for short in TWO)
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
        new = _peak(box, cid)
        assert box.run("bob", "git", "nbcollab", "sync", cwd=bob).returncode == 0
        synced = _sync_peak(box, n)
        _round(box, n + 1)
        profile = _profile(box, cid)
        cases = _cases(Path(tmp), inputs, size, before)
    print(f"notebook: {size:.1f} MB; each publish merges two edited copies cell by cell")
    print(f"git nbpublish, end to end: median {statistics.median(times):.2f} s of {n}")
    print(f"git nbcollab list (ssh + gate round trip): median {statistics.median(floor):.2f} s")
    print(_shown("hub side of one more publish (target: under 4x)", new, size))
    print(_shown("bob's side of a sync merging alice's edit (target: under 4x)", synced, size))
    print(f"each kind of history (bench/histories.py, load average {os.getloadavg()[0]:.1f}):")
    print("\n".join(cases))
    print("hub side of one more publish, under cProfile, by own time:")
    print(profile)


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 5,
        float(sys.argv[2]) if len(sys.argv) > 2 else 20,
        Path(sys.argv[3]) if len(sys.argv) > 3 else None,
    )
