"""Who may move which ref on the hub. Pure: the pre-receive hook feeds it what git sends."""

from __future__ import annotations

from git_nbcollab.names import MAIN, ZERO, User, author_branch, branch_owner


def refusal(user: User, ref: str, old: str, new: str) -> str | None:
    """Why `user` may not move `ref` from `old` to `new` by a push, or None if they may."""
    if ref == "refs/heads/master":
        return "master moves only through `git nbpublish`"
    if ref.startswith("refs/tags/"):
        return "tags are made only by `git nbpublish`"
    owner = branch_owner(ref)
    if owner is None:
        return f"push to your own branches, {author_branch(user, '<name>')}"
    if owner != user:
        return f"{ref} belongs to {owner}; push to {author_branch(user, '<name>')}"
    if new == ZERO and ref == author_branch(user, MAIN):
        return "your main branch cannot be deleted"
    return None
