"""alice's JupyterLab (tests/lab.py), one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import lab
from tests.box import Box
from tests.conftest import require


@pytest.fixture(scope="module")
def alice_lab(box: Box, tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab.Lab]:
    require(lab.missing_lab(box))
    with lab.running(box, "alice", tmp_path_factory.mktemp("lab")) as server:
        yield server
