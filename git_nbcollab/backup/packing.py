"""Keeping the hub's repos packed with deltas, without ever dropping an object.

Collaboration repos have `gc.auto=0` (nothing runs on its own). Each push lands as a pack of
its own (the gate sets `receive.unpackLimit=1`: loose objects moved in by a push could race
the `-d` below) and carries its delta bases whole: about what its loose objects weighed, a
whole notebook for a one-cell edit. Publish writes loose objects. The uploader, which runs
detached after every push and hub-side change, packs each repo it has just bundled.

The rule, for the backup chain's sake: packing never prunes. `git repack -a -d -k` rewrites
every object into one pack with deltas and keeps the unreachable ones (`-k`), so no object
changes or disappears and every chain can still be continued. A gc that prunes (run by an
admin by hand) may drop a tip the spool's next bundle builds on; the spool then starts a new
chain with a full bundle (`spool.plan`), rather than a bundle that could not be made.
"""

from __future__ import annotations

from pathlib import Path

from git_nbcollab import proc

# Reachability bitmaps (written by default when repacking a bare repo) make pack-objects send a
# new object whole instead of as a delta on what the other side has: each incremental bundle
# of a one-cell edit then weighed the whole 15 MB notebook. Neither written nor used here.
NO_BITMAPS = ("-c", "repack.writeBitmaps=false", "-c", "pack.useBitmaps=false")


def needs_packing(repo: Path) -> bool:
    """Loose objects, or more than one pack (each push that was kept as a pack adds one)."""
    listing = proc.out("git", "--git-dir", str(repo), "count-objects", "-v")
    counts = dict(line.split(": ", 1) for line in listing.splitlines())
    return int(counts.get("count", 0)) > 0 or int(counts.get("packs", 0)) > 1


def pack(repo: Path) -> bool:
    """Repack `repo` into one pack with deltas when it needs it; True when it did."""
    if not needs_packing(repo):
        return False
    proc.run("git", "--git-dir", str(repo), *NO_BITMAPS, "repack", "-a", "-d", "-k", "-q")
    return True


def missing(repo: Path, oids: list[str]) -> list[str]:
    """Which of `oids` the repo no longer has (a pruning gc took them)."""
    if not oids:
        return []
    stdin = "".join(f"{oid}\n" for oid in oids).encode()
    answer = proc.out("git", "--git-dir", str(repo), "cat-file", "--batch-check", input=stdin)
    return [line.split()[0] for line in answer.splitlines() if line.endswith(" missing")]
