"""Which cells of base, ours and theirs are one cell, and in what order they come out.

Every cell gets a key; cells with one key on several sides are the same cell. Ids are keys only
when they are identities: every cell has one, none repeats, they are not positions (nbstripout
writes "0", "1", ...), and each side shares some with the base (or, with no base, with the other
side); JupyterLab 4 gives a 4.4 notebook fresh random ids on each side, which share nothing.
Otherwise the notebook module aligns the sides by content and builds keys with `keyed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any, Literal

Side = Literal["ours", "theirs"]
Cell = dict[str, Any]
Keys = tuple[list[str], list[str], list[str]]
CONTENT = ("cell_type", "source", "attachments")


def content(cell: Cell | None) -> tuple[Any, ...] | None:
    return None if cell is None else tuple(cell.get(k) for k in CONTENT)


def _identities(ids: list[Any]) -> bool:
    if not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
        return False
    return not ids or ids != [str(i) for i in range(len(ids))]


def ids_are_identities(base: Sequence[Cell], ours: Sequence[Cell], theirs: Sequence[Cell]) -> bool:
    sides = [[c.get("id") for c in cells] for cells in (base, ours, theirs)]
    if not all(_identities(ids) for ids in sides):
        return False
    b, o, t = (set(ids) for ids in sides)
    return all(not side or not ref or side & ref for side, ref in ((o, b or t), (t, b or o)))


def id_keys(sides: Sequence[Sequence[Cell]]) -> Keys:
    b, o, t = ([str(c["id"]) for c in cells] for cells in sides)
    return b, o, t


def keyed(matches: Sequence[int | None], ref_keys: Sequence[str], prefix: str) -> list[str]:
    """Keys for a side aligned to a reference: the reference cell's key where matched."""
    return [ref_keys[m] if m is not None else f"{prefix}{j}" for j, m in enumerate(matches)]


def _anchored(keys: Sequence[str], skeleton: set[str]) -> dict[str | None, list[str]]:
    """Group each side-only key under the nearest skeleton key before it (None: the start)."""
    groups: dict[str | None, list[str]] = {None: []}
    anchor: str | None = None
    for key in keys:
        if key in skeleton:
            anchor = key
            groups.setdefault(key, [])
        else:
            groups[anchor].append(key)
    return groups


def unify_additions(keys: Keys, ours: Sequence[Cell], theirs: Sequence[Cell]) -> list[str]:
    """Theirs' keys, where a cell both sides added after the same cell with the same content
    takes ours' key: the same change made twice is one change."""
    kb, ko, kt = keys
    skeleton, base = set(ko) & set(kt), set(kb)
    added = {k for k in ko if k not in skeleton and k not in base}
    ours_by_key = dict(zip(ko, ours, strict=True))
    groups = _anchored(ko, skeleton)
    out, used, anchor = list(kt), set[str](), None
    for j, key in enumerate(kt):
        if key in skeleton:
            anchor = key
        elif key not in base:
            same = content(theirs[j])
            match = next(
                (k for k in groups.get(anchor, []) if k in added - used
                 and content(ours_by_key[k]) == same),
                None,
            )  # fmt: skip
            if match is not None:
                used.add(match)
                out[j] = match
    return out


def _moved(base: list[str], side: list[str]) -> set[str]:
    """The keys a side moved: those outside its longest common order with the base."""
    blocks = SequenceMatcher(None, base, side, autojunk=False).get_matching_blocks()
    return set(side) - {side[b.b + k] for b in blocks for k in range(b.size)}


def _before(order: list[str], key: str) -> str | None:
    i = order.index(key)
    return order[i - 1] if i else None


def _apply_moves(order: list[str], side: list[str], moved: set[str]) -> None:
    """Put each moved key after the key it follows on its side, in that side's order."""
    for key in (k for k in side if k in moved and k not in order):
        prev = _before(side, key)
        while prev is not None and prev not in order:
            prev = _before(side, prev)
        order.insert(0 if prev is None else order.index(prev) + 1, key)


def _skeleton(sb: list[str], so: list[str], st: list[str], newer: Side) -> tuple[list[str], bool]:
    """The order of the cells both sides have: both sides' moves applied to the base order; a
    cell both moved to different places goes where `newer` put it (then the flag is True)."""
    if so == st or st == sb:
        return so, False
    if so == sb:
        return st, False
    mo, mt = _moved(sb, so), _moved(sb, st)
    clash = {k for k in mo & mt if _before(so, k) != _before(st, k)}
    order = [k for k in sb if k not in mo | mt]
    (old, old_moved), (new, new_moved) = (st, mt), (so, mo)
    if newer == "theirs":
        (old, old_moved), (new, new_moved) = (new, new_moved), (old, old_moved)
    _apply_moves(order, old, old_moved - clash)
    _apply_moves(order, new, new_moved)
    return order, bool(clash)


def merge_order(keys: Keys, newer: Side) -> tuple[list[str], bool]:
    """Order of all keys of ours and theirs: the cells both have with both sides' moves (a cell
    both moved differently: where `newer` put it, and the flag is True), each side's other cells
    after the cell they follow there, ours first."""
    kb, ko, kt = keys
    common = set(ko) & set(kt)
    sb, so, st = ([k for k in ks if k in common] for ks in (kb, ko, kt))
    skeleton, clash = _skeleton(sb, so, st, newer)
    after_o, after_t = _anchored(ko, common), _anchored(kt, common)
    order: list[str] = []
    for anchor in [None, *skeleton]:
        if anchor is not None:
            order.append(anchor)
        order += after_o.get(anchor, []) + after_t.get(anchor, [])
    return list(dict.fromkeys(order)), clash
