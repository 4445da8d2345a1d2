"""Public keys, and the one writer of the service account's authorized_keys (run as root).

Every line that reaches authorized_keys is built here from a parsed key: a known type, base64
whose embedded type matches, an optional plain comment, behind the gate's forced command and
`restrict`. Whatever a caller passes, anything else raises before the file is touched.
"""

from __future__ import annotations

import base64
import binascii
import errno
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from git_nbcollab import proc
from git_nbcollab.box import accounts
from git_nbcollab.errors import UserError
from git_nbcollab.fsutil import atomic_write
from git_nbcollab.layout import Hub, Settings
from git_nbcollab.names import User

# key type -> how many length-prefixed fields its blob holds, the type name first
TYPES = {
    "ssh-ed25519": 2,
    "ssh-rsa": 3,
    "ecdsa-sha2-nistp256": 3,
    "ecdsa-sha2-nistp384": 3,
    "ecdsa-sha2-nistp521": 3,
    "sk-ssh-ed25519@openssh.com": 3,
    "sk-ecdsa-sha2-nistp256@openssh.com": 4,
}
MAX_LINE = 16384  # a 16384-bit RSA key is about 2,800 characters
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_COMMENT = re.compile(r"[A-Za-z0-9 ._@+=:,/()#-]{0,200}")
_COMMAND = re.compile(r"[A-Za-z0-9/._ -]+")  # the gate's command line: no quote can end it
EXAMPLE = "expected one line such as ssh-ed25519 AAAA... you@laptop"


class PublicKey(NamedTuple):
    kind: str
    blob: str  # base64, as in the .pub file
    comment: str = ""

    def __str__(self) -> str:
        return " ".join(part for part in self if part)


def _fields(blob: bytes) -> list[bytes]:
    """The length-prefixed strings an ssh key blob is made of; ValueError if it is not that."""
    fields, at = [], 0
    while at < len(blob):
        size = int.from_bytes(blob[at : at + 4], "big")
        if at + 4 + size > len(blob):
            raise ValueError("its key data is cut short")
        fields.append(blob[at + 4 : at + 4 + size])
        at += 4 + size
    return fields


def _parse(text: str) -> PublicKey:
    """The key in `text`, or ValueError saying what is wrong with it."""
    if len(text) > MAX_LINE:
        raise ValueError(f"longer than {MAX_LINE} characters")
    line = text.removesuffix("\n")
    if "\n" in line:
        raise ValueError("it has more than one line")
    if any(not " " <= c <= "~" for c in line):
        raise ValueError("it has a line break, a control or a non-ASCII character")
    kind, _, rest = line.partition(" ")
    if kind not in TYPES:
        options = "=" in kind or '"' in kind
        raise ValueError("key options are not accepted" if options else "unknown key type")
    blob, _, comment = rest.partition(" ")
    try:
        if not _BASE64.fullmatch(blob):
            raise ValueError
        fields = _fields(base64.b64decode(blob, validate=True))
    except (ValueError, binascii.Error):
        raise ValueError("its key data is not base64 of an ssh key") from None
    if len(fields) != TYPES[kind] or fields[0] != kind.encode():
        raise ValueError(f"its key data is not an {kind} key")
    comment = comment.strip(" ")
    if not _COMMENT.fullmatch(comment):
        raise ValueError("its comment may hold only letters, digits, spaces and ._@+=:,/()#-")
    return PublicKey(kind, blob, comment)


def parse(text: str, where: str) -> PublicKey:
    """The one public key in `text` (read from `where`), or a one-line UserError."""
    if "PRIVATE KEY" in text:
        raise UserError(
            f"{where} is a private key: give the .pub file; private keys stay with their owner"
        )
    try:
        return _parse(text)
    except ValueError as e:
        raise UserError(f"{where} is not an ssh public key ({e}): {EXAMPLE}") from None


