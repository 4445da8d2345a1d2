"""`git nbcollab project set`: a collaboration's title, task link and tags."""

from __future__ import annotations

from git_nbcollab.client import link
from git_nbcollab.commands.publish import collab_or_here
from git_nbcollab.errors import UserError
from git_nbcollab.output import say


def project_set(
    *,
    spec: str | None,
    title: str | None,
    task: str | None,
    tags: str | None,
    check_command: str | None = None,
) -> int:
    if title is None and task is None and tags is None and check_command is None:
        raise UserError("give --title, --task, --tags or --check-command to set")
    options = ["--author", *link.author()]
    given = (("--title", title), ("--task", task), ("--tags", tags))
    for flag, value in (*given, ("--check-command", check_command)):
        if value is not None:
            options += [flag, value]
    answer = link.configured().call("project", str(collab_or_here(spec)), *options)
    fields = answer["project"]
    shown = (f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in sorted(fields.items()))
    say(f"project of {answer['collab']['spec']}: {', '.join(shown)}")
    return 0
