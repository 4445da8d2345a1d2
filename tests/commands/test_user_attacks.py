"""`user add` against a person on the box who prepared their home before the admin ran it.

Each attack is tried as an adopted user (the unix account existed before `user add`) and as a
re-added one (`user remove`, then `user add` again), over the real sshd. After each: the add is
refused in one line, nothing changed, every authorized_keys line is one forced, restricted key,
no byte of a root-only file reached the hub, and the attacker's own key gets no shell.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.box import Box

KEY_LINE = re.compile(
    r'command="[A-Za-z0-9/._ -]+",restrict'
    r" (ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com"
    r"|sk-ecdsa-sha2-nistp256@openssh\.com) AAAA[A-Za-z0-9+/]+=*( [^\"'\\`]*)?"
)
BOX_KEY = ".ssh/nbcollab_ed25519"


@pytest.fixture
def person(box: Box) -> Iterator[str]:
    """A unix name for someone the test makes; removed afterwards with all they left."""
    name = f"{box.prefix}k{len(list(box.base.glob('k-*')))}"
    (box.base / f"k-{name}").touch()
    yield name
    if (box.root / "keys" / name).is_dir():
        box.admin("user", "remove", name)
    subprocess.run(["pkill", "-u", name], check=False)
    subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


def ssh_key(where: Path) -> tuple[Path, str]:
    """A new key pair made by root in `where`: (private key, public key line)."""
    key = where / f"key-{secrets.token_hex(4)}"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, Path(f"{key}.pub").read_text().strip()


def as_person(box: Box, name: str, script: str) -> None:
    done = box.run_as(name, "sh", "-ec", script, cwd=Path(f"/home/{name}"))
    assert done.returncode == 0, done.stderr


def tree(*tops: Path) -> dict[str, str]:
    """Mode, owner and content of everything under `tops`, links not followed."""
    state = {}
    for top in tops:
        for path in [top, *sorted(top.rglob("*"))]:
            st = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            link = str(path.readlink()) if path.is_symlink() else ""
            state[str(path)] = f"{st.st_mode:o} {st.st_uid} {hash(data)} {link}"
    return state


def state(box: Box, name: str, *more: Path) -> dict[str, str]:
    return box.snapshot() | tree(Path(f"/home/{name}"), *more)


def check_hub(box: Box, marker: str, attacker: Path) -> None:
    lines = (box.root / ".ssh" / "authorized_keys").read_text().splitlines()
    assert lines and all(KEY_LINE.fullmatch(line) for line in lines), lines
    for path in box.root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert marker.encode() not in path.read_bytes(), f"root-only bytes reached {path}"
    login = [
        *("ssh", "-i", str(attacker), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"),
        *("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"),
        *("-p", str(box.port), f"{box.service}@127.0.0.1", "id"),
    ]
    done = subprocess.run(login, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "uid=" not in done.stdout, "the attacker got a shell"


def make_box_key(box: Box, name: str) -> None:
    as_person(
        box,
        name,
        f"mkdir -p -m 700 .ssh; [ -e {BOX_KEY} ] || ssh-keygen -q -t ed25519 -N '' -f {BOX_KEY}",
    )


def secret_file(box: Box, marker: str, attacker: str) -> Path:
    """A root-only file: a marker line, then the attacker's key."""
    secret = box.base / f"secret-{marker}"
    secret.write_text(f"{marker}\n{attacker}\n")
    secret.chmod(0o600)
    return secret


def multi_line_pub(box: Box, name: str, marker: str, attacker: str) -> tuple[str, list[Path]]:
    make_box_key(box, name)
    as_person(box, name, f"printf '%s\\n' '{attacker}' >> {BOX_KEY}.pub")
    return "nbcollab_ed25519.pub", []


def linked_pub(box: Box, name: str, marker: str, attacker: str) -> tuple[str, list[Path]]:
    make_box_key(box, name)
    secret = secret_file(box, marker, attacker)
    as_person(box, name, f"rm -f {BOX_KEY}.pub; ln -s {secret} {BOX_KEY}.pub")
    return "nbcollab_ed25519.pub", [secret]


