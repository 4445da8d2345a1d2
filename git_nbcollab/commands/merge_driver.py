"""`git nbcollab merge-driver %O %A %B %P`: git's merge driver for notebooks, cell by cell.

Working copies register it (`merge.nbcollab.driver`, and `*.ipynb merge=nbcollab` in
`.git/info/attributes`), so `git pull`, `git stash pop`, `git rebase` and jupyterlab-git merge
notebooks the way `git nbcollab sync` does. git hands over temporary files: the ancestor's
version (empty when both sides added the notebook), ours (the result goes there) and theirs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from git_nbcollab.errors import UserError
from git_nbcollab.notebooks import filemerge


def merge_driver(*, base: Path, ours: Path, theirs: Path, path: str) -> int:
    """0 when the notebook merged cleanly; 1 when cells collide (the file then holds both
    versions of each, marked) or a side is not a notebook (the file is left as it was)."""
    settings = filemerge.Settings.from_env(os.environ)
    try:
        ancestor, mine, other = (p.read_bytes() for p in (base, ours, theirs))
    except OSError as e:
        raise UserError(
            f"cannot read {e.filename}: {e.strerror} (git runs this with its own three files)"
        ) from None
    merged = filemerge.merge_file(ancestor or None, mine, other, settings)
    ours.write_bytes(merged.data)
    filemerge.write_note(settings, mine, other, merged.notes)
    for line in [*merged.notes, *merged.conflicts]:
        print(f"{path}: {line}", file=sys.stderr)
    return 1 if merged.conflicts else 0
