"""Realistic generated notebooks for the differential merge tests, and the id variants people have.

A notebook is markdown and code cells with text, image and error outputs, built from a seed.
`with_ids` turns a notebook (cells without ids) into one of the variants found in the wild:
- "none": nbformat 4.4, no ids (most public notebooks);
- "random": nbformat 4.5 with fresh random ids, made independently on each side (JupyterLab 4
  opening a 4.4 notebook: the base has none);
- "positional": nbformat 4.5 with ids "0", "1", ... on every side (nbstripout without --keep-id);
- "stable": nbformat 4.5 with the base's ids kept on each side, and random ids for new cells
  (a notebook shared with ids, edited in JupyterLab).
"""

from __future__ import annotations

import base64
import copy
import random
from typing import Any

Cell = dict[str, Any]
Notebook = dict[str, Any]
VARIANTS = ("stable", "none", "random", "positional")
WORDS = ["sales", "weeks", "total", "revenue", "region", "growth", "cost", "price", "margin"]


def markdown(text: str) -> Cell:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def code(source: str, outputs: list[dict[str, Any]], count: int | None) -> Cell:
    return {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "outputs": outputs,
        "execution_count": count,
    }


def text_out(count: int, text: str) -> dict[str, Any]:
    return {
        "output_type": "execute_result",
        "execution_count": count,
        "metadata": {},
        "data": {"text/plain": text},
    }


def stream_out(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def image_out(rng: random.Random) -> dict[str, Any]:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + rng.randbytes(600)).decode()
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {"image/png": png, "text/plain": "<Figure size 640x480 with 1 Axes>"},
    }


def error_out(name: str) -> dict[str, Any]:
    return {
        "output_type": "error",
        "ename": "NameError",
        "evalue": f"name '{name}' is not defined",
        "traceback": ["Traceback (most recent call last)", f"NameError: name '{name}'"],
    }


def run(cell: Cell, count: int, rng: random.Random) -> Cell:
    """The cell as a new run leaves it: a new execution count and fresh outputs."""
    kind = rng.choice(["text", "stream", "image"])
    out = {
        "text": text_out(count, str(rng.randint(0, 10**6))),
        "stream": stream_out(f"{rng.choice(WORDS)}: {rng.random():.4f}\n"),
        "image": image_out(rng),
    }[kind]
    return {**cell, "outputs": [out], "execution_count": count}


def notebook(seed: int, cells: int = 10) -> Notebook:
    rng = random.Random(seed)
    out: list[Cell] = [markdown(f"# Analysis {seed}\n\nA look at {rng.choice(WORDS)} by week.")]
    count = 0
    for i in range(1, cells):
        word = rng.choice(WORDS)
        if i % 4 == 0:
            out.append(markdown(f"## Step {i}: {word}\n\nWhat the {word} numbers say."))
            continue
        count += 1
        source = f"{word}_{i} = load('{word}.csv')\n{word}_{i}.groupby('week').sum()"
        if i % 7 == 3:
            out.append(code(f"plot({word}_{i})", [error_out(f"{word}_{i}")], count))
        else:
            out.append(run(code(source, [], None), count, rng))
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return {"nbformat": 4, "nbformat_minor": 4, "metadata": meta, "cells": out}


def with_ids(nb: Notebook, variant: str, rng: random.Random, *, is_base: bool) -> Notebook:
    """`nb` in an id variant; "stable" expects the base's cells to have their ids already."""
    nb = copy.deepcopy(nb)
    if variant == "none" or (variant == "random" and is_base):
        return nb
    nb["nbformat_minor"] = 5
    for i, cell in enumerate(nb["cells"]):
        if variant == "positional":
            cell["id"] = str(i)
        elif variant == "random" or "id" not in cell:
            cell["id"] = f"{rng.getrandbits(32):08x}"
    return nb
