"""The child that executes a notebook with nbclient: `python -m git_nbcollab.checks.execute
NOTEBOOK TIMEOUT`, started by `sandbox.run` as the runner account, inside its limits.

It reads NOTEBOOK (in the current folder, a throwaway copy), runs it top to bottom on the
kernel it names, and writes one JSON document to the descriptor $NBCOLLAB_RESULT_FD (a file
the parent opened; the kernel does not inherit it): the executed notebook, the kernel, and
the first problem with its cell. On stderr it says which cell is starting, so that if the
parent has to kill it (the time or memory limit), it still knows the cell.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from git_nbcollab.checks.sandbox import RESULT_FD, STARTED
from git_nbcollab.notebooks import notebook


def _problem(error: BaseException, cell: int, timeout: float, kernel: str) -> dict[str, Any]:
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    if isinstance(error, NoSuchKernel):
        return {"cell": 0, "message": f"kernel {kernel!r} is not registered for the runner"}
    if isinstance(error, CellTimeoutError):
        return {"cell": cell, "message": f"did not finish within the {timeout:g}s limit"}
    if isinstance(error, DeadKernelError):
        return {"cell": cell, "message": "the kernel died (memory or CPU limit reached?)"}
    if isinstance(error, CellExecutionError):
        return {"cell": cell, "message": f"{error.ename}: {error.evalue}".strip()[:300]}
    return {"cell": cell, "message": f"{type(error).__name__}: {error}"[:300]}


def execute(path: str, timeout: float) -> dict[str, Any]:
    from nbclient import NotebookClient
    from traitlets.config import Config

    with open(path, "rb") as f:
        nb = notebook.read(f.read(), path)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "") or "python3"
    deadline = time.monotonic() + timeout
    current = [0]

    def started(cell: Any, cell_index: int) -> None:
        current[0] = cell_index + 1
        print(f"{STARTED}{cell_index + 1}", file=sys.stderr, flush=True)

    config = Config()
    config.KernelManager.transport = "ipc"  # no TCP: the network may be closed, even loopback
    config.KernelManager.ip = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "kernel")
    client = NotebookClient(
        nb,
        config=config,
        kernel_name=kernel,
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        resources={"metadata": {"path": os.getcwd()}},
        on_cell_start=started,
        shutdown_kernel="immediate",  # the copy is thrown away: no need to wait for a busy kernel
    )
    problem = None
    try:
        client.execute()
    except Exception as error:
        problem = _problem(error, current[0], timeout, kernel)
    return {
        "kernel": kernel,
        "problem": problem,
        "notebook": json.loads(notebook.dumps(nb)),
    }


def _guard_result() -> int:
    """The result's descriptor, out of the notebook's reach: not in the kernel's environment
    or descriptors, and this process not dumpable (so the kernel, under the same uid, cannot
    open it through /proc/PID/fd either)."""
    import ctypes

    fd = int(os.environ.pop(RESULT_FD))
    os.set_inheritable(fd, False)
    pr_set_dumpable = 4
    ctypes.CDLL(None).prctl(pr_set_dumpable, 0, 0, 0, 0)
    return fd


def main(argv: list[str]) -> int:
    path, timeout = argv[0], float(argv[1])
    fd = _guard_result()
    result = execute(path, timeout)
    with os.fdopen(fd, "w") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
