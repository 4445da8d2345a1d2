"""`git nbcollab sync` with one incoming change, against one plain `git push` over the same sshd.

Run as root: `python bench/bench_sync.py [N]`. On a throwaway box (tests/box.py) alice shares a
notebook with bob, both clone it. Each round alice syncs (so she has all of bob's work), edits
a cell and pushes; then bob syncs (timed), and pushes the same result to an unhooked bare repo
of another account over the same sshd with the same key (timed: the baseline). Two kinds of
round: bob changed nothing (the incoming change fast-forwards), and bob edited another cell (a
real cell-by-cell merge). Prints the medians and their paired ratios (target: sync at most 2.0x
the plain push), then what one more sync spends its time on: git commands and imports.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).parent)]

from bench_push import plain_remote  # noqa: E402

from tests.box import Box, edit_cell  # noqa: E402

TIMED = """
set -e
start=$(date +%s%N)
git nbcollab sync >/dev/null
middle=$(date +%s%N)
git push -q plain HEAD:{branch}
end=$(date +%s%N)
echo "$(( middle - start )) $(( end - middle ))"
"""


def _round(box: Box, copies: dict[str, Path], k: int, *, merge: bool, branch: str) -> list[int]:
    done = box.run("alice", "git", "nbcollab", "sync", cwd=copies["alice"])  # has bob's work
    assert done.returncode == 0, done.stderr
    edit_cell(copies["alice"] / "bench.ipynb", 0, f"# round {k}, by alice")
    done = box.run("alice", "sh", "-c", "git commit -qam edit && git push -q", cwd=copies["alice"])
    assert done.returncode == 0, done.stderr
    if merge:
        edit_cell(copies["bob"] / "bench.ipynb", 2, f"print({k})  # bob")
        done = box.run("bob", "git", "commit", "-qam", "bob's edit", cwd=copies["bob"])
        assert done.returncode == 0, done.stderr
    done = box.run("bob", "sh", "-c", TIMED.format(branch=branch), cwd=copies["bob"])
    assert done.returncode == 0, done.stderr
    return [int(ns) for ns in done.stdout.split()]


def _where_time_goes(box: Box, copy: Path) -> None:
    """One more sync (nothing incoming) traced: the git commands it runs, and its imports."""
    trace = copy.parent / "trace.txt"
    env = f"GIT_TRACE={trace} PYTHONPROFILEIMPORTTIME=1"
    done = box.run("bob", "sh", "-c", f"{env} git nbcollab sync >/dev/null", cwd=copy)
    assert done.returncode == 0, done.stderr
    lines = trace.read_text().splitlines()
    execs = [line.split("built-in: ", 1)[1] for line in lines if "built-in: git" in line]
    print(f"one more sync, nothing incoming: {len(execs)} git commands in this process tree")
    for line in execs:
        print(f"    {line[:110]}")
    top = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:")]
    outer = [(int(t[1]), t[2].strip()) for t in top[1:] if not t[2].startswith("  ")]
    print(f"  imports: {sum(us for us, _ in outer) / 1000:.0f} ms; the largest:")
    for us, name in sorted(outer, reverse=True)[:6]:
        print(f"    {name} {us / 1000:.0f} ms")


def main(n: int) -> None:
    with Box.started() as box:
        plain = f"{box.prefix}plain"
        try:
            cid = box.share("alice", ["bob"], "bench.ipynb")
            assert box.run("bob", "git", "nbcollab", "clone", cid, "bench").returncode == 0
            copies = {s: box.home(s) / "notebooks" / "bench" for s in ("alice", "bob")}
            box.run("bob", "git", "remote", "add", "plain", plain_remote(box, plain),
                    cwd=copies["bob"])  # fmt: skip
            branch = f"refs/heads/u/{box.user('bob')}/main"
            figures: dict[bool, list[list[int]]] = {False: [], True: []}
            for k in range(n):
                for merge in (False, True):
                    figures[merge].append(_round(box, copies, 2 * k + merge, merge=merge,
                                                 branch=branch))  # fmt: skip
            _where_time_goes(box, copies["bob"])
        finally:
            subprocess.run(["userdel", "--remove", plain], capture_output=True)
    for merge, rows in figures.items():
        sync = statistics.median(r[0] for r in rows) / 1e6
        push = statistics.median(r[1] for r in rows) / 1e6
        ratios = statistics.median(r[0] / r[1] for r in rows)
        kind = "a real merge (bob edited too)" if merge else "nothing of bob's (fast-forward)"
        print(f"one incoming change, {kind}; {n} rounds:")
        print(f"  plain git push, same commit, same sshd: median {push:.0f} ms")
        print(f"  git nbcollab sync: median {sync:.0f} ms; paired ratio {ratios:.2f}x"
              " (target <= 2.0x)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
