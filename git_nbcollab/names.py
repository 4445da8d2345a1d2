"""Every user name, collaboration id, spec and ref name is checked and built here, and only here.

Every push imports this (through the gate and the hook): value types are NamedTuples, not
dataclasses, whose import costs more than the rest of the push path's Python.
"""

from __future__ import annotations

import re
from typing import NamedTuple, NewType

from git_nbcollab.errors import UserError

User = NewType("User", str)
CollabId = NewType("CollabId", str)

_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_ID = re.compile(r"[0-9a-f]{8}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_BRANCH_LEAF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")

BRANCH_PREFIX = "refs/heads/u/"
ZERO = "0" * 40  # what git says for "no such ref" in old/new pairs
MAIN = "main"


def user(text: str) -> User:
    if not _USER.fullmatch(text):
        raise UserError(
            f"{text!r} is not a valid user name: use lower-case letters, digits, '-' and '_'"
        )
    return User(text)


def users(text: str) -> frozenset[User]:
    """A comma-separated list of users, such as 'bob,carol'."""
    names = [part.strip() for part in text.split(",")]
    if not text.strip() or not all(names):
        raise UserError(f"{text!r} is not a list of users: write them as bob,carol")
    return frozenset(user(name) for name in names)


def collab_id(text: str) -> CollabId:
    if not _ID.fullmatch(text):
        raise UserError(
            f"{text!r} is not a collaboration id (8 hex digits, as git nbshare printed)"
        )
    return CollabId(text)


def notebook_name(text: str) -> str:
    """A notebook name: it becomes a file name, a folder in the published tree and a tag prefix."""
    if not _NAME.fullmatch(text) or ".." in text or text.endswith((".", ".lock", ".ipynb")):
        raise UserError(
            f"{text!r} is not a usable notebook name: use letters, digits, '.', '-' and '_'"
            " (no ':', '/', '..' or .ipynb suffix)"
        )
    return text


class MemberSpec(NamedTuple):
    """A collaboration named by its members and notebook name: alice,bob:analysis."""

    members: frozenset[User]
    name: str

    def __str__(self) -> str:
        return f"{','.join(sorted(self.members))}:{self.name}"


Spec = CollabId | MemberSpec


def parse_spec(text: str) -> Spec:
    """`<id>` or `<user1,user2,...>:<nb_name>`."""
    if ":" not in text:
        if _ID.fullmatch(text):
            return CollabId(text)
        raise UserError(
            f"{text!r} is not a collaboration: give its id, or members and name as alice,bob:nb"
        )
    members, _, name = text.partition(":")
    return MemberSpec(users(members), notebook_name(name))


def author_branch(owner: User, leaf: str = MAIN) -> str:
    return f"{BRANCH_PREFIX}{owner}/{leaf}"


def branch_owner(ref: str) -> User | None:
    """The user whose `u/<user>/<leaf>` branch this is, or None for any other ref."""
    if not ref.startswith(BRANCH_PREFIX):
        return None
    owner, slash, leaf = ref[len(BRANCH_PREFIX) :].partition("/")
    if not slash or not _USER.fullmatch(owner) or not _BRANCH_LEAF.fullmatch(leaf):
        return None
    return User(owner)


def notebook_file(text: str) -> str:
    """A notebook's file name inside a collaboration: a plain `*.ipynb` name, no folders."""
    if not text.endswith(".ipynb") or text.startswith(".") or any(c in text for c in "/\\\0\n"):
        raise UserError(f"{text!r} is not a notebook file name (a plain name ending in .ipynb)")
    return text


PROJECT_REF = "refs/nbcollab/project"  # the collaboration's project metadata, written by the hub
CHECKS_NOTES = "refs/notes/nbcollab-checks"  # checks.json of each version, on its tag's commit
_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def final_file(name: str) -> str:
    """The file a published notebook is called, on master and in the published tree."""
    return f"{name}_FINAL.ipynb"


def version_tag(name: str, version: str) -> str:
    """`refs/tags/<name>/v<version>`: git forbids ':' in refs, so this stands for name:vX.Y.Z."""
    return f"refs/tags/{name}/v{version}"


def tag_version(ref: str, name: str) -> str | None:
    """The version a tag ref of `name` carries, or None if it is not one."""
    prefix = f"refs/tags/{name}/v"
    version = ref.removeprefix(prefix)
    return version if ref.startswith(prefix) and _VERSION.fullmatch(version) else None


def shown(name: str, version: str) -> str:
    """How a published version is written for people: `name:vX.Y.Z`."""
    return f"{name}:v{version}"


def parse_shown(text: str) -> tuple[str, str]:
    """`name:vX.Y.Z` (as `shown` writes it) to (name, version)."""
    name, _, version = text.rpartition(":v")
    if not name or not _VERSION.fullmatch(version):
        raise UserError(f"{text!r} is not a published version: write it as analysis:v1.2.0")
    return notebook_name(name), version


# Off-box backups: where each thing lives in the spool and in the mirror (a folder or S3 prefix).
def entry_name(cid: CollabId, chain: int, seq: int) -> str:
    """A bundle's name, relative to the mirror: collabs/<id>/<chain>/<seq> (+ .bundle, .json)."""
    return f"collabs/{cid}/{chain:06d}/{seq:06d}"


def parse_entry_name(name: str) -> tuple[CollabId, int, int] | None:
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "collabs" or not _ID.fullmatch(parts[1]):
        return None
    if not (parts[2].isdigit() and parts[3].isdigit()):
        return None
    return CollabId(parts[1]), int(parts[2]), int(parts[3])


def published_key(relpath: str) -> str:
    return f"published/{relpath}"
