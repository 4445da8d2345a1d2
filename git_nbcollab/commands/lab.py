"""`git nbcollab lab`: your own JupyterLab, from the runtime the tool runs in, rooted at your
~/notebooks, on 127.0.0.1 with a fresh token.

The token travels in the environment (JUPYTER_TOKEN), never on the command line: any user on
the box can read another's command line, and the token is a way to run code as you.
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from git_nbcollab.client import link
from git_nbcollab.errors import UserError
from git_nbcollab.output import say


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _box() -> tuple[str, int]:
    """The box's ssh host and port, as the hub's address names them."""
    found = urlsplit(link.configured().url)
    return found.hostname or "BOX", found.port or 22


def lab(*, port: int | None) -> int:
    jupyter = Path(sys.prefix) / "bin" / "jupyter-lab"
    if not jupyter.exists():
        raise UserError(
            f"JupyterLab is not installed in {sys.prefix}: ask an admin to install it"
            f" ({sys.prefix}/bin/pip install 'jupyterlab>=4.4,<5')"
        )
    folder = Path.home() / "notebooks"
    if not folder.is_dir():
        raise UserError(f"{folder} does not exist: ask an admin to run `git nbcollab user add`")
    host, ssh_port = _box()
    port = port or _free_port()
    token = secrets.token_hex(24)
    me = getpass.getuser()
    say(f"JupyterLab for {me}, in {folder}: http://127.0.0.1:{port}/lab?token={token}")
    tunnel = f"ssh -N -L {port}:127.0.0.1:{port} {me}@{host}"
    say(f"from a laptop: {tunnel}{f' -p {ssh_port}' if ssh_port != 22 else ''}, then open it")
    command = [
        str(jupyter),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={folder}",
    ]
    sys.stdout.flush()
    os.execve(jupyter, command, {**os.environ, "JUPYTER_TOKEN": token})
