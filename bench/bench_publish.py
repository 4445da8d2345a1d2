"""`git nbpublish` end to end on a 20 MB notebook (200 cells, 50 images), and where time goes.

Run as root: `python bench/bench_publish.py [N] [MB]`. On a throwaway box (tests/box.py), alice
shares the notebook (about MB megabytes, 20 by default) with bob; each round both edit a cell and
push without syncing, so every publish merges two notebooks cell by cell. Prints the median of
N publishes, an ssh round trip through the gate as the floor, the peak memory of the hub's side
of one more publish (the gate and every process it runs, their RSS added up: `proctree`)
against the notebook's size (target: under 4x), the same for the same merge the old way (git's
merge-tree running the merge driver on the notebooks, as criss-cross histories still merge),
and the hub side's profile for one more publish.
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


# The merge of the authors' two tips as the tree merge did it before notebooks were deferred
# (and still does for criss-cross histories): git's merge-tree runs the merge driver.
OLD_PATH = """
import sys
from pathlib import Path
from git_nbcollab import repo
from git_nbcollab.notebooks import treemerge
treemerge._deferred = lambda *args: {}
with repo.staging(Path(sys.argv[1])) as staged:
    sides = [treemerge.Side(n, c) for n, c in zip(("alice", "bob"), sys.argv[2:])]
    merged = treemerge.merge(staged.repo, sides, author=("a", "a@example.invalid"))
    assert merged.commit, merged.conflicts
"""


def _old_path(box: Box, cid: str) -> Peak:
    path = box.root / "collabs" / f"{cid}.git"
    tips = [box.hub_git(cid, "rev-parse", f"refs/heads/u/{box.user(s)}/main").strip() for s in TWO]
    python = json.loads((box.root / "hub.json").read_text())["runtime"] + "/bin/python"
    found, done = peak(_service(box, [python, "-c", OLD_PATH, str(path), *tips]), cwd="/")
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
        new = _peak(box, cid)
        old = _old_path(box, cid)
        _round(box, n + 1)
        profile = _profile(box, cid)
    print(f"notebook: {size:.1f} MB; each publish merges two edited copies cell by cell")
    print(f"git nbpublish, end to end: median {statistics.median(times):.2f} s of {n}")
    print(f"git nbcollab list (ssh + gate round trip): median {statistics.median(floor):.2f} s")
    print(_shown("hub side of one more publish (target: under 4x)", new, size))
    print(_shown("the same merge the old way (git runs the driver)", old, size))
    print("hub side of one more publish, under cProfile, by own time:")
    print(profile)


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 5,
        float(sys.argv[2]) if len(sys.argv) > 2 else 20,
    )
