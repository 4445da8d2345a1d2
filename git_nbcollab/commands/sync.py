"""`git nbcollab sync`: commit your work, merge the others' cell by cell, push your branch
(the work: `client.sync`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from git_nbcollab.client import sync as syncing
from git_nbcollab.errors import UserError
from git_nbcollab.output import say

if TYPE_CHECKING:
    from git_nbcollab.notebooks import treemerge

SHOWN = 10  # untracked files named before "and N more"


def _listed(paths: tuple[str, ...]) -> str:
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def sync(
    *,
    resolve: treemerge.Resolve,
    outputs: treemerge.Outputs,
    message: str,
    take_saved: bool = False,
) -> int:
    done = syncing.sync(resolve=resolve, outputs=outputs, message=message, take_saved=take_saved)
    if done.commit is None:
        from git_nbcollab.notebooks import treemerge

        raise UserError(treemerge.report(done.conflicts, stopped="sync stopped"))
    for line in done.notes:
        say(line)
    if done.committed:
        say(f"committed {_listed(done.committed)}")
    if done.left_out:
        say(
            f"left out untracked files (not notebooks): {_listed(done.left_out)};"
            " share one with `git add FILE && git nbcollab sync`"
        )
    merged_with = ", ".join(done.merged_with) or "nobody else yet"
    say(f"synced {done.branch}: your work, merged with {merged_with}, is pushed")
    return 0
