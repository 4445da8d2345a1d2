"""Terminal output: messages, and plain aligned tables (fast for thousands of rows)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def say(message: str) -> None:
    print(message, file=sys.stdout, flush=True)


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> None:
    if not rows:
        say(empty)
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=True)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (columns, *rows)
    ]
    sys.stdout.write("\n".join(lines) + "\n")