def read_file(path: Path) -> str:
    """A key file read by root: a regular file, never through a link, at most MAX_LINE + 1
    bytes (a FIFO or a device cannot make it wait or fill memory)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UserError(f"{path} is a symlink: give the key file itself") from None
        raise UserError(f"cannot read key {path}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UserError(f"{path} is not a file: give an ssh public key file")
        return f.read(MAX_LINE + 1).decode("ascii", errors="replace")


def read_as(name: str, path: Path) -> str:
    """A file of user `name`, read with their rights alone and never through a link."""
    limit = f"bs={MAX_LINE + 1}"
    try:
        read = ("dd", f"if={path}", "iflag=nofollow,nonblock", limit, "count=1", "status=none")
        return accounts.as_user(name, *read)
    except proc.ProcessError as e:
        raise UserError(f"cannot read {path} as {name}: {e.message}") from None


def gate_command(hub: Hub, settings: Settings, who: User) -> str:
    return f"{settings.python} -I -m git_nbcollab.gate {hub.root} {who}"


def write(
    path: Path, entries: Iterable[tuple[str, str]], owner: tuple[str, str], mode: int = 0o600
) -> None:
    """Write authorized_keys: each (forced command, key text) becomes one line
    `command="COMMAND",restrict KEY`, the key rebuilt from its parsed parts. The only writer
    of that file; anything that is not one key, or a key given twice, raises first."""
    lines, seen = [], set()
    for command, text in entries:
        if not _COMMAND.fullmatch(command):
            raise UserError(f"refusing gate command {command!r} for authorized_keys")
        key = parse(text, "a key for authorized_keys")
        if key.blob in seen:
            raise UserError(f"a key for authorized_keys is given twice ({key.comment})")
        seen.add(key.blob)
        lines.append(f'command="{command}",restrict {key}\n')
    data = "".join(lines).encode()
    if not path.exists() or path.read_bytes() != data:
        atomic_write(path, data, mode, owner)


def stored(hub: Hub) -> list[tuple[User, Path]]:
    """Every teammate's stored key files (keys/<user>/*.pub), in a fixed order."""
    return [(who, p) for who in hub.teammates() for p in sorted(hub.user_keys(who).glob("*.pub"))]


def read_stored(path: Path) -> PublicKey:
    return parse(read_file(path), f"{path} (`git nbcollab init` again repairs stored keys)")


def rewrite(hub: Hub, settings: Settings) -> None:
    """authorized_keys from every stored key, each forced through the gate as its owner."""
    entries = [(gate_command(hub, settings, who), str(read_stored(p))) for who, p in stored(hub)]
    write(hub.authorized_keys, entries, (settings.service_user, settings.service_user))


def store(path: Path, key: PublicKey, settings: Settings) -> None:
    """A stored key file holds the parsed key only."""
    atomic_write(path, f"{key}\n".encode(), 0o600, (settings.service_user, settings.service_user))


def _salvage(text: str) -> PublicKey | None:
    """What a stored file from an older version still holds: its first line's key (the only
    line that was ever forced through the gate), without its comment if that is unsafe."""
    first = text.split("\n", 1)[0]
    for candidate in (first, " ".join(first.split(" ")[:2])):
        try:
            return _parse(candidate)
        except ValueError:
            continue
    return None


def repair(hub: Hub, settings: Settings) -> int:
    """Rebuild every stored key from what parses and authorized_keys through `write`; the
    number of authorized_keys lines that were dropped."""
    old = hub.authorized_keys.read_text(errors="replace").splitlines()
    seen: set[str] = set()
    for _, path in stored(hub):
        text = read_file(path)
        key = _salvage(text)
        if key is None or key.blob in seen:
            path.unlink()
            continue
        seen.add(key.blob)
        if text != f"{key}\n":
            store(path, key, settings)
    rewrite(hub, settings)
    new = set(hub.authorized_keys.read_text().splitlines())
    return sum(line not in new for line in old)
