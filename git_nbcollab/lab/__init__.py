"""The Jupyter server extension: REST handlers under /nbcollab/ that run as the logged-in
teammate and call the same code as the CLI (see `handlers` and `actions`).

Jupyter enables it from `jupyter-config/jupyter_server_config.d/git_nbcollab.json`, which the
wheel installs into `<prefix>/etc/jupyter/`.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "git_nbcollab.lab"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from git_nbcollab.lab.handlers import setup

    setup(server_app.web_app)
    server_app.log.info("git-nbcollab: handlers under /nbcollab/")
