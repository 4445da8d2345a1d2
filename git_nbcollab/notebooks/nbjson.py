"""nbformat's v4 JSON form without importing nbformat: what `nbformat.v4.to_notebook_json`
makes of a parsed file (`to_node`) and what `nbformat.v4.writes` writes (`writes`), byte for
byte (tests/notebooks/test_nbjson.py compares both with nbformat on every notebook nbdime
ships). nbformat's import (jsonschema, ~150 ms) cost a sync's merge more than the merge itself;
its schema is checked without it by `check`.
"""

from __future__ import annotations

import json
from typing import Any

_TRANSIENT = ("orig_nbformat", "orig_nbformat_minor", "signature")  # notebook metadata
_SPLIT_MIMES = ("application/javascript", "image/svg+xml")  # split into lines, as text/*
_BUNDLES = ("execute_result", "display_data")  # outputs whose `data` is a mime bundle


class Node(dict[str, Any]):
    """A dict whose keys read and write as attributes, as nbformat's NotebookNode."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


def from_dict(value: Any) -> Any:
    """Every dict in `value` a Node (lists and tuples become lists), as nbformat's from_dict."""
    if isinstance(value, dict):
        return Node({k: from_dict(v) for k, v in value.items()})
    if isinstance(value, (tuple, list)):
        return [from_dict(v) for v in value]
    return value


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def _rejoined(bundle: dict[str, Any]) -> None:
    for mime, value in list(bundle.items()):
        lines = isinstance(value, list) and all(isinstance(line, str) for line in value)
        if lines and not _is_json_mime(mime):
            bundle[mime] = "".join(value)


def to_node(doc: dict[str, Any]) -> Node:
    """A parsed v4 notebook as nbformat reads it: Nodes, text rejoined from its lines, and the
    transient values (the signature, each cell's `trusted`) left out."""
    nb: Node = from_dict(doc)
    for cell in nb["cells"]:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        for attachment in cell.get("attachments", {}).values():
            _rejoined(attachment)
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type", "")
            if kind in _BUNDLES:
                _rejoined(output.get("data", {}))
            elif kind and isinstance(output.get("text", ""), list):
                output["text"] = "".join(output["text"])
    for key in _TRANSIENT:
        nb["metadata"].pop(key, None)
    for cell in nb["cells"]:
        cell["metadata"].pop("trusted", None)
    return nb


def _split(bundle: dict[str, Any]) -> dict[str, Any]:
    return {
        mime: value.splitlines(True)
        if isinstance(value, str) and (mime.startswith("text/") or mime in _SPLIT_MIMES)
        else value
        for mime, value in bundle.items()
    }


def _written_output(output: dict[str, Any]) -> dict[str, Any]:
    if output["output_type"] in _BUNDLES:
        return {**output, "data": _split(output["data"])} if "data" in output else output
    if output["output_type"] == "stream" and isinstance(output["text"], str):
        return {**output, "text": output["text"].splitlines(True)}
    return output


def _written_cell(cell: dict[str, Any]) -> dict[str, Any]:
    out = {**cell, "metadata": {k: v for k, v in cell["metadata"].items() if k != "trusted"}}
    if isinstance(cell.get("source"), str):
        out["source"] = cell["source"].splitlines(True)
    if "attachments" in cell:
        out["attachments"] = {k: _split(v) for k, v in cell["attachments"].items()}
    if cell["cell_type"] == "code":
        out["outputs"] = [_written_output(o) for o in cell["outputs"]]
    return out


def _bytes(value: Any) -> str:
    if isinstance(value, bytes):  # as nbformat's BytesEncoder: base64 given as bytes
        return value.decode("ascii")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def writes(nb: dict[str, Any]) -> str:
    """The notebook as nbformat writes it (sorted keys, indent 1, text split into lines,
    without the transient values); `nb` is not changed (its unchanged parts are not copied)."""
    metadata = {k: v for k, v in nb["metadata"].items() if k not in _TRANSIENT}
    written = {**nb, "metadata": metadata, "cells": [_written_cell(c) for c in nb["cells"]]}
    return json.dumps(
        written, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False,
        default=_bytes,
    )  # fmt: skip
