from __future__ import annotations

from git_nbcollab.cli import nbcollab_script

nbcollab_script()
