"""Push latency through the gate and hooks against a plain push over the same sshd, and what
checking a pushed notebook costs.

Run as root: `python bench/bench_push.py [N]`. Builds a throwaway box (see tests/box.py),
then, as bob, edits one cell of the shared notebook N times, commits, and pushes each commit
twice: to the hub through the gate and the pre-receive hook (which checks the notebook), and
to an unhooked bare repo of another account over the same sshd with the same key and no
forced command. Prints the medians and their ratio. Then the check itself: in a fresh Python
(as the Python hook runs it; a push through the gate has it loaded by the gate's child,
hub/hookserver.py) against nbformat's validation, and in-process on a 20 MB notebook against
json.loads alone.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_merge import write_inputs

from git_nbcollab import audit
from git_nbcollab.hub import marks
from git_nbcollab.notebooks import check, notebook
from tests.box import FIXTURES, Box

FRESH = {
    "python -I, nothing": "pass",
    "python -I, notebooks.check (the hook's)": (
        "from git_nbcollab.notebooks import check; assert check.problem(DATA) is None"
    ),
    "python -I, nbformat.validate": (
        "from git_nbcollab.notebooks import notebook; notebook.read(DATA, 'x')"
    ),
}

LOOP = """
set -e
for i in $(seq {n}); do
  sed -i "s/print(max(sales)).*\\"/print(max(sales))  # run $i\\"/" bench.ipynb
  git commit -qam "change $i"
  for remote in origin plain; do
    start=$(date +%s%N)
    git push -q $remote HEAD:{branch}
    echo "$remote $(( $(date +%s%N) - start ))"
  done
done
"""


def plain_remote(box: Box, name: str) -> str:
    """An ordinary account whose authorized_keys holds bob's key with no forced command."""
    home = Path("/home") / name
    subprocess.run(["useradd", "--create-home", name], check=True)
    subprocess.run(["usermod", "-p", "*", name], check=True)
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700)
    key = box.home("bob") / ".ssh" / "nbcollab_ed25519.pub"
    (ssh / "authorized_keys").write_text(key.read_text())
    subprocess.run(["chown", "-R", f"{name}:{name}", str(ssh)], check=True)
    subprocess.run(
        ["runuser", "-u", name, "--", "git", "init", "-q", "--bare", str(home / "plain.git")],
        check=True,
        cwd=home,
    )
    return f"ssh://{name}@127.0.0.1:{box.port}{home}/plain.git"


def audit_line_seconds(n: int = 500) -> float:
    """What the post-receive hook's audit line costs (the gate push above includes it)."""
    move = ("refs/heads/u/bob/main", "1" * 40, "2" * 40)
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        for _ in range(n):
            audit.write(root, "bob", "push", "1a2b3c4d", [move])
        return (time.perf_counter() - start) / n


def listing_mark_seconds(n: int = 500) -> float:
    """What the pre-receive hook's mark for the listing index costs (hub/marks.py)."""
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        for pid in range(n):
            marks.mark(root, "1a2b3c4d", pid)
        return (time.perf_counter() - start) / n


def _median(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def check_costs() -> None:
    small = (FIXTURES / "notebooks" / "sales.ipynb").read_bytes()
    print("checking one small notebook in a fresh process (median of 10):")
    for what, code in FRESH.items():
        cmd = [sys.executable, "-I", "-c", code.replace("DATA", repr(small))]
        took = _median(10, lambda cmd=cmd: subprocess.run(cmd, check=True))
        print(f"  {what}: {took * 1000:.0f} ms")
    with tempfile.TemporaryDirectory() as folder:
        big = write_inputs(Path(folder))["base"].read_bytes()
    print(f"checking a {len(big) / 2**20:.0f} MB notebook in-process (median of 5):")
    print(f"  json.loads alone: {_median(5, lambda: json.loads(big)) * 1000:.0f} ms")
    print(f"  notebooks.check: {_median(5, lambda: check.problem(big)) * 1000:.0f} ms")
    took = _median(5, lambda: notebook.read(big, "big"))
    print(f"  notebook.read (nbformat.validate): {took * 1000:.0f} ms")


def main(n: int) -> None:
    with Box.started() as box:
        plain = f"{box.prefix}plain"
        try:
            cid = box.share("alice", ["bob"], "bench.ipynb")
            assert box.run("bob", "git", "nbcollab", "clone", cid, "bench").returncode == 0
            copy = box.home("bob") / "notebooks" / "bench"
            box.run("bob", "git", "remote", "add", "plain", plain_remote(box, plain), cwd=copy)
            branch = f"refs/heads/u/{box.user('bob')}/main"
            box.run("bob", "git", "push", "-q", "plain", f"HEAD:{branch}", cwd=copy)
            done = box.run("bob", "sh", "-c", LOOP.format(n=n, branch=branch), cwd=copy)
            assert done.returncode == 0, done.stderr
        finally:
            subprocess.run(["userdel", "--remove", plain], capture_output=True)
    times: dict[str, list[float]] = {"origin": [], "plain": []}
    for line in done.stdout.split("\n"):
        if line:
            remote, ns = line.split()
            times[remote].append(int(ns) / 1e9)
    gate, base = statistics.median(times["origin"]), statistics.median(times["plain"])
    print(f"pushes of an edited notebook: {n} each, same commits, same sshd, same key")
    print(f"plain push to an unhooked bare repo: median {base * 1000:.0f} ms")
    print(f"push through the gate and hooks (checks, backups on): median {gate * 1000:.0f} ms")
    print(f"ratio gate/plain: {gate / base:.2f}x (target <= 1.3x)")
    line = audit_line_seconds()
    print(f"audit line per push: {line * 1000:.2f} ms ({line / gate:.2%} of the gate push)")
    mark = listing_mark_seconds()
    print(f"listing mark per push: {mark * 1000:.2f} ms ({mark / gate:.2%} of the gate push)")
    check_costs()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
