"""Push latency through the gate and hooks against a plain push over the same sshd.

Run as root: `python bench/bench_push.py [N]`. Builds a throwaway box (see tests/box.py),
then, as bob, commits N times and pushes each commit twice: to the hub through the gate and
pre-receive hook, and to an unhooked bare repo of another account over the same sshd with
the same key and no forced command. Prints the medians and their ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from git_nbcollab import audit
from tests.box import Box

LOOP = """
set -e
for i in $(seq {n}); do
  echo "$i" > counter.txt && git add counter.txt && git commit -qm "change $i"
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
    print(f"pushes: {n} each, same commits, same sshd, same key")
    print(f"plain push to an unhooked bare repo: median {base * 1000:.0f} ms")
    print(f"push through the gate and hooks (backups on): median {gate * 1000:.0f} ms")
    print(f"ratio gate/plain: {gate / base:.2f}x (target <= 1.3x)")
    line = audit_line_seconds()
    print(f"audit line per push: {line * 1000:.2f} ms ({line / gate:.2%} of the gate push)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
