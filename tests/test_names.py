from __future__ import annotations

import pytest

from git_nbcollab.errors import UserError
from git_nbcollab.names import (
    CollabId,
    MemberSpec,
    User,
    author_branch,
    branch_owner,
    final_file,
    notebook_file,
    notebook_name,
    parse_shown,
    parse_spec,
    shown,
    tag_version,
    user,
    users,
    version_tag,
)


@pytest.mark.parametrize("name", ["alice", "bob_2", "_svc", "a-b", "x" * 32])
def test_valid_user_names_pass_through(name: str) -> None:
    assert user(name) == name


@pytest.mark.parametrize("name", ["../x", "a;b", "", "Alice", "-rf", "x" * 33, "a b", "a/b"])
def test_unsafe_user_names_are_refused_in_one_line(name: str) -> None:
    with pytest.raises(UserError) as e:
        user(name)
    assert "\n" not in str(e.value) and "not a valid user name" in str(e.value)


def test_user_lists_are_split_on_commas() -> None:
    assert users("bob,carol") == {"bob", "carol"}
    for bad in ("", "bob,,carol", "bob,", ","):
        with pytest.raises(UserError):
            users(bad)


def test_spec_by_id_and_by_members_and_name() -> None:
    assert parse_spec("0a1b2c3d") == CollabId("0a1b2c3d")
    spec = parse_spec("bob,alice:analysis")
    assert spec == MemberSpec(frozenset({User("alice"), User("bob")}), "analysis")
    assert str(spec) == "alice,bob:analysis", "members print sorted, so a spec has one spelling"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "analysis",
        "0A1B2C3D",
        "0a1b2c3",
        ":analysis",
        "alice:",
        "alice:../x",
        "alice:a/b",
        "a;b:nb",
        "alice,bob:x:y",
    ],
)
def test_malformed_specs_are_refused(text: str) -> None:
    with pytest.raises(UserError):
        parse_spec(text)


@pytest.mark.parametrize("name", ["analysis", "Sales_Q3", "v1.2-draft"])
def test_notebook_names(name: str) -> None:
    assert notebook_name(name) == name


@pytest.mark.parametrize(
    "name", ["a:b", "a/b", "../x", "/abs", ".hidden", "a..b", "x.lock", "x.", "nb.ipynb", "a b"]
)
def test_notebook_names_that_could_escape_or_break_refs_are_refused(name: str) -> None:
    with pytest.raises(UserError):
        notebook_name(name)


def test_notebook_file_names() -> None:
    assert notebook_file("My analysis.ipynb") == "My analysis.ipynb"
    for bad in ("a/b.ipynb", "notes.txt", ".x.ipynb", "a\nb.ipynb"):
        with pytest.raises(UserError):
            notebook_file(bad)


def test_author_branches_round_trip() -> None:
    ref = author_branch(User("alice"))
    assert ref == "refs/heads/u/alice/main"
    assert branch_owner(ref) == "alice"
    assert branch_owner("refs/heads/u/alice/topic/x") == "alice"


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads/master",
        "refs/heads/u/alice",
        "refs/heads/u/alice/",
        "refs/tags/x",
        "refs/heads/u/Alice/main",
        "refs/heads/u/alice//x",
    ],
)
def test_refs_that_are_no_ones_author_branch(ref: str) -> None:
    assert branch_owner(ref) is None


def test_version_tags_round_trip() -> None:
    ref = version_tag("Sales", "1.2.0")
    assert ref == "refs/tags/Sales/v1.2.0"
    assert tag_version(ref, "Sales") == "1.2.0"
    assert tag_version("refs/tags/Sales/v1.2", "Sales") is None
    assert tag_version("refs/tags/Sales2/v1.2.0", "Sales") is None
    assert shown("Sales", "1.2.0") == "Sales:v1.2.0"
    assert parse_shown("Sales:v1.2.0") == ("Sales", "1.2.0")
    assert final_file("Sales") == "Sales_FINAL.ipynb"


@pytest.mark.parametrize("text", ["Sales", "Sales:1.2.0", "Sales:v1.2", "../x:v1.0.0", ":v1.0.0"])
def test_malformed_published_versions_are_refused(text: str) -> None:
    with pytest.raises(UserError):
        parse_shown(text)
