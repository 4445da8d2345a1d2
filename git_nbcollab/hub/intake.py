"""What a push may bring, checked by the pre-receive hook once the ref rules passed.

Runs inside git's quarantine: the pushed objects are readable, but refs still show the repo as
it was, so `--not --all` leaves exactly what the push adds. Every file a new commit adds or
changes (against each parent, so a rename or a merge that brings an old blob to a new path
counts) is listed by one `git log`, with each new commit's parents (a branch only moves
forward: a force-push is refused here, so that the audit log has it); its size is read from the
object header before any content, and each `.ipynb` then goes through `notebooks.check`. Refs
per member are counted only when the push creates one. Each refusal is one line naming the path
or ref and the reason.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import NamedTuple

from git_nbcollab import proc
from git_nbcollab.names import ZERO, User, author_branch

GITLINK = "160000"
SHOWN = 20  # refusals printed; the rest are counted


class Update(NamedTuple):
    old: str
    new: str
    ref: str


class File(NamedTuple):
    commit: str
    mode: str
    blob: str
    path: str


def _git(git_dir: str, *args: str) -> bytes:
    return proc.run("git", "--git-dir", git_dir, *args).stdout


class Pushed(NamedTuple):
    files: list[File]  # every (commit, path, blob) that a commit of the push adds or changes
    parents: dict[str, list[str]]  # each commit the push adds: its parents


def pushed(git_dir: str, tips: Sequence[str]) -> Pushed:
    """What the commits the push adds bring, from one `git log`."""
    raw = _git(
        git_dir,
        "log", "-m", "--root", "--raw", "--no-renames", "--no-abbrev", "--diff-filter=d", "-z",
        "--format=%H %P", *tips, "--not", "--all",
    ).decode("utf-8", "surrogateescape")  # fmt: skip
    found, commit, tokens = Pushed([], {}), "", iter(raw.split("\0"))
    for token in tokens:
        token = token.lstrip("\n")
        if token.startswith(":"):
            _, mode, _, blob, _ = token[1:].split(" ")
            found.files.append(File(commit, mode, blob, next(tokens)))
        elif token:
            commit, *parents = token.split(" ")
            found.parents[commit] = parents
    return found


def _contains(git_dir: str, tip: str, old: str, parents: dict[str, list[str]]) -> bool:
    """Is `old` in the history of `tip`? Seen at once when the push's own commits lead to it
    (a sync's push: its commits sit on the old tip); otherwise git walks the history."""
    todo, seen = [tip], set()
    while todo:
        commit = todo.pop()
        if commit == old:
            return True
        if commit in parents and commit not in seen:
            seen.add(commit)
            todo += parents[commit]
    ancestor = proc.run(
        "git", "--git-dir", git_dir, "merge-base", "--is-ancestor", old, tip, check=False
    )
    return ancestor.returncode == 0


def rewrite_refusals(
    git_dir: str, updates: Sequence[Update], parents: dict[str, list[str]]
) -> list[str]:
    """Refuse a branch moved to a commit that does not hold its old one (a force-push): here,
    before git refuses it too, so that the audit log has a line for it."""
    return [
        f"refused {u.ref}: a non-fast-forward push (it would drop commits the hub has); nobody"
        " force-pushes: merge them in instead (`git nbcollab sync`)"
        for u in updates
        if u.old != ZERO and u.new != ZERO and not _contains(git_dir, u.new, u.old, parents)
    ]


class Objects:
    """One `git cat-file --batch-command` for the whole check: sizes from object headers, then
    contents, one blob at a time."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdin and child.stdout
        self.ask, self.answer = child.stdin, child.stdout

    def _header(self, command: str, blob: str) -> int:
        self.ask.write(f"{command} {blob}\n".encode())
        self.ask.flush()
        header = self.answer.readline().split()
        return int(header[2]) if len(header) == 3 else 0

    def size(self, blob: str) -> int:
        return self._header("info", blob)

    def read(self, blob: str) -> bytes:
        data = self.answer.read(self._header("contents", blob))
        self.answer.read(1)  # the newline after each content
        return data


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size < 2**30 else f"{size / 2**30:.1f} GB"


def _why(f: File, size: int, max_file_mb: int) -> str | None:
    """Why this file may not enter, before its content is read (None: go on)."""
    if f.mode == GITLINK:
        return "a submodule entry, not a notebook" if f.path.endswith(".ipynb") else None
    if size > max_file_mb * 2**20:
        return (
            f"{_mb(size)} is over the hub's limit of {max_file_mb} MB a file"
            " (the admin can raise it: git nbcollab init --max-file-mb N)"
        )
    return None


def file_refusals(git_dir: str, files: Sequence[File], max_file_mb: int) -> list[str]:
    """Files too large, and `.ipynb` files that are not notebooks; each notebook is read once,
    one at a time, so memory stays bounded by the file limit."""
    if not files:
        return []
    from git_nbcollab.notebooks import check

    reasons: dict[tuple[str, str], str] = {}  # (path, blob) -> why, at the first commit only
    checked: dict[str, str | None] = {}  # blob -> its problem as a notebook
    with proc.talk("git", "--git-dir", git_dir, "cat-file", "--batch-command") as child:
        objects = Objects(child)
        sizes = {b: objects.size(b) for b in {f.blob for f in files if f.mode != GITLINK}}
        for f in files:
            why = _why(f, sizes.get(f.blob, 0), max_file_mb)
            if why is None and f.path.endswith(".ipynb"):
                if f.blob not in checked:
                    checked[f.blob] = check.problem(objects.read(f.blob))
                why = checked[f.blob] and f"not a notebook: {checked[f.blob]}"
            if why:
                line = f"refused {f.path} (commit {f.commit[:10]}): {why}"
                reasons.setdefault((f.path, f.blob), line)
    return list(reasons.values())


def ref_refusals(git_dir: str, user: User, updates: Sequence[Update], max_refs: int) -> list[str]:
    """Refuse a push that would leave `user` with more than `max_refs` branches."""
    created = sum(u.old == ZERO and u.new != ZERO for u in updates)
    if not created:
        return []
    deleted = sum(u.old != ZERO and u.new == ZERO for u in updates)
    prefix = author_branch(user, "")  # refs/heads/u/<user>/
    have = len(_git(git_dir, "for-each-ref", "--format=x", prefix).splitlines())
    if have + created - deleted <= max_refs:
        return []
    return [
        f"refused: you would have {have + created - deleted} branches here, over the hub's limit"
        f" of {max_refs} (delete some with `git push origin :{prefix}NAME`; the admin can"
        " raise it: git nbcollab init --max-refs N)"
    ]


def refusals(
    git_dir: str, user: User, updates: Sequence[Update], *, max_file_mb: int, max_refs: int
) -> list[str]:
    """Why the push may not land, one line each (at most SHOWN, then a count); [] if it may."""
    reasons = ref_refusals(git_dir, user, updates, max_refs)
    tips = sorted({u.new for u in updates if u.new != ZERO})
    if tips:
        found = pushed(git_dir, tips)
        reasons += rewrite_refusals(git_dir, updates, found.parents)
        reasons += file_refusals(git_dir, found.files, max_file_mb)
    if len(reasons) > SHOWN:
        reasons = [*reasons[:SHOWN], f"refused: and {len(reasons) - SHOWN} more like these"]
    return reasons
