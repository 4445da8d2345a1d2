"""The stream a teammate's reader sends root: only names inside the copy, never cut short."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest

from git_nbcollab.checks import copying
from git_nbcollab.errors import UserError


def stream(*entries: tuple[bytes, bytes, bytes | None], end: bool = True) -> io.BytesIO:
    out = b""
    for kind, name, data in entries:
        out += struct.pack(">cI", kind, len(name)) + name
        if data is not None:
            out += struct.pack(">I", len(data)) + data + struct.pack(">I", 0)
    return io.BytesIO(out + (struct.pack(">cI", b".", 0) if end else b""))


def test_a_folder_goes_through_the_stream_as_it_is(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "sub" / "empty").mkdir(parents=True)
    (source / ".git").mkdir()
    (source / ".git" / "config").write_text("x")
    (source / "a.ipynb").write_bytes(os.urandom(3 * copying.CHUNK + 5))
    (source / "sub" / "b.csv").write_text("b")
    (source / "link").symlink_to(source / "a.ipynb")
    sent = io.BytesIO()
    copying._send(source, sent)
    sent.seek(0)
    target = tmp_path / "target"
    target.mkdir()
    copying._write(copying._received(sent), target)
    found = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    assert found == ["a.ipynb", "sub", "sub/b.csv", "sub/empty"]
    assert (target / "a.ipynb").read_bytes() == (source / "a.ipynb").read_bytes()


@pytest.mark.parametrize("name", [b"../escaped", b"/tmp/escaped", b"a//b", b"sub/../../x"])
def test_a_name_outside_the_copy_is_refused(tmp_path: Path, name: bytes) -> None:
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(UserError, match="not inside the folder"):
        copying._write(copying._received(stream((b"f", name, b"x"))), target)
    assert list(target.iterdir()) == [] and not (tmp_path / "escaped").exists()
    assert not Path("/tmp/escaped").exists()


def test_a_stream_cut_short_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cut short"):
        copying._write(copying._received(stream((b"f", b"a", b"x"), end=False)), tmp_path)


def test_a_name_written_twice_is_refused(tmp_path: Path) -> None:
    twice = stream((b"f", b"a", b"x"), (b"f", b"a", b"y"))
    with pytest.raises(UserError, match="cannot copy 'a': File exists"):
        copying._write(copying._received(twice), tmp_path)
    assert (tmp_path / "a").read_bytes() == b"x"
