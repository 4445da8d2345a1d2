"""Terminal output: messages, plain aligned tables (fast for thousands of rows), JSON for
scripts, and progress bars where a person waits (the one door to rich)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence

Update = Callable[[int, int], None]  # (done, total)


def say(message: str) -> None:
    print(message, file=sys.stdout, flush=True)


def print_json(data: object) -> None:
    """What `--json` prints: one JSON document, for scripts."""
    sys.stdout.write(json.dumps(data, indent=1, sort_keys=True) + "\n")


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> None:
    if not rows:
        say(empty)
        return
    widths = [max(map(len, column)) for column in zip(columns, *rows, strict=True)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)  # one format: `list` draws 10,000 rows
    sys.stdout.write("".join(line.format(*row).rstrip() + "\n" for row in (columns, *rows)))


@contextlib.contextmanager
def progress(label: str) -> Iterator[Update]:
    """A progress bar on stderr while the block runs, fed `update(done, total)`. Only on a
    terminal: elsewhere (scripts, the detached uploader) nothing is drawn and rich is never
    imported."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
