"""The hub's layout on disk and its settings; the one place that knows where things live."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from git_nbcollab.errors import UserError
from git_nbcollab.names import CollabId, User

DEFAULT_ROOT = Path("/srv/nbcollab")
SETTINGS = "hub.json"


class Settings(NamedTuple):
    service_user: str
    team_group: str
    ssh: str  # host[:port] that teammates use to reach the gate
    runtime: str  # a Python environment everyone can run; the gate and hooks use it
    mirror: str = ""  # s3://bucket/prefix or a folder; "" is the folder <root>-mirror beside it
    s3_endpoint: str = ""  # for S3-compatible stores other than AWS
    full_every: int = 1000  # bundles per chain: the next one after that is full
    # What one push may bring (git refuses a larger pack; the pre-receive hook the rest):
    max_push_mb: int = 1024  # the pack sent, compressed (receive.maxInputSize)
    max_file_mb: int = 100  # any one file, uncompressed: what publish and sync may load
    max_refs: int = 100  # branches per member in one collaboration
    # Checks of every published version (hub/checking.py), run as `runner_user` ("": a hub made
    # before checks; `init` again makes the runner)
    runner_user: str = ""
    checks: str = "valid,executes,reproduces,secrets,size"  # must pass; "" runs none
    check_timeout: int = 600  # seconds a notebook may run
    check_memory_mb: int = 2048
    required_checks: bool = False  # `latest` moves only to a version whose checks passed

    @property
    def python(self) -> str:
        return f"{self.runtime}/bin/python"

    @property
    def checks_on(self) -> bool:
        return bool(self.runner_user and self.checks)

    @property
    def url(self) -> str:
        host, _, port = self.ssh.partition(":")
        return f"ssh://{self.service_user}@{host}:{port or 22}"


class Hub(NamedTuple):
    root: Path

    @property
    def collabs(self) -> Path:
        return self.root / "collabs"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def checks_spool(self) -> Path:
        return self.spool / "checks"

    @property
    def runner_home(self) -> Path:
        """The check runner's home, beside the hub (as the mirror is): root's, not the runner's."""
        return self.root.with_name(f"{self.root.name}-runner")

    @property
    def runner_key(self) -> Path:
        """The service account's key for reaching the runner account over ssh."""
        return self.authorized_keys.parent / "runner_ed25519"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def authorized_keys(self) -> Path:
        return self.root / ".ssh" / "authorized_keys"

    @property
    def settings_file(self) -> Path:
        return self.root / SETTINGS

    @property
    def collabs_lock(self) -> Path:
        return self.collabs / ".lock"

    def repo(self, cid: CollabId) -> Path:
        return self.collabs / f"{cid}.git"

    def user_keys(self, user: User) -> Path:
        return self.keys / user

    def is_teammate(self, user: User) -> bool:
        return self.user_keys(user).is_dir()

    def teammates(self) -> list[User]:
        return sorted(User(p.name) for p in self.keys.iterdir() if p.is_dir())

    @property
    def settings(self) -> Settings:
        try:
            data = json.loads(self.settings_file.read_bytes())
        except FileNotFoundError:
            raise UserError(
                f"no hub at {self.root}: set one up with `git nbcollab init --root {self.root}`"
            ) from None
        return Settings(**data)

    def save_settings(self, settings: Settings) -> None:
        from git_nbcollab.fsutil import atomic_write

        data = json.dumps(settings._asdict(), indent=1).encode()
        atomic_write(self.settings_file, data, 0o640, (settings.service_user, settings.team_group))


def default_root() -> Path:
    return Path(os.environ.get("NBCOLLAB_ROOT", DEFAULT_ROOT))
