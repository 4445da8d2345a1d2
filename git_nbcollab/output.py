"""Terminal output; rich enters the program here, and only when a table is drawn."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def say(message: str) -> None:
    print(message, file=sys.stdout, flush=True)


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> None:
    if not rows:
        say(empty)
        return
    from rich.console import Console
    from rich.table import Table

    grid = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        grid.add_row(*row)
    Console(soft_wrap=True).print(grid)
