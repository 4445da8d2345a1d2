"""Off-box backups: bytes sent, push latency with the mirror on and off, restore throughput.

Run as root: `python bench/bench_backup.py [PUSHES] [COLLABS]` (defaults 100 and 50). Builds a
throwaway box whose hub mirrors to a moto_server S3 endpoint on 127.0.0.1, then:

1. bytes: a collaboration holding ~100 MB of incompressible notebook history gets PUSHES
   small pushes from bob. Bytes stored in S3 for those pushes (bundles and manifests) are
   compared with the sum of plain incremental `git bundle`s of the same pushes, and with a
   full-repo bundle per push (what a git-remote-s3 style backup uploads).
2. latency: 20 pushes to a collaboration with the post-receive hook (mirror on) interleaved
   with 20 to one without it (mirror off); medians.
3. restore: COLLABS collaborations (one with ~4 MB of history, copied under fresh ids),
   restored from S3 into a fresh hub, against a raw download of the same objects.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from git_nbcollab import backup
from git_nbcollab.cli import nbcollab
from git_nbcollab.layout import Hub
from tests.box import Box
from tests.commands.test_backup_s3 import BUCKET, KEYS, Moto

MB = 1e6

HISTORY = """
set -e
for i in $(seq 20); do
  head -c 5000000 /dev/urandom | base64 -w 76 > data_$i.txt
  git add data_$i.txt && git commit -qm "history $i"
