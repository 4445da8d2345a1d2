"""A sync through JupyterLab's REST handler against `git nbcollab sync` in a terminal, for the
same change (target: at most 1.2x; the browser's own part is the frontend's benchmark).

Run as root: `python bench/bench_lab.py [ROUNDS]`. A real box, alice's JupyterLab from the
shared runtime (tests/lab.py). Each round bob syncs a one-cell change, then alice syncs it in,
alternately through `POST /nbcollab/sync` and through the command run as her; medians.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import lab
from tests.box import Box, edit_cell


def _post(server: lab.Lab, route: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/nbcollab/{route}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"token {server.token}"},
    )
    with urllib.request.urlopen(request, timeout=300) as answer:
        said: dict[str, object] = json.loads(answer.read())
    return said


def main(rounds: int) -> None:
    times: dict[str, list[float]] = {"handler": [], "command": []}
    with Box.started() as box, tempfile.TemporaryDirectory() as tmp:
        cid = box.share("alice", ["bob"], "bench.ipynb")
        assert box.run("bob", "git", "nbcollab", "clone", cid).returncode == 0
        alice, bob = (box.home(s) / "notebooks" / "bench" for s in ("alice", "bob"))
        with lab.running(box, "alice", Path(tmp)) as server:
            for n in range(rounds * 2):
                edit_cell(bob / "bench.ipynb", 1, f"bob_mean = {n}")
                assert box.run("bob", "git", "nbcollab", "sync", cwd=bob).returncode == 0
                way = "handler" if n % 2 else "command"
                start = time.perf_counter()
                if way == "handler":
                    said = _post(server, "sync", {"path": "bench"})
                    assert said["changed"] == ["bench.ipynb"], said
                else:
                    assert box.run("alice", "git", "nbcollab", "sync", cwd=alice).returncode == 0
                times[way].append(time.perf_counter() - start)
    handler, command = (statistics.median(times[w]) for w in ("handler", "command"))
    print(f"rounds: {rounds} each; bob's one-cell change synced in by alice")
    print(f"git nbcollab sync (terminal, baseline): median {command * 1000:.0f} ms")
    print(f"POST /nbcollab/sync (JupyterLab):       median {handler * 1000:.0f} ms")
    print(f"ratio: {handler / command:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
