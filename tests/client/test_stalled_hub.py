"""A hub that stops answering in the middle of a command (a laptop's network gone, the box
frozen): the command ends with one line instead of hanging, and so does a sync waiting
behind it. Real sshd, reached through a relay that stops relaying when told."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

from tests.box import Box


class Relay:
    """127.0.0.1:`port` relayed to the box's sshd until `stall()`; then nothing passes."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.stalled = threading.Event()
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                near, _ = self.listener.accept()
            except OSError:
                return
            far = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                while self.stalled.is_set() and not self.closed.is_set():
                    time.sleep(0.05)  # held, never passed on
                if self.closed.is_set():
                    return
                sink.sendall(data)

    def stall(self) -> None:
        self.stalled.set()

    def close(self) -> None:
        self.closed.set()
        for s in [self.listener, *self.sockets]:
            s.close()


@contextlib.contextmanager
def relay(box: Box) -> Iterator[Relay]:
    found = Relay(box.port)
    try:
        yield found
    finally:
        found.close()


def stop(started: subprocess.Popen[str]) -> None:
    """The command and everything it started (its own session), by pid."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(started.pid, signal.SIGKILL)
    started.wait()


def _waiting_gate(box: Box) -> bool:
    gates = ["pgrep", "-u", box.service, "-f", "git_nbcollab.gate"]
    return subprocess.run(gates, capture_output=True).returncode == 0


def test_a_hub_that_stops_answering_mid_command_ends_it_with_one_line(box: Box) -> None:
    cid = box.share("alice", ["bob"], "stall.ipynb")
    bob = box.user("bob")
    with relay(box) as hub, open(box.root / "collabs" / ".lock", "a+") as lock:
        url = f"ssh://{box.service}@127.0.0.1:{hub.port}"
        fcntl.flock(lock, fcntl.LOCK_EX)  # publish waits for it on the hub: connected, waiting
        cmd = ["git", "-c", f"nbcollab.hub={url}", "nbpublish", cid, "-version", "MINOR"]
        started = box.popen_as(bob, *cmd, "--", "Stall")
        deadline = time.monotonic() + 30
        while not _waiting_gate(box) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_gate(box), "the publish never reached the hub"
        hub.stall()
        try:
            _, err = started.communicate(timeout=120)  # hung for good without keep-alives
        finally:
            stop(started)
    assert started.returncode == 1, err
    assert err.count("\n") == 1 and "the hub stopped answering" in err, err
