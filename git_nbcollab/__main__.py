from __future__ import annotations

import sys

from git_nbcollab.cli import nbcollab

sys.exit(nbcollab())
