"""`git nbcollab list` on a hub with many collaborations, against one `git ls-remote`.

Run as root: `python bench/bench_list.py [N]` (default 10,000). Shares one real collaboration,
then copies its bare repo on the hub N-1 times under fresh ids, without the objects and hooks
that `list` never reads (alice and bob are members of all N; carol has one of her own), and
times `git nbcollab list` as alice and as carol (medians of 5) against one `git ls-remote` of a
collaboration through the same gate (the target: at most 2x), `versions` by members:name
against by id (and the walk of every repo that resolved a members:name before), `ssh hub
nbcollab list` (the hub side without the client), and an ssh round trip that runs nothing
(the gate refusing). The baseline from the same run: `list` with its index deleted before each
run, so that the hub walks every repo as it did before there was an index (and writes the index
again).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from git_nbcollab.hub import collabs, listing
from git_nbcollab.layout import Hub
from git_nbcollab.names import MemberSpec, User
from tests.box import Box


def populate(box: Box, template: str, n: int) -> None:
    collabs = box.root / "collabs"
    source = collabs / f"{template}.git"
    meta = json.loads((source / "collab.json").read_text())
    for i in range(n - 1):
        cid = f"{i:08x}"
        target = collabs / f"{cid}.git"
        skip = shutil.ignore_patterns("objects", "hooks", "logs")
        shutil.copytree(source, target, symlinks=True, ignore=skip)
        (target / "collab.json").write_text(json.dumps({**meta, "id": cid, "name": f"nb{i}"}))
    subprocess.run(["chown", "-R", f"{box.service}:{box.service}", str(collabs)], check=True)


def timed(
    box: Box, *cmd: str, runs: int = 5, before: Callable[[], object] = str, who: str = "alice"
) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(runs):
        before()
        start = time.perf_counter()
        done = box.run(who, *cmd)
        times.append(time.perf_counter() - start)
        out = done.stdout
    return statistics.median(times), out


def main(n: int) -> None:
    with Box.started() as box:
        template = box.share("alice", ["bob"], "seed.ipynb")
        box.share("carol", ["bob"], "own.ipynb")  # carol is in 1 of the n + 1
        populate(box, template, n)
        target = [*box.ssh("alice"), "-p", str(box.port), f"{box.service}@127.0.0.1"]
        index = box.root / listing.FOLDER / "index"
        walk, _ = timed(
            box, "git", "nbcollab", "list", runs=3, before=lambda: index.unlink(missing_ok=True)
        )
        indexed, out = timed(box, "git", "nbcollab", "list")
        assert out.count(box.user("bob")) >= n, "every collaboration is listed"
        few, out = timed(box, "git", "nbcollab", "list", who="carol")
        assert "own" in out and "seed" not in out, "carol sees her own only"
        hub_side, _ = timed(box, *target, "nbcollab list")
        round_trip, _ = timed(box, *target, "nothing")
        ssh = f"GIT_SSH_COMMAND={' '.join(box.ssh('alice'))}"
        ls_remote, _ = timed(box, "env", ssh, "git", "ls-remote", box.url(template))
        spec = MemberSpec(frozenset({User(box.user("alice")), User(box.user("bob"))}), "seed")
        by_id, same = timed(box, "git", "nbcollab", "versions", template)
        by_spec, out = timed(box, "git", "nbcollab", "versions", str(spec))
        assert out == same and "no such" not in out, "the spec names the seed collaboration"
        start = time.perf_counter()  # what resolving the spec cost before: a walk of every repo
        assert [c.id for c in collabs.all_collabs(Hub(box.root)) if c.spec == spec] == [template]
        spec_walk = time.perf_counter() - start
    print(f"collaborations on the hub: {n + 1} (alice is in {n} of them, carol in 1)")
    print(f"ssh round trip, gate refuses at once: median {round_trip * 1000:.0f} ms")
    print(f"ssh + gate answering `list` (JSON):   median {hub_side * 1000:.0f} ms")
    print(f"git ls-remote of one collaboration:  median {ls_remote * 1000:.0f} ms")
    print(f"git nbcollab list, no index (walk):  median {walk * 1000:.0f} ms (baseline)")
    print(f"git nbcollab list, table drawn:      median {indexed * 1000:.0f} ms")
    print(f"git nbcollab list as carol (1 row): median {few * 1000:.0f} ms")
    print(f"ratio list / ls-remote: {indexed / ls_remote:.2f}x (target <= 2.0x)")
    print(f"ratio list as carol / ls-remote: {few / ls_remote:.2f}x")
    print(f"ratio list without index / ls-remote: {walk / ls_remote:.2f}x")
    print(f"git nbcollab versions ID:             median {by_id * 1000:.0f} ms")
    print(f"git nbcollab versions MEMBERS:NAME:   median {by_spec * 1000:.0f} ms")
    print(f"the walk of every repo that resolved it before: {spec_walk * 1000:.0f} ms (baseline)")
    print(f"ratio versions by spec / by id: {by_spec / by_id:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
