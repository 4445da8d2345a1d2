"""A notebook's large outputs (base64 images): what makes a 20 MB or an 80 MB notebook large.

Writing: json's indenting encoder runs in Python and spends ~0.25 s on a 20 MB notebook escaping
image payloads that need no escaping (base64 text). `swap` puts tokens in their place that no
notebook can contain (a NUL and a random hex), the writer writes the rest, and `put_back` puts
the payloads back into the bytes, each written once. Merging: `sharing` has the sides of a merge
hold an image that nobody re-ran once, not three times.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from typing import Any

_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")
_TOKEN = re.compile(r"\\u0000([0-9a-f]{32}-[0-9]+)")
_PAYLOAD_MIN = 1024

Pool = dict[tuple[int, str], list[str]]  # the large values seen so far, by length and start


def swap(nb: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A shallow copy of nb whose large base64 image outputs are tokens; the payloads by token."""
    payloads: dict[str, str] = {}
    prefix = uuid.uuid4().hex
    cells = []
    for cell in nb["cells"]:
        outputs = [_swap_output(out, payloads, prefix) for out in cell.get("outputs", ())]
        cells.append({**cell, "outputs": outputs} if "outputs" in cell else cell)
    return {**nb, "cells": cells}, payloads


def _swap_output(output: Any, payloads: dict[str, str], prefix: str) -> Any:
    data = output.get("data")
    if not isinstance(data, dict):
        return output
    swapped = dict(data)
    for mime, value in data.items():
        # image/svg+xml is text that nbformat splits into lines: leave it to nbformat.
        if not mime.startswith("image/") or mime == "image/svg+xml" or not isinstance(value, str):
            continue
        if len(value) >= _PAYLOAD_MIN and _BASE64.fullmatch(value):
            key = f"{prefix}-{len(payloads)}"
            payloads[key] = value
            swapped[mime] = f"\0{key}"
    return {**output, "data": swapped}


def put_back(text: str, payloads: dict[str, str]) -> bytes:
    """The written notebook `text` as bytes, with the payloads back in place of their tokens
    (escaped as json would have: not at all) and Jupyter's trailing newline."""
    out = io.BytesIO()  # its value is handed over, not copied: a large notebook is held once
    for i, piece in enumerate(_TOKEN.split(text)):
        if i % 2 == 0:
            out.write(piece.encode("utf-8"))
        elif piece in payloads:
            out.write(payloads[piece].encode("ascii"))
        else:  # not one of ours (text that looks like a token): as it was
            out.write(b"\\u0000" + piece.encode())
    if not text.endswith("\n"):
        out.write(b"\n")
    return out.getvalue()


# A large base64 value as Jupyter writes it after its key: in valid JSON, `": "` can only end a
# key (a quote inside a string is escaped), and base64 needs no escaping.
_LITERAL = re.compile(rb'": "([A-Za-z0-9+/=]{%d,})"' % _PAYLOAD_MIN)


def _pooled(value: str, pool: Pool) -> str:
    """The copy of `value` a notebook read before holds (into `pool`), else `value`."""
    seen = pool.setdefault((len(value), value[:_PAYLOAD_MIN]), [])
    found = next((v for v in seen if v == value), None)
    if found is None:
        seen.append(value)
    return found or value


def lifted(data: bytes, pool: Pool) -> tuple[str, dict[str, str]]:
    """A notebook's bytes as text with each large base64 value a token, and the values by
    token (shared through `pool`): the bytes and a whole text copy are never held together,
    nor a second copy of an image a notebook read before holds. `sharing` puts them back."""
    prefix = uuid.uuid4().hex
    values: dict[str, str] = {}

    def lift(match: re.Match[bytes]) -> bytes:
        key = f"{prefix}-{len(values)}"
        values[f"\0{key}"] = _pooled(match.group(1).decode("ascii"), pool)
        return b'": "\\u0000' + key.encode() + b'"'

    return _LITERAL.sub(lift, data).decode("utf-8"), values


def sharing(pool: Pool, values: dict[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A JSON object hook that puts the values `lifted` took out back, and gives each large
    string a notebook read before holds too that notebook's copy, as it is parsed: the sides of
    a merge hold an image once, and a side's own copy is let go as soon as it is made."""

    def share(obj: dict[str, Any]) -> dict[str, Any]:
        for key, value in obj.items():
            if isinstance(value, str) and value[:1] == "\0" and value in values:
                obj[key] = values[value]
            elif isinstance(value, str) and len(value) >= _PAYLOAD_MIN:
                obj[key] = _pooled(value, pool)
        return obj

    return share
