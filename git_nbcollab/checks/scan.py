"""Pure checks on a notebook's JSON: secrets in sources and outputs, sizes, and the comparison
of published outputs with those of a fresh run (with nbval-like sanitisers).

Everything here works on the parsed notebook (`dict`), cell by cell; a finding names the cell
counted from 1, as JupyterLab's status bar does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from git_nbcollab.checks.report import Finding

# (what it is, pattern). The secret is never printed whole: see `_masked`.
SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "AWS secret access key",
        re.compile(r"(?i)aws_secret_access_key\s*[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+]{40})\b"),
    ),
    (
        "private key",
        re.compile(
            r"-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
        ),
    ),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})\b")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20}\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    (
        "password in a URL",
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@\"']+:([^/\s@\"']+)@[\w.-]+"),
    ),
)
# Passwords in URLs that are placeholders, not secrets: `user:password@`, `:***@`, `:<pw>@`,
# `:${PW}@`, `:{password}@`, `:%s@`, `:$PW@`.
_PLACEHOLDER = re.compile(
    r"(?i)^(?:\*+|x+|\.+|<[^>]*>|\$\{?\w+\}?|\{[^}]*\}|%\(?\w*\)?s|pass(?:word)?|pwd|secret|"
    r"changeme|your[_-]?password)$"
)

# What legitimately changes between two runs (nbval's sanitisers do the same by regex).
SANITISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
        "DATETIME",
    ),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b"), "TIME"),
    (re.compile(r"\b0x[0-9a-fA-F]{4,16}\b"), "0xADDRESS"),
    (
        re.compile(r"(?:/private)?/(?:tmp|var/tmp|var/folders|dev/shm)/[^\s'\"<>:,)\]]*"),
        "TEMPPATH",
    ),
)
IMAGE = "image/"
NOT_COMPARED = {"text/latex", "application/vnd.jupyter.widget-view+json"}  # as nbval skips


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _masked(secret: str) -> str:
    return secret[:4] + "..." if len(secret) > 8 else "..."


def _places(cell: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) for a cell's source and every text in its outputs (images are skipped:
    base64 is not where people paste keys, and random bytes would match by chance)."""
    yield "source", _text(cell.get("source", ""))
    for n, output in enumerate(cell.get("outputs", ()), 1):
        where = f"output {n}"
        if "text" in output:
            yield where, _text(output["text"])
        for mime, value in (output.get("data") or {}).items():
            if not mime.startswith(IMAGE):
                yield where, _text(value) if isinstance(value, str | list) else json.dumps(value)
        if output.get("output_type") == "error":
            yield where, "\n".join([output.get("evalue", ""), *output.get("traceback", ())])


def secrets(nb: dict[str, Any]) -> list[Finding]:
    """Every secret-looking string, per cell and place, never printed whole."""
    found: list[Finding] = []
    for index, cell in enumerate(nb.get("cells", ()), 1):
        seen: set[str] = set()
        for where, text in _places(cell):
            for kind, pattern in SECRETS:
                for match in pattern.finditer(text):
                    secret = match.group(match.lastindex or 0)
                    if kind == "password in a URL" and _PLACEHOLDER.match(secret):
                        continue
                    note = f"{kind} in the {where} ({_masked(match.group(0))})"
                    if note not in seen:
                        seen.add(note)
                        found.append(Finding(index, note))
    return found


def sizes(nb: dict[str, Any], max_output_mb: float) -> list[Finding]:
    """Every output larger than the limit, as stored (JSON, base64 for images)."""
    limit = max_output_mb * 1024 * 1024
    found = []
    for index, cell in enumerate(nb.get("cells", ()), 1):
        for n, output in enumerate(cell.get("outputs", ()), 1):
            size = len(json.dumps(output).encode())
            if size > limit:
                found.append(
                    Finding(
                        index, f"output {n} is {mb(size)} MB, over the {max_output_mb} MB limit"
                    )
                )
    return found


def mb(size: float) -> str:
    return f"{size / 1024 / 1024:.1f}"


def sanitise(text: str, extra: tuple[str, ...] = ()) -> str:
    for literal in extra:  # paths this run used (its throwaway folder), which may not be in /tmp
        text = text.replace(literal, "TEMPPATH")
    for pattern, replacement in SANITISERS:
        text = pattern.sub(replacement, text)
    return text


def comparable(outputs: list[dict[str, Any]], images: bool) -> list[tuple[str, str]]:
    """A cell's outputs as (kind, text) pairs to compare: consecutive streams of one name
    joined (a rerun splits them differently), execution counts and metadata left out."""
    found: list[tuple[str, str]] = []
    for output in outputs:
        kind = output.get("output_type", "")
        if kind == "stream":
            name = f"stream {output.get('name', '')}"
            if found and found[-1][0] == name:
                found[-1] = (name, found[-1][1] + _text(output.get("text", "")))
            else:
                found.append((name, _text(output.get("text", ""))))
        elif kind == "error":
            found.append(("error", f"{output.get('ename', '')}: {output.get('evalue', '')}"))
        else:
            for mime, value in sorted((output.get("data") or {}).items()):
                if mime in NOT_COMPARED or (mime.startswith(IMAGE) and not images):
                    continue
                found.append((mime, value if isinstance(value, str) else _text(value)))
    return found


def differences(
    published: dict[str, Any], executed: dict[str, Any], images: bool, extra: tuple[str, ...] = ()
) -> list[Finding]:
    """Cells whose outputs, sanitised, differ between the published and the executed copy.
    A cell the published copy never ran (no execution count, no outputs) is not compared."""
    found = []
    pairs = zip(published.get("cells", ()), executed.get("cells", ()), strict=False)
    for index, (old, new) in enumerate(pairs, 1):
        if old.get("cell_type") != "code" or (
            not old.get("outputs") and not old.get("execution_count")
        ):
            continue
        before = [(k, sanitise(t, extra)) for k, t in comparable(old.get("outputs", []), images)]
        after = [(k, sanitise(t, extra)) for k, t in comparable(new.get("outputs", []), images)]
        if before != after:
            found.append(Finding(index, _first_difference(before, after)))
    return found


def _first_difference(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> str:
    for (kind_a, a), (kind_b, b) in zip(before, after, strict=False):
        if kind_a != kind_b:
            return f"published {kind_a}, the run gave {kind_b}"
        if a != b:
            line_a, line_b = _first_line_apart(a, b)
            return f"{kind_a} differs: published {line_a!r}, the run gave {line_b!r}"
    if len(before) > len(after):
        return f"the run gave no {before[len(after)][0]} (published {len(before)} outputs)"
    return f"the run gave a new {after[len(before)][0]} output"


def _first_line_apart(a: str, b: str) -> tuple[str, str]:
    lines_a, lines_b = a.splitlines(), b.splitlines()
    for x, y in zip(lines_a, lines_b, strict=False):
        if x != y:
            return x[:80], y[:80]
    return ("\n".join(lines_a[len(lines_b) :])[:80], "\n".join(lines_b[len(lines_a) :])[:80])
