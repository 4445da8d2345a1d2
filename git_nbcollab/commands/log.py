"""`git nbcollab log`: who did what on the hub, from its audit log (root and the service only)."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from git_nbcollab import audit
from git_nbcollab.errors import UserError
from git_nbcollab.layout import Hub
from git_nbcollab.names import ZERO, MemberSpec, parse_spec, user
from git_nbcollab.output import say, table

_AGO = re.compile(r"([0-9]{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def since_time(text: str, now: datetime) -> str:
    """`2h`, `3d`, `30m` ago, or a UTC date or time (`2026-11-26`, `2026-11-26T01:30`), as the
    log's own time stamps spell it, so that strings compare."""
    ago = _AGO.fullmatch(text)
    if ago:
        start = now - timedelta(**{_UNITS[ago[2]]: int(ago[1])})
    else:
        try:
            start = datetime.fromisoformat(text)
        except ValueError:
            raise UserError(
                f"--since {text!r}: give a time ago (30m, 2h, 3d) or a UTC date or time"
                " (2026-11-26, 2026-11-26T01:30)"
            ) from None
        if start.tzinfo is not None:
            start = start.astimezone(UTC)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def _collab_ids(hub: Hub, text: str) -> set[str]:
    """The ids (and the text itself, as refusals log what was asked) a --collab names."""
    spec = parse_spec(text)
    if not isinstance(spec, MemberSpec):
        return {spec, text}
    from git_nbcollab.hub import listing

    found = {c.id for c in listing.named(hub, spec, write=False)}  # `list`'s index, read only
    if not found:
        raise UserError(f"no such collaboration: {text} (ids work too)")
    return found | {text, str(spec)}


def records(hub: Hub) -> list[dict[str, Any]]:
    """Every line of the log, oldest first; a line cut short by a crash is skipped."""
    found = []
    for name in audit.files(str(hub.root)):
        with open(os.path.join(audit.folder(str(hub.root)), name), "rb") as log:
            for line in log:
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
    return found


def _short(oid: str) -> str:
    return "0" if oid == ZERO else oid[:8]


def _details(record: dict[str, Any]) -> str:
    moves = [f"{m['ref']} {_short(m['old'])}..{_short(m['new'])}" for m in record.get("refs", ())]
    return "; ".join([*moves, *([record["reason"]] if record.get("reason") else [])])


def log(
    *, root: Path, collab: str | None, who: str | None, since: str | None, as_json: bool
) -> int:
    hub = Hub(root.absolute())
    settings = hub.settings
    if os.geteuid() != 0 and not os.access(audit.folder(str(hub.root)), os.R_OK | os.X_OK):
        raise UserError(f"only root or {settings.service_user} can read the audit log of {root}")
    ids = _collab_ids(hub, collab) if collab else None
    name = user(who) if who else None
    start = since_time(since, datetime.now(UTC)) if since else None
    chosen = [
        r
        for r in records(hub)
        if (ids is None or r.get("collab") in ids)
        and (name is None or r.get("user") == name)
        and (start is None or r.get("time", "") >= start)
    ]
    if as_json:
        for r in chosen:
            say(json.dumps(r))
        return 0
    rows = [(r["time"], r["user"], r["op"], r["collab"], r["result"], _details(r)) for r in chosen]
    table(("time", "user", "op", "collab", "result", "details"), rows, "no matching entries")
    return 0
