"""Three-way merge of JSON values (metadata, outputs): pure Python, no notebook knowledge.

A value changed on one side takes that side. Where both sides changed one value differently:
dicts merge key by key, lists merge as sets (a tag list: what either side added, minus what
either side removed), and anything else takes the `newer` side, its path recorded in `dropped`
so the caller can say what the other side lost.
"""

from __future__ import annotations

from typing import Any, Literal

Side = Literal["ours", "theirs"]
Json = Any

MISSING: Any = object()  # a value absent on one side; never ends up in a notebook


def pick(base: Json, ours: Json, theirs: Json, newer: Side) -> Json:
    """Three-way choice of an opaque value: the side that changed it, or `newer` if both did."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    return ours if newer == "ours" else theirs


def merge_lists(base: list[Json], ours: list[Json], theirs: list[Json]) -> list[Json]:
    """Ours' items that theirs did not remove, then the items theirs added."""
    kept = [x for x in ours if x in theirs or x not in base]
    return kept + [x for x in theirs if x not in ours and x not in base]


def merge_dicts(
    base: dict[str, Json],
    ours: dict[str, Json],
    theirs: dict[str, Json],
    newer: Side,
    dropped: list[str],
    path: str = "",
) -> dict[str, Json]:
    """Merge key by key, recursing into dicts both sides changed; `dropped` collects the paths
    (`a.b`) where both sides set one value differently and `newer` was kept."""
    out: dict[str, Json] = {}
    for key in [*ours, *(k for k in theirs if k not in ours)]:
        b, o, t = base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING)
        here = f"{path}{key}"
        value: Json
        if isinstance(o, dict) and isinstance(t, dict) and o != t:
            value = merge_dicts(b if isinstance(b, dict) else {}, o, t, newer, dropped, here + ".")
        elif o == t or b in (o, t):
            value = pick(b, o, t, newer)
        elif isinstance(o, list) and isinstance(t, list):
            value = merge_lists(b if isinstance(b, list) else [], o, t)
        else:
            value = o if newer == "ours" else t
            dropped.append(here)
        if value is not MISSING:
            out[key] = value
    return out
