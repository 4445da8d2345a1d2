"""Public keys and the authorized_keys writer: only parsed keys get in, whatever the input."""

from __future__ import annotations

import base64
import grp
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from git_nbcollab.box import keys
from git_nbcollab.errors import UserError

ME = (pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name)
GATE = "/opt/git-nbcollab/bin/python -I -m git_nbcollab.gate /srv/nbcollab alice"


def _made(tmp_path: Path, kind: str, bits: str | None = None) -> str:
    key = tmp_path / f"k-{kind}-{bits}"
    size = ["-b", bits] if bits else []
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, *size, "-N", "", "-C", "me@laptop", "-f", str(key)],
        check=True,
    )
    return Path(f"{key}.pub").read_text()


@pytest.fixture(scope="module")
def ed25519(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _made(tmp_path_factory.mktemp("keys"), "ed25519")


def _blob(*fields: bytes) -> str:
    return base64.b64encode(b"".join(len(f).to_bytes(4, "big") + f for f in fields)).decode()


@pytest.mark.parametrize(("kind", "bits"), [("ed25519", None), ("rsa", "2048"), ("ecdsa", "384")])
def test_real_keys_parse_and_print_as_they_were(tmp_path: Path, kind: str, bits: str) -> None:
    text = _made(tmp_path, kind, bits)
    key = keys.parse(text, "k.pub")
    assert f"{key}\n" == text
    assert key.comment == "me@laptop"


def test_security_key_types_parse() -> None:
    blob = _blob(b"sk-ssh-ed25519@openssh.com", b"k" * 32, b"ssh:")
    assert keys.parse(f"sk-ssh-ed25519@openssh.com {blob}", "sk").comment == ""
    ecdsa = _blob(b"sk-ecdsa-sha2-nistp256@openssh.com", b"nistp256", b"\x04" * 65, b"ssh:")
    assert keys.parse(f"sk-ecdsa-sha2-nistp256@openssh.com {ecdsa} yubi", "sk").kind


def _hostile(ed25519: str) -> dict[str, str]:
    line = ed25519.strip()
    kind, blob, _ = line.split(" ")
    other = _blob(b"ssh-rsa", b"\x01\x00\x01", b"n" * 256)
    return {
        "second line": f"{line}\n{line.replace('me@', 'evil@')}\n",
        "second key after a newline in the comment": f"{kind} {blob} x\nssh-ed25519 {blob}",
        "carriage return": f"{line}\rssh-ed25519 {blob} evil\n",
        "forced command prefix": f'command="sh" {line}',
        "options prefix": f'no-pty,environment="LD_PRELOAD=/tmp/x" {line}',
        "restrict prefix": f"restrict {line}",
        "NUL": f"{kind} {blob}\0 x",
        "tab": f"{kind}\t{blob}",
        "non-ASCII comment": f"{kind} {blob} caf\u00e9",
        "quote in comment": f'{kind} {blob} a"b',
        "backslash in comment": f"{kind} {blob} a\\b",
        "huge line": f"{kind} {blob} {'x' * 20000}",
        "huge base64": f"{kind} {'A' * 20000}",
        "private key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n",
        "garbage base64": f"{kind} AAAA!!notbase64",
        "truncated base64": f"{kind} {blob[:-8]}",
        "type mismatch": f"{kind} {other}",
        "unknown type": f"ssh-dss {blob}",
        "no key data": kind,
        "empty": "",
        "extra fields in the blob": f"{kind} {_blob(b'ssh-ed25519', b'k' * 32, b'more')}",
    }


def test_hostile_inputs_are_refused_by_parse_and_by_the_writer(
    ed25519: str, tmp_path: Path
) -> None:
    target = tmp_path / "authorized_keys"
    target.write_text("before\n")
    for name, text in _hostile(ed25519).items():
        with pytest.raises(UserError) as refused:
            keys.parse(text, "k.pub")
        assert "\n" not in str(refused.value), name
        with pytest.raises(UserError):
            keys.write(target, [(GATE, ed25519), (GATE, text)], ME)
        assert target.read_text() == "before\n", f"{name}: the file is untouched"


def test_the_writer_forces_every_key_and_refuses_unsafe_commands_and_twins(
    ed25519: str, tmp_path: Path
) -> None:
    target = tmp_path / "authorized_keys"
    rsa = _made(tmp_path, "rsa", "2048")
    keys.write(target, [(GATE, ed25519), (GATE, rsa)], ME)
    lines = target.read_text().splitlines()
    assert lines == [f'command="{GATE}",restrict {k.strip()}' for k in (ed25519, rsa)]
    assert target.stat().st_mode & 0o777 == 0o600
    for command in ['x" ,no-restrict', "x\nssh-ed25519", "a\\b", ""]:
        with pytest.raises(UserError):
            keys.write(target, [(command, ed25519)], ME)
    with pytest.raises(UserError, match="twice"):
        keys.write(target, [(GATE, ed25519), ("other", ed25519)], ME)
    assert target.read_text().splitlines() == lines


def test_read_file_refuses_links_and_fifos_and_reads_at_most_a_line(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("root only\n")
    link = tmp_path / "link.pub"
    link.symlink_to(secret)
    with pytest.raises(UserError, match="symlink"):
        keys.read_file(link)
    fifo = tmp_path / "fifo.pub"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="not a file"):
        keys.read_file(fifo)
    big = tmp_path / "big.pub"
    big.write_bytes(b"x" * 10**6)
    assert len(keys.read_file(big)) == keys.MAX_LINE + 1