done
git push -q
git repack -adq
"""

SMALL_PUSH = """
set -e
branch=$(git branch --show-current)
head -c 3000 /dev/urandom | base64 > cell.txt
git add cell.txt && git commit -qm "small {i}"
git bundle create -q ../incr.bundle "$branch" --not "origin/$branch" 2>/dev/null
git bundle create -q ../full.bundle --all 2>/dev/null
echo "$(stat -c %s ../incr.bundle) $(stat -c %s ../full.bundle)"
rm ../incr.bundle ../full.bundle
git push -q
"""

LATENCY = """
set -e
echo "{i}" > counter.txt && git add counter.txt && git commit -qm "change {i}"
start=$(date +%s%N)
git push -q
echo "$(( $(date +%s%N) - start ))"
"""


def stored(moto: Moto, prefix: str) -> int:
    pages = moto.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sum(item["Size"] for page in pages for item in page.get("Contents", []))


def run_ok(box: Box, who: str, script: str, cwd: Path) -> str:
    done = box.run(who, "sh", "-c", script, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_idle(box: Box) -> None:
    assert box.admin("backup", "run") == 0
    box.backups_idle(600)


def bytes_sent(box: Box, moto: Moto, pushes: int) -> None:
    cid = box.share("alice", ["bob"], "bench-bytes.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, "bench-bytes").returncode == 0
    copy = box.home("bob") / "notebooks" / "bench-bytes"
    run_ok(box, "bob", HISTORY, copy)
    wait_idle(box)
    before = stored(moto, f"hub/collabs/{cid}/")
    start = time.perf_counter()
    sizes = []
    for i in range(pushes):
        sizes += run_ok(box, "bob", SMALL_PUSH.format(i=i), copy).split()
    elapsed = time.perf_counter() - start
    wait_idle(box)
    sent = stored(moto, f"hub/collabs/{cid}/") - before
    incr = sum(int(s) for s in sizes[0::2])
    full = sum(int(s) for s in sizes[1::2])
    entries = len(
        list(moto.client().list_objects_v2(Bucket=BUCKET, Prefix=f"hub/collabs/{cid}/")["Contents"])
    )
    print(f"[bytes] history in S3 before the pushes: {before / MB:.1f} MB")
    print(f"[bytes] {pushes} small pushes in {elapsed:.1f} s; {entries} objects in the chain now")
    print(f"[bytes] sent to the mirror (bundles + manifests): {sent / 1e3:.1f} kB")
    print(f"[bytes] sum of plain incremental git bundles: {incr / 1e3:.1f} kB")
    print(f"[bytes] ratio mirror/plain incremental: {sent / incr:.3f}x (target <= 1.1x)")
    print(f"[bytes] full-repo bundle per push (git-remote-s3 style): {full / MB:.1f} MB")
    print(f"[bytes] ratio full-per-push/mirror: {full / sent:.0f}x")
    every = Hub(box.root).settings.full_every
    last_full = full / pushes
    chain = incr / pushes * every
    print(f"[bytes] a new chain every {every} entries adds a full bundle (~{last_full / MB:.0f} MB")
    print(
        f"[bytes]   here): amortized over {every} such pushes, {(chain + last_full) / chain:.1f}x"
    )


def latency(box: Box, n: int) -> None:
    base = box.home("bob") / "notebooks" / "bench-latency"
    run_ok(box, "bob", f"mkdir -p {base}", box.home("bob") / "notebooks")
    for label in ("on", "off"):
        cid = box.share("alice", ["bob"], f"bench-lat-{label}.ipynb")
        assert box.run("bob", "git", "nbcollab", "clone", cid, str(base / label)).returncode == 0
        if label == "off":  # the same hub and gate, without the post-receive hook
            (box.root / "collabs" / f"{cid}.git" / "hooks" / "post-receive").unlink()
    wait_idle(box)
    times: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(n):
        for label in ("on", "off"):
            ns = run_ok(box, "bob", LATENCY.format(i=i), base / label)
            times[label].append(int(ns) / 1e9)
            box.backups_idle(120)  # each push is timed alone, not against the last one's upload
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    wait_idle(box)
    print(f"[latency] {n} pushes each, alternating, same hub, gate and pre-receive hook;")
    print("[latency]   each timed alone (the previous push's uploader finished first)")
    print(f"[latency] mirror off: median {off * 1000:.0f} ms; mirror on: median {on * 1000:.0f} ms")
    print(f"[latency] ratio on/off: {on / off:.3f}x (target <= 1.1x)")


def many_collabs(box: Box, n: int) -> list[str]:
    cid = box.share("alice", ["bob"], "bench-restore.ipynb")
    assert box.run("bob", "git", "nbcollab", "clone", cid, "bench-restore").returncode == 0
    copy = box.home("bob") / "notebooks" / "bench-restore"
    run_ok(box, "bob", HISTORY.replace("seq 20", "seq 1").replace("5000000", "3000000"), copy)
    collabs = box.root / "collabs"
    source = collabs / f"{cid}.git"
    meta = json.loads((source / "collab.json").read_text())
    made = [cid]
    for i in range(n - 1):
        new = f"{0xB0000000 + i:08x}"
        shutil.copytree(source, collabs / f"{new}.git", symlinks=True)
        (collabs / f"{new}.git" / "collab.json").write_text(
            json.dumps({**meta, "id": new, "name": f"bench-restore-{i}"}, indent=1)
        )
        made.append(new)
    subprocess.run(["chown", "-R", f"{box.service}:{box.service}", str(collabs)], check=True)
    for new in made[1:]:
        backup.request(str(box.root), new)
    subprocess.run(
        ["chown", "-R", f"{box.service}:{box.service}", str(box.root / "spool")], check=True
    )
    wait_idle(box)
    return made


def restore_speed(box: Box, moto: Moto, n: int) -> None:
    made = many_collabs(box, n)
    client: Any = moto.client()
    keys = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="hub/")
        for item in page.get("Contents", [])
    ]
    total = stored(moto, "hub/")
    new = box.base / "restored"
    init = ["init", "--root", str(new), "--service-user", box.service, "--team-group", box.team]
    init += ["--ssh", f"127.0.0.1:{box.port}", "--bin-dir", str(box.bin_dir)]
    assert nbcollab([*init, "--mirror", f"s3://{BUCKET}/other", "--s3-endpoint", moto.url]) == 0
    start = time.perf_counter()
    args = ["restore", "--from", f"s3://{BUCKET}/hub", "--s3-endpoint", moto.url]
    assert nbcollab([*args, "--root", str(new)]) == 0
    restore_s = time.perf_counter() - start
    restored = len(list((new / "collabs").glob("*.git")))
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        for key in keys:
            client.download_file(BUCKET, key, os.path.join(scratch, "object"))
        raw_s = time.perf_counter() - start
    print(f"[restore] {restored} collaborations restored ({len(made)} made for it)")
    print(f"[restore] {len(keys)} objects, {total / MB:.1f} MB in the store")
    print(
        f"[restore] restore (download, sha256, unbundle, fsck, refs, move in): {restore_s:.1f} s,"
    )
    print(f"[restore]   {total / MB / restore_s:.1f} MB/s")
    print(
        f"[restore] raw download of the same objects: {raw_s:.1f} s, {total / MB / raw_s:.1f} MB/s"
    )
    print(f"[restore] restore/raw throughput: {raw_s / restore_s:.2f}")


def main(pushes: int = 100, collabs: int = 50) -> None:
    os.environ.update(KEYS)
    moto = Moto(Path(tempfile.mkdtemp()) / "moto.log")
    moto.start()
    try:
        extra = ("--mirror", f"s3://{BUCKET}/hub", "--s3-endpoint", moto.url)
        with Box.started(*extra) as box:
            aws = box.root / ".aws"
            (aws / "credentials").write_text(
                "[default]\n" + "".join(f"{k.lower()} = {v}\n" for k, v in KEYS.items())
            )
            (aws / "credentials").chmod(0o600)
            shutil.chown(aws / "credentials", box.service, box.service)
            bytes_sent(box, moto, pushes)
            latency(box, 20)
            restore_speed(box, moto, collabs)
    finally:
        moto.stop()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
