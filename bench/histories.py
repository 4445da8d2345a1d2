"""The merge publish does, on the histories that reach it, measured with every process added up.

Each case is a bare repo (packed with deltas, as the hub keeps them) holding alice's and bob's
tips, whose merge is the one `git nbpublish` makes: the notebook changed on both sides at one
path with one merge base ("common"), renamed by alice and edited by both ("rename"), added by
both ("both added"), and edited on both sides of a criss-cross history, whose two merge bases
git merges into a virtual base ("criss-cross"). `peaks` runs `treemerge.merge` on each in a fresh
process (`proctree`), as the tree merge does now and the old way (git's merge-tree running the
merge driver on every notebook), and optionally as another version of the package does (the
code before a change), and checks that every way made the same commit tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from proctree import Peak, peak

from git_nbcollab.notebooks import notebook

REPO = Path(__file__).resolve().parent.parent
CASES = ("common", "rename", "both added", "criss-cross")

MERGE = """
import sys
from pathlib import Path
from git_nbcollab import repo
from git_nbcollab.notebooks import treemerge
if sys.argv[1] == "old":
    treemerge._deferred = lambda *args: ({}, False)
with repo.staging(Path(sys.argv[2])) as staged:
    sides = [treemerge.Side(n, c) for n, c in zip(("alice", "bob"), sys.argv[3:])]
    merged = treemerge.merge(staged.repo, sides, author=("a", "a@example.invalid"))
    assert merged.commit, merged.conflicts
    print(staged.repo.revparse_single(merged.commit).tree_id)
"""


def _git(repo: Path, *args: str, data: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True, check=True)
    return done.stdout.decode().strip()


def _commit(repo: Path, files: Mapping[str, Path], *parents: str) -> str:
    entries = "".join(
        f"100644 blob {_git(repo, 'hash-object', '-w', str(path))}\t{name}\n"
        for name, path in files.items()
    )
    tree = _git(repo, "mktree", data=entries.encode())
    return _git(repo, "commit-tree", tree, *(a for p in parents for a in ("-p", p)), "-m", "x")


def _changed(source: Path, target: Path, *, cell: int | None, appended: str = "") -> Path:
    """`source` with one cell's source changed, or a cell appended (a copy of the last)."""
    doc = json.loads(source.read_bytes())
    if cell is not None:
        doc["cells"][cell]["source"] = f"# changed in {target.stem}"
    if appended:
        doc["cells"].append({**doc["cells"][-1], "id": "new", "source": appended})
    target.write_bytes(notebook.dumps(notebook.read(json.dumps(doc), target.name)))
    return target


def _criss_cross(repo: Path, folder: Path, base: Path, ours: Path, theirs: Path) -> tuple[str, str]:
    """alice's and bob's tips after each merged the other's first edit (at the same time: two
    merge bases) and edited one more cell."""
    root = _commit(repo, {"big.ipynb": base})
    a1, b1 = (_commit(repo, {"big.ipynb": side}, root) for side in (ours, theirs))
    merged = notebook.merge(base, ours, theirs, ours_name="alice", theirs_name="bob")
    assert merged.notebook is not None, merged.conflicts
    both = folder / "both.ipynb"
    both.write_bytes(merged.notebook)
    ma, mb = (_commit(repo, {"big.ipynb": both}, *parents) for parents in ((a1, b1), (b1, a1)))
    a2 = _changed(both, folder / "alice2.ipynb", cell=5)
    b2 = _changed(both, folder / "bob2.ipynb", cell=150)
    return _commit(repo, {"big.ipynb": a2}, ma), _commit(repo, {"big.ipynb": b2}, mb)


def make(
    folder: Path, inputs: Mapping[str, Path], cases: Sequence[str] = CASES
) -> dict[str, tuple[Path, str, str]]:
    """case -> (bare repo, alice's tip, bob's tip), from `write_inputs`' base, ours and theirs
    (and a small file, "readme")."""
    base, ours, theirs, readme = (inputs[n] for n in ("base", "ours", "theirs", "readme"))
    added = _changed(ours, folder / "bob-added.ipynb", cell=None, appended="bob = 1")
    forks = {  # the first commit's files, alice's, bob's
        "common": ({"big.ipynb": base}, {"big.ipynb": ours}, {"big.ipynb": theirs}),
        "rename": ({"draft.ipynb": base}, {"big.ipynb": ours}, {"draft.ipynb": theirs}),
        "both added": (
            {"README": readme},
            {"README": readme, "big.ipynb": ours},
            {"README": readme, "big.ipynb": added},
        ),
    }
    made = {}
    for case in cases:
        repo = folder / f"{case.replace(' ', '-')}.git"
        _git(folder, "init", "-q", "--bare", str(repo))
        if case in forks:
            root = _commit(repo, forks[case][0])
            tips = _commit(repo, forks[case][1], root), _commit(repo, forks[case][2], root)
        else:
            tips = _criss_cross(repo, folder, base, ours, theirs)
        for who, tip in zip(("alice", "bob"), tips, strict=True):
            _git(repo, "update-ref", f"refs/heads/{who}", tip)
        _git(repo, "repack", "-adq")
        made[case] = (repo, tips[0], tips[1])
    return made


def peaks(
    made: Mapping[str, tuple[Path, str, str]], before: Path | None = None
) -> dict[str, dict[str, Peak]]:
    """case -> {"new": peak, "old": peak} of the merge publish makes, each in a fresh process,
    and "before": the same with the package found in `before` (another version's source)."""
    ways = {"new": ("new", REPO), "old": ("old", REPO)}
    if before is not None:
        ways["before"] = ("new", before)
    found: dict[str, dict[str, Peak]] = {}
    for case, (repo, alice, bob) in made.items():
        trees = {}
        for way, (how, code) in ways.items():
            cmd = [sys.executable, "-c", MERGE, how, str(repo), alice, bob]
            seen, done = peak(cmd, cwd="/", env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"})
            assert done.returncode == 0, done.stderr.decode()
            found.setdefault(case, {})[way] = seen
            trees[way] = done.stdout
        assert len(set(trees.values())) == 1, f"{case}: the ways merged differently: {trees}"
    return found
