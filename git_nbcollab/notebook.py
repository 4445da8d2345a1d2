# TEMPORARY stand-in until the notebook-merge branch lands
from __future__ import annotations

import sys
from typing import Any

from git_nbcollab.errors import UserError


def read(data: bytes, what: str) -> Any:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import nbformat

    try:
        nb = nbformat.reads(data.decode(), as_version=4)
        nbformat.validate(nb)
    except Exception as e:
        raise UserError(f"{what} is not a valid notebook: {str(e).splitlines()[0]}") from None
    return nb
