"""`git nbcollab list`: the collaborations you belong to."""

from __future__ import annotations

from git_nbcollab.client import link
from git_nbcollab.output import print_json, table


def list_collabs(*, as_json: bool = False) -> int:
    answer = link.configured(link.read_config()).call("list")  # one git command, not two
    if as_json:
        print_json(answer["collabs"])
        return 0
    rows = [
        (c["id"], c["name"], ", ".join(c["members"]), ", ".join(c["branches"]))
        for c in answer["collabs"]
    ]
    table(
        ("id", "name", "members", "branches"),
        rows,
        empty="no collaborations yet: start one with `git nbshare TEAMMATE notebook.ipynb`",
    )
    return 0