def linked_ssh(box: Box, name: str, marker: str, attacker: str) -> tuple[str, list[Path]]:
    """~/.ssh links to a root-only folder that holds a key pair whose .pub is the secret."""
    folder = box.base / f"rootssh-{marker}"
    folder.mkdir(mode=0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "k")])
    (folder / "k").rename(folder / "nbcollab_ed25519")
    (folder / "k.pub").unlink()
    secret_file(box, marker, attacker).rename(folder / "nbcollab_ed25519.pub")
    as_person(box, name, f"rm -rf .ssh-old; [ ! -e .ssh ] || mv .ssh .ssh-old; ln -s {folder} .ssh")
    return ".ssh", [folder]


def linked_notebooks(box: Box, name: str, marker: str, attacker: str) -> tuple[str, list[Path]]:
    """~/notebooks links to a root-owned folder (root must not chmod it), and the .pub carries
    the attacker's key too."""
    folder = box.base / f"rootnb-{marker}"
    folder.mkdir(mode=0o755)
    multi_line_pub(box, name, marker, attacker)
    script = "rm -rf nb-old; [ ! -e notebooks ] || mv notebooks nb-old; ln -s {} notebooks"
    as_person(box, name, script.format(folder))
    return "notebooks", [folder]


def copied_pub(box: Box, name: str, marker: str, attacker: str) -> tuple[str, list[Path]]:
    """A teammate's public key (readable by all) as one's own: their logins would become
    this person's. Refused late (after the workspace is made), so all of it is undone."""
    make_box_key(box, name)
    bob = (box.home("bob") / f"{BOX_KEY}.pub").read_text()
    as_person(box, name, f"printf '%s' '{bob}' > {BOX_KEY}.pub")
    return "already", []


ATTACKS = [multi_line_pub, linked_pub, linked_ssh, linked_notebooks, copied_pub]


def adopted(box: Box, name: str) -> None:
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)


def re_added(box: Box, name: str) -> None:
    assert box.admin("user", "add", name) == 0
    assert box.admin("user", "remove", name) == 0


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.__name__)
@pytest.mark.parametrize("how", [adopted, re_added], ids=lambda h: h.__name__)
def test_user_add_refuses_what_the_user_prepared(
    box: Box,
    person: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    attack: Callable[[Box, str, str, str], tuple[str, list[Path]]],
    how: Callable[[Box, str], None],
) -> None:
    how(box, person)
    attacker, attacker_pub = ssh_key(tmp_path)
    marker = f"marker{secrets.token_hex(8)}"
    named, outside = attack(box, person, marker, attacker_pub)
    capsys.readouterr()
    before = state(box, person, *outside)

    code = box.admin("user", "add", person)
    check_hub(box, marker, attacker)
    assert state(box, person, *outside) == before, "a refused user add changes nothing"
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and named in err, err
    assert "internal error" not in err


def test_a_clean_re_add_still_works(box: Box, person: str) -> None:
    re_added(box, person)
    assert box.admin("user", "add", person) == 0
    lines = (box.root / ".ssh" / "authorized_keys").read_text().splitlines()
    assert all(KEY_LINE.fullmatch(line) for line in lines), lines
    assert box.run_as(person, "git", "nbcollab", "list").returncode == 0


def test_init_again_repairs_what_an_older_user_add_wrote(
    box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An older version put a multi-line .pub into the stored key and authorized_keys."""
    stored = box.root / "keys" / box.user("alice") / "box.pub"
    authorized = box.root / ".ssh" / "authorized_keys"
    saved = {path: path.read_bytes() for path in (stored, authorized)}
    attacker, attacker_pub = ssh_key(tmp_path)
    try:
        stored.write_bytes(saved[stored] + f"{attacker_pub}\n".encode())
        bad = f'{attacker_pub}\nenvironment="A=1" {attacker_pub}\n'
        authorized.write_bytes(saved[authorized] + bad.encode())
        assert box.admin("init", "--bin-dir", str(box.bin_dir)) == 0
        said = capsys.readouterr().out.strip()
        assert "dropped 2 authorized_keys lines" in said and len(said.splitlines()) == 1, said
        assert authorized.read_bytes() == saved[authorized]
        assert stored.read_bytes() == saved[stored], "the stored key holds its first key only"
        check_hub(box, "no marker here", attacker)
        assert box.run("alice", "git", "nbcollab", "list").returncode == 0
    finally:
        for path, data in saved.items():
            path.write_bytes(data)
