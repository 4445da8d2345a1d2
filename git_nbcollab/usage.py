"""The argument parser every command line uses, the teammate's and the gate's."""

from __future__ import annotations

import argparse
from typing import NoReturn

from git_nbcollab.errors import USAGE, UserError


class Parser(argparse.ArgumentParser):
    """Usage errors become one-line UserErrors with exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see {self.prog} -h)", USAGE)
