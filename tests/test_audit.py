"""The audit log's own rules: valid JSON lines, rotation by size, pieces for the mirror."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from git_nbcollab import audit

ZERO = "0" * 40


@pytest.mark.parametrize(
    "text",
    ["plain", 'quote " and back\\slash', "new\nline\ttab\r\0nul\x1b", "ünï ✓ \u2028", ""],
)
def test_each_line_is_one_json_object_whatever_the_text(text: str) -> None:
    line = audit.encode([("user", text), ("refs", [(text, ZERO, "a" * 40)])])
    assert line.endswith("}\n") and line.count("\n") == 1
    assert json.loads(line) == {"user": text, "refs": [{"ref": text, "old": ZERO, "new": "a" * 40}]}


def _lines(root: Path) -> list[dict[str, object]]:
    folder = root / audit.FOLDER
    return [json.loads(line) for name in audit.files(str(root)) for line in (folder / name).open()]


def test_a_refusal_has_its_reason_and_a_success_none(tmp_path: Path) -> None:
    audit.write(str(tmp_path), "bob", "push", "1a2b3c4d", [("refs/heads/x", ZERO, "b" * 40)])
    audit.write(str(tmp_path), "carol", "fetch", "1a2b3c4d", reason="no such collaboration")
    ok, refused = _lines(tmp_path)
    assert ok["result"] == "ok" and "reason" not in ok and ok["user"] == "bob"
    assert ok["refs"] == [{"ref": "refs/heads/x", "old": ZERO, "new": "b" * 40}]
    assert refused["result"] == "refused" and refused["reason"] == "no such collaboration"
    assert (tmp_path / audit.FOLDER).stat().st_mode & 0o777 == 0o700


def test_files_rotate_by_size_and_the_oldest_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "MAX_BYTES", 400)
    monkeypatch.setattr(audit, "KEEP", 3)
    for i in range(60):
        audit.write(str(tmp_path), "bob", "fetch", f"{i:08x}")
    names = audit.files(str(tmp_path))
    assert len(names) == 3, names
    sizes = [(tmp_path / audit.FOLDER / n).stat().st_size for n in names]
    assert all(size < 400 + 200 for size in sizes), sizes
    assert _lines(tmp_path)[-1]["collab"] == f"{59:08x}", "the newest line is in the newest file"


def _writer(root: str, who: int) -> None:
    for i in range(150):
        audit.write(root, f"user{who}", "push", f"{i:08x}", reason="x" * (i * 30))


def test_concurrent_writers_never_mix_their_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "MAX_BYTES", 20_000)
    monkeypatch.setattr(audit, "KEEP", 1000)
    workers = [
        multiprocessing.get_context("fork").Process(target=_writer, args=(str(tmp_path), w))
        for w in range(6)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    lines = _lines(tmp_path)  # json.loads fails on any torn or mixed line
    assert len(lines) == 6 * 150
    assert len(audit.files(str(tmp_path))) > 1, "it rotated while they wrote"


def test_pieces_send_each_byte_once_and_only_whole_lines(tmp_path: Path) -> None:
    root = str(tmp_path)
    audit.write(root, "bob", "fetch", "1a2b3c4d")
    first = dict(audit.pieces(root, set()))
    assert list(audit.pieces(root, set(first))) == [], "nothing new, nothing to send"
    audit.write(root, "alice", "fetch", "1a2b3c4d")
    log = tmp_path / audit.FOLDER / audit.files(root)[0]
    with log.open("ab") as f:
        f.write(b'{"half a line')  # a writer caught mid-line: sent once it is whole
    second = dict(audit.pieces(root, set(first)))
    assert set(first).isdisjoint(second)
    assert b"".join([*first.values(), *second.values()]) + b'{"half a line' == log.read_bytes()
