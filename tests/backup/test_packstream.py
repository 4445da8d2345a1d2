"""A bundle chain laid end to end as one pack: the same objects as replaying it bundle by bundle."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from git_nbcollab import proc
from git_nbcollab.backup import packstream
from git_nbcollab.backup.spool import sha256_file


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], input=input, capture_output=True, check=True
    )
    return done.stdout.decode()


def objects(repo: Path) -> set[str]:
    return {line.split()[0] for line in git(repo, "rev-list", "--objects", "--all").splitlines()}


def make_chain(tmp_path: Path, pushes: int) -> tuple[Path, list[Path]]:
    """A repo with a large text file edited a little per commit, and a bundle per commit
    (`--all --not` the previous tip), as the spool makes them: thin deltas on earlier bundles."""
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", str(work))
    lines = [f"line {i} " + "x" * 60 for i in range(20000)]
    bundles, tip = [], ""
    for i in range(pushes):
        lines[i * 97 % len(lines)] = f"edited {i}"
        (work / "big.txt").write_text("\n".join(lines))
        git(work, "add", "big.txt")
        git(work, "commit", "-qm", f"edit {i}")
        bundle = tmp_path / f"{i}.bundle"
        basis = f"^{tip}\n".encode() if tip else b""
        git(work, "bundle", "create", "-q", str(bundle), "--all", "--stdin", input=basis)
        tip = git(work, "rev-parse", "HEAD").strip()
        bundles.append(bundle)
    return work, bundles


def test_a_chain_indexes_as_one_pack_with_every_object(tmp_path: Path) -> None:
    work, bundles = make_chain(tmp_path, 6)
    assert packstream.pack_offset(bundles[3])[1] < 5, "later bundles are small and thin"
    dest = tmp_path / "dest.git"
    git(tmp_path, "init", "-q", "--bare", str(dest))
    chunks = packstream.chain_pack(bundles)
    proc.feed("git", "--git-dir", str(dest), "index-pack", "--stdin", chunks=chunks)
    assert len(list((dest / "objects" / "pack").glob("*.pack"))) == 1
    git(dest, "update-ref", "refs/heads/main", git(work, "rev-parse", "HEAD").strip())
    git(dest, "fsck", "--strict")
    assert objects(dest) == objects(work)


def test_a_thin_bundle_alone_does_not_index(tmp_path: Path) -> None:
    _, bundles = make_chain(tmp_path, 3)
    dest = tmp_path / "dest.git"
    git(tmp_path, "init", "-q", "--bare", str(dest))
    with pytest.raises(proc.ProcessError, match="index-pack"):
        proc.feed(
            "git",
            "--git-dir",
            str(dest),
            "index-pack",
            "--stdin",
            chunks=packstream.chain_pack(bundles[1:]),
        )


@pytest.mark.parametrize(
    "text", [b"not a bundle\n", b"# v2 git bundle\nabc refs/heads/x\n", b"# v2 git bundle\n\nJUNK"]
)
def test_what_is_not_a_bundle_is_named(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "x.bundle"
    path.write_bytes(text)
    with pytest.raises(packstream.NotABundle):
        packstream.pack_offset(path)


def test_a_chain_whose_bundles_repeat_objects_still_restores(tmp_path: Path) -> None:
    """git may put an object in a bundle that an earlier one of the chain already had: the
    one-pass stream then refuses ("duplicate base"), and replay indexes bundle by bundle."""
    from types import SimpleNamespace

    from git_nbcollab.backup import replay

    work, bundles = make_chain(tmp_path, 4)
    again = tmp_path / "again.bundle"  # bundles 2 and 3 again, on bundle 1
    basis = git(work, "rev-parse", "HEAD~2").strip()
    args = ["bundle", "create", "-q", str(again), "--all", "--stdin"]
    git(work, *args, input=f"^{basis}\n".encode())
    chain = [*bundles, again]
    for way in ("one pass", "replay"):
        dest = tmp_path / f"{way}.git"
        git(tmp_path, "init", "-q", "--bare", str(dest))
        if way == "one pass":
            with pytest.raises(proc.ProcessError, match=r"duplicate|already"):
                stream = packstream.chain_pack(chain)
                proc.feed("git", "--git-dir", str(dest), "index-pack", "--stdin", chunks=stream)
            continue
        manifests = [SimpleNamespace(name="chain", bundle_sha256=sha256_file(b)) for b in chain]
        replay.index_chain(chain, manifests, [None] * len(chain), dest, prove=False)  # type: ignore[arg-type]
        git(dest, "update-ref", "refs/heads/main", git(work, "rev-parse", "HEAD").strip())
        git(dest, "fsck", "--strict")
        assert objects(dest) == objects(work)
