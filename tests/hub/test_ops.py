"""The hub's operations refuse malformed requests before touching anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from git_nbcollab.errors import USAGE, UserError
from git_nbcollab.hub.ops import dispatch
from git_nbcollab.layout import Hub
from git_nbcollab.names import User


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        ("share --with bob --name nb --file nb.ipynb --author a<b> x", "user.name"),
        ("share --with bob --name nb --file ../nb.ipynb --author a x", "not a notebook file name"),
        ("publish 0a1b2c3d ../x --author a a@x", "not a usable notebook name"),
        ("publish 0a1b2c3d nb --bump BIG --author a a@x", "invalid choice"),
        ("versions", "one of the arguments"),
        ("rm -rf", "invalid choice"),
        ("show nb:1.0", "not a published version"),
    ],
)
def test_malformed_requests_are_refused_in_one_line(
    tmp_path: Path, request_: str, why: str
) -> None:
    hub = Hub(tmp_path / "no-hub-needed")
    with pytest.raises(UserError) as refused:
        dispatch(hub, User("alice"), request_.split())
    assert why in str(refused.value) and "\n" not in str(refused.value)
    assert not hub.root.exists(), "nothing was touched"


def test_usage_errors_exit_with_code_2(tmp_path: Path) -> None:
    with pytest.raises(UserError) as refused:
        dispatch(Hub(tmp_path), User("alice"), ["rm"])
    assert refused.value.code == USAGE
