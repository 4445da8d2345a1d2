"""`git nbcollab merge-driver %O %A %B %P`: git's merge driver for notebooks, cell by cell.

Working copies register it (`merge.nbcollab.driver`, and `*.ipynb merge=nbcollab` in
`.git/info/attributes`), so `git pull`, `git stash pop`, `git rebase` and jupyterlab-git merge
notebooks the way `git nbcollab sync` does. git hands over temporary files: the ancestor's
version (empty when both sides added the notebook), ours (the result goes there) and theirs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from git_nbcollab.errors import USAGE, UserError, run_main
from git_nbcollab.notebooks import deferred, filemerge, notebook


def merge_driver(*, base: Path, ours: Path, theirs: Path, path: str) -> int:
    """0 when the notebook merged cleanly; 1 when cells collide (the file then holds both
    versions of each, marked) or a side is not a notebook (the file is left as it was)."""
    settings = filemerge.Settings.from_env(os.environ)
    try:  # the merge reads each file when it needs it: an 80 MB notebook is not held three times
        for given in (base, ours, theirs):
            given.open("rb").close()
        ancestor = base if base.stat().st_size else None
    except OSError as e:
        raise UserError(
            f"cannot read {e.filename}: {e.strerror} (git runs this with its own three files)"
        ) from None
    if any(deferred.is_stand_in(f) for f in (base, ours, theirs)):
        ours.write_bytes(deferred.describe(ancestor, ours, theirs))  # the tree merge merges it
        return 1
    merged = filemerge.merge_file(ancestor, ours, theirs, settings)
    if settings.notes and merged.notes:  # which merge they belong to: ours before it is written
        filemerge.write_note(
            settings, notebook.blob_id(ours), notebook.blob_id(theirs), merged.notes
        )
    ours.write_bytes(merged.data)
    for line in [*merged.notes, *merged.conflicts]:
        print(f"{path}: {line}", file=sys.stderr)
    return 1 if merged.conflicts else 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m git_nbcollab.commands.merge_driver %O %A %B %P`, as the tree merge has git run
    it for every notebook: the same driver without building every command's parser first."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (3, 4):
        print("usage: python -m git_nbcollab.commands.merge_driver BASE OURS THEIRS [PATH]",
              file=sys.stderr)  # fmt: skip
        return USAGE
    base, ours, theirs = (Path(a) for a in args[:3])
    path = args[3] if len(args) == 4 else ""
    return run_main(
        "git nbcollab merge-driver",
        lambda: merge_driver(base=base, ours=ours, theirs=theirs, path=path),
    )


if __name__ == "__main__":
    sys.exit(main())
