"""Backups to S3 over real HTTP (moto_server on 127.0.0.1), through the real gate and hooks."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from git_nbcollab.cli import nbcollab
from git_nbcollab.layout import Hub
from tests.box import Box, free_port
from tests.commands.test_backup import (
    assert_same_repo,
    bob_commits,
    clone_as_bob,
    objects,
)
from tests.conftest import require

MOTO = Path(sys.executable).parent / "moto_server"
BUCKET = "nbcollab-backups"
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class Moto:
    """A real S3 endpoint over HTTP; in memory, so a restart starts empty."""

    def __init__(self, log: Path) -> None:
        self.port, self.log = free_port(), log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(MOTO), "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                self.client().create_bucket(Bucket=BUCKET)
                return
            time.sleep(0.05)
        raise RuntimeError(f"moto_server did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            **{k.lower(): v for k, v in KEYS.items()},
        )


@pytest.fixture(scope="module")
def s3(box: Box, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """The box's hub switched to an S3 mirror for this module, then switched back."""
    require(None if MOTO.exists() else "needs moto_server: pip install 'moto[server]'")
    moto = Moto(tmp_path_factory.mktemp("moto") / "moto.log")
    hub = Hub(box.root)
    before = hub.settings
    aws = box.root / ".aws"
    try:
        moto.start()
        aws.mkdir(mode=0o700)
        (aws / "credentials").write_text(
            "[default]\n" + "".join(f"{k.lower()} = {v}\n" for k, v in KEYS.items())
        )
        (aws / "credentials").chmod(0o600)
        for path in (aws, aws / "credentials"):
            shutil.chown(path, box.service, box.service)
        box.backups_idle()
        hub.save_settings(before._replace(mirror=f"s3://{BUCKET}/hub", s3_endpoint=moto.url))
        yield moto
    finally:
        try:
            box.backups_idle()
        finally:
            hub.save_settings(before)
            shutil.rmtree(aws, ignore_errors=True)
            moto.stop()


@pytest.fixture(autouse=True)
def aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root's own keys for restore (the hub's uploader uses the service account's file)."""
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)


def status(box: Box) -> str:
    done = box.run_as("root", "git", "nbcollab", "backup", "status", "--root", str(box.root))
    assert done.returncode == 0, done.stderr
    return done.stdout


def restore_s3(box: Box, moto: Moto, cid: str) -> tuple[int, Path]:
    new = box.base / f"s3-restored-{cid}-{time.monotonic_ns()}"
    init = ["init", "--root", str(new), "--service-user", box.service, "--team-group", box.team]
    init += ["--ssh", f"127.0.0.1:{box.port}", "--bin-dir", str(box.bin_dir)]
    assert nbcollab([*init, "--mirror", f"s3://{BUCKET}/hub", "--s3-endpoint", moto.url]) == 0
    args = ["restore", "--from", f"s3://{BUCKET}/hub", "--s3-endpoint", moto.url]
    return nbcollab([*args, "--collab", cid, "--root", str(new)]), new


def test_pushes_reach_s3_and_restore_from_it(box: Box, s3: Moto) -> None:
    cid = box.share("alice", ["bob"], "s3-basic.ipynb")
    copy = clone_as_bob(box, cid, "s3-basic")
    bob_commits(box, copy, "one")
    bob_commits(box, copy, "two")
    box.backups_idle()
    listed = s3.client().list_objects_v2(Bucket=BUCKET, Prefix=f"hub/collabs/{cid}/")
    keys = [item["Key"] for item in listed["Contents"]]
    assert f"hub/collabs/{cid}/000000/000000.bundle" in keys, keys
    head = s3.client().head_object(Bucket=BUCKET, Key=keys[0])
    assert len(head["Metadata"]["sha256"]) == 64, "each object carries its sha256"
    assert "last error: none" in status(box)
    code, new = restore_s3(box, s3, cid)
    assert code == 0
    assert_same_repo(box, cid, new)


def test_teammates_cannot_read_the_credentials(box: Box, s3: Moto) -> None:
    for who in ("alice", "bob"):
        done = box.run(who, "cat", str(box.root / ".aws" / "credentials"))
        assert done.returncode != 0 and "Permission denied" in done.stderr


def test_a_big_upload_killed_half_way_leaves_no_object_and_resumes(box: Box, s3: Moto) -> None:
    cid = box.share("alice", ["bob"], "s3-big.ipynb")
    copy = clone_as_bob(box, cid, "s3-big")
    box.backups_idle()
    spool = box.root / "spool"
    with open(spool / ".uploader.lock", "a") as lock:  # keep the hook's uploader out for now
        fcntl.flock(lock, fcntl.LOCK_EX)
        box.run("bob", "sh", "-c", "head -c 60000000 /dev/urandom > big.bin", cwd=copy)
        script = "git add big.bin && git commit -qm big && git push -q"
        assert box.run("bob", "sh", "-c", script, cwd=copy).returncode == 0
    command = [sys.executable, "-I", "-m", "git_nbcollab", "backup", "run", "--root", str(box.root)]
    env = ["env", "-i", f"HOME={box.root}", "PATH=/usr/bin:/bin"]
    uploader = subprocess.Popen(
        ["runuser", "-u", box.service, "--", *env, *command],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not s3.client().list_multipart_uploads(
            Bucket=BUCKET
        ).get("Uploads"):
            time.sleep(0.01)
        os.killpg(uploader.pid, signal.SIGKILL)
    finally:
        uploader.wait(10)
    big = f"hub/collabs/{cid}/000000/000001.bundle"
    listed = s3.client().list_objects_v2(Bucket=BUCKET, Prefix=f"hub/collabs/{cid}/")
    assert big not in [item["Key"] for item in listed["Contents"]], "no partial object"
    verify = box.run_as(
        "root", "git", "nbcollab", "backup", "verify", "--root", str(box.root), "--collab", cid
    )
    assert verify.returncode == 0 and "behind the hub" in verify.stdout, verify
    assert box.admin("backup", "run") == 0
    assert not s3.client().list_multipart_uploads(Bucket=BUCKET).get("Uploads"), "parts dropped"
    code, new = restore_s3(box, s3, cid)
    assert code == 0
    assert_same_repo(box, cid, new)


def test_pushes_succeed_while_the_store_is_down_and_the_queue_drains_after(
    box: Box, s3: Moto
) -> None:
    s3.stop()  # moto keeps objects in memory: this collaboration is made while it is down
    try:
        cid = box.share("alice", ["bob"], "s3-down.ipynb")
        copy = clone_as_bob(box, cid, "s3-down")
        for i in range(3):
            bob_commits(box, copy, f"down-{i}")
        deadline = time.monotonic() + 60
        while "last error: none" in (text := status(box)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "last error: cannot" in text, text
        queued = int(text.split("queued: ")[1].split()[0])
        assert queued >= 2, text
    finally:
        s3.start()
    assert box.admin("backup", "run") == 0
    assert "queued: 0 bundles" in status(box) and "last error: none" in status(box)
    code, new = restore_s3(box, s3, cid)
    assert code == 0
    assert_same_repo(box, cid, new)
    assert objects(new / "collabs" / f"{cid}.git")
