"""`git nbcollab init`: the service account, the team group, the hub folder, shared commands."""

from __future__ import annotations

import os
import pwd
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from git_nbcollab import proc
from git_nbcollab.backup.mirror import check_mirror, mirror_of
from git_nbcollab.box import accounts, keys, runner, runtime
from git_nbcollab.errors import UserError
from git_nbcollab.fsutil import Undo, undoable
from git_nbcollab.hub import repos
from git_nbcollab.layout import DEFAULT_ROOT, Hub, Settings
from git_nbcollab.names import user
from git_nbcollab.output import say

DEFAULTS = {
    "service_user": "nbcollab",
    "team_group": "nbcollab-team",
    "ssh": "localhost:22",
}
_SAFE_PATH = re.compile(r"[A-Za-z0-9/._-]+")  # it goes into authorized_keys and hook shims
_SSH = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _runner_added(hub: Hub, settings: Settings, asked: str | None) -> Settings:
    """A hub made before checks existed gets its runner account now (and checks from then on)."""
    if settings.runner_user:
        return settings
    name = user(asked or runner.default_name(settings.service_user))
    settings = settings._replace(runner_user=name)
    with undoable() as undo:
        runner.make(hub, settings, undo)
        hub.save_settings(settings)
    say(f"made the check runner account {settings.runner_user}")
    return settings


def _check_same(hub: Hub, asked: dict[str, object]) -> Settings:
    settings = hub.settings
    for key, value in asked.items():
        if key == "runner_user" and not settings.runner_user:
            continue  # a hub from before checks: `_runner_added` makes it
        if value is not None and value != getattr(settings, key):
            flag = "--" + key.replace("_", "-")
            raise UserError(
                f"the hub at {hub.root} was set up with {flag} {getattr(settings, key)}, not"
                f" {value}; nothing changed (a hub's accounts are not renamed in place)"
            )
    return settings


def _ssh_address(text: str) -> str:
    port = text.partition(":")[2]
    if not _SSH.fullmatch(text) or (port and not 0 < int(port) < 65536):
        raise UserError(f"{text!r} is not HOST[:PORT] for ssh, such as box.example.org:22")
    return text


def _make_dirs(hub: Hub, settings: Settings) -> None:
    svc, team = settings.service_user, settings.team_group
    layout = [
        (hub.root, 0o750, team),  # teammates may pass through to published/
        (hub.collabs, 0o700, svc),
        (hub.published, 0o2750, team),  # read by the team, written by the service only
        (hub.spool, 0o700, svc),
        (hub.keys, 0o700, svc),
        (hub.authorized_keys.parent, 0o700, svc),
    ]
    for path, mode, group in layout:
        path.mkdir(exist_ok=path == hub.root)
        shutil.chown(path, svc, group)
        os.chmod(path, mode)
    for path in (hub.authorized_keys, hub.collabs_lock):
        path.touch(0o600)
        shutil.chown(path, svc, svc)


def _mirror_settings(
    mirror: str | None, s3_endpoint: str | None, full_every: int | None
) -> dict[str, object]:
    """The backup settings asked for, checked; None where left out."""
    chosen: dict[str, object] = {}
    if mirror is not None:
        chosen["mirror"] = check_mirror(mirror)
    if s3_endpoint is not None:
        if not re.fullmatch(r"https?://[A-Za-z0-9.:\[\]_-]+/?", s3_endpoint):
            raise UserError(f"{s3_endpoint!r} is not an endpoint URL such as https://host:9000")
        if not (mirror or "").startswith("s3://"):
            raise UserError("--s3-endpoint needs --mirror s3://BUCKET/PREFIX")
        chosen["s3_endpoint"] = s3_endpoint
    if full_every is not None:
        if full_every < 1:
            raise UserError(f"--full-every {full_every}: give a number of bundles, 1 or more")
        chosen["full_every"] = full_every
    return chosen


def _limits(limits: Mapping[str, int | None]) -> dict[str, int]:
    """The push limits asked for, checked; only those given."""
    for field, value in limits.items():
        if value is not None and value < 1:
            raise UserError(f"--{field.replace('_', '-')} {value}: give a number, 1 or more")
    return {field: value for field, value in limits.items() if value is not None}


def check_settings(
    checks: str | None, timeout: int | None, memory_mb: int | None, required: bool | None
) -> dict[str, object]:
    """The check settings asked for, checked; only those given."""
    from git_nbcollab.checks import CHECKS

    chosen: dict[str, object] = {
        **_limits({"check_timeout": timeout, "check_memory_mb": memory_mb})
    }
    if checks is not None:
        names = [] if checks == "none" else [c.strip() for c in checks.split(",") if c.strip()]
        unknown = [c for c in names if c not in (*CHECKS, "project")]
        if unknown or (not names and checks != "none"):
            raise UserError(
                f"--checks {checks!r}: name checks from {','.join(CHECKS)},project, or none"
            )
        chosen["checks"] = ",".join(names)
    if required is not None:
        chosen["required_checks"] = required
    return chosen


def _set_limits(hub: Hub, settings: Settings, limits: Mapping[str, object]) -> list[str]:
    """Change the push and check limits of an existing hub (from the next push or publish on);
    what changed."""
    changed = {k: v for k, v in limits.items() if getattr(settings, k) != v}
    if changed:
        hub.save_settings(Settings(**{**settings._asdict(), **changed}))
    return [_flag(k, v) for k, v in changed.items()]


def _flag(field: str, value: object) -> str:
    """How `init` is asked for a setting: --max-refs 10, --checks none, --no-required-checks."""
    flag = f"--{field.replace('_', '-')}"
    if isinstance(value, bool):
        return flag if value else f"--no-{flag[2:]}"
    return f"{flag} {value if value != '' else 'none'}"


def _make_mirror(hub: Hub, settings: Settings, undo: Undo) -> None:
    """The local mirror folder, the service account's alone (S3 needs nothing here)."""
    target = mirror_of(hub, settings)
    if target.startswith("s3://"):  # boto3 reads the service account's ~/.aws: keep it private
        aws = hub.root / ".aws"
        aws.mkdir(mode=0o700, exist_ok=True)
        shutil.chown(aws, settings.service_user, settings.service_user)
        return
    folder = Path(target)
    if folder.exists():
        if (
            not folder.is_dir()
            or folder.stat().st_uid != pwd.getpwnam(settings.service_user).pw_uid
        ):
            raise UserError(f"{folder}: the mirror must be a folder of {settings.service_user}")
        return
    if not folder.parent.is_dir():
        raise UserError(f"{folder.parent} does not exist: give --mirror a folder that can be made")
    folder.mkdir(mode=0o700)
    undo.push(lambda: shutil.rmtree(folder, ignore_errors=True))
    shutil.chown(folder, settings.service_user, settings.service_user)


def _account(*cmd: str) -> None:
    """groupadd, useradd, usermod: one line when they refuse (another program holding
    /etc/group.lock, say); `_create` then undoes what it did."""
    try:
        proc.run(*cmd)
    except proc.ProcessError as e:
        raise UserError(f"{cmd[0]} failed ({e.message}); nothing was changed: try again") from None


def _create(hub: Hub, settings: Settings, bin_dir: Path, helps: Mapping[str, str]) -> None:
    svc, team = settings.service_user, settings.team_group
    if hub.root.exists() and any(hub.root.iterdir()):
        raise UserError(f"{hub.root} exists and is not a hub: give an empty or new --root")
    with undoable() as undo:
        if not accounts.group_exists(team):
            _account("groupadd", team)
            undo.push(lambda: proc.run("groupdel", team))
        if not accounts.exists(svc):
            home = ["--home-dir", str(hub.root), "--no-create-home", "--shell", "/bin/sh"]
            _account("useradd", "--system", "--user-group", *home, svc)
            undo.push(lambda: proc.run("userdel", svc))
        if not accounts.in_group(svc, team):  # so what it publishes can belong to the team
            _account("usermod", "--append", "--groups", team, svc)
            undo.push(lambda: proc.run("gpasswd", "--delete", svc, team))
        accounts.unlock_for_keys(svc)
        if not hub.root.exists():
            undo.push(lambda: shutil.rmtree(hub.root, ignore_errors=True))
        _make_dirs(hub, settings)
        _make_mirror(hub, settings, undo)
        runner.make(hub, settings, undo)
        hub.save_settings(settings)
        runtime.install_commands(Path(settings.runtime), bin_dir, helps)


def init(
    *,
    root: Path | None,
    service_user: str | None,
    team_group: str | None,
    ssh: str | None,
    bin_dir: Path,
    runtime_dir: Path,
    mirror: str | None = None,
    s3_endpoint: str | None = None,
    full_every: int | None = None,
    limits: Mapping[str, int | None] | None = None,
    runner_user: str | None = None,
    checks: Mapping[str, object] | None = None,
    helps: Mapping[str, str],
) -> int:
    accounts.require_root("git nbcollab init")
    hub = Hub((root or DEFAULT_ROOT).absolute())
    backups = _mirror_settings(mirror, s3_endpoint, full_every)
    push_limits: dict[str, object] = {**_limits(limits or {}), **(checks or {})}
    names = {"service_user": service_user, "team_group": team_group, "ssh": ssh}
    asked: dict[str, object] = {**names, **backups, "runner_user": runner_user}
    if hub.settings_file.exists():
        settings = _runner_added(hub, _check_same(hub, asked), runner_user)
        changed = [f"set {x}" for x in _set_limits(hub, settings, push_limits)]
        changed += [
            f"linked {x}" for x in runtime.install_commands(Path(settings.runtime), bin_dir, helps)
        ]
        svc = settings.service_user
        repos_made = sorted(hub.collabs.glob("*.git"))
        updated = sum(repos.refresh(path, settings.python, (svc, svc)) for path in repos_made)
        if updated:
            changed.append(f"updated the hooks of {updated} collaborations")
        dropped = keys.repair(hub, settings)
        if dropped:
            changed.append(f"dropped {dropped} authorized_keys lines that were not one forced key")
        say(
            f"the hub at {hub.root} is already set up"
            + (f"; {', '.join(changed)}" if changed else "; nothing changed")
        )
        return 0
    chosen = {k: v if v is not None else DEFAULTS[k] for k, v in names.items()}
    chosen["runner_user"] = runner_user or runner.default_name(chosen["service_user"])
    user(chosen["service_user"])
    user(chosen["team_group"])
    user(chosen["runner_user"])
    _ssh_address(chosen["ssh"])
    if not _SAFE_PATH.fullmatch(str(hub.root)):
        raise UserError(f"{hub.root}: use a hub folder made of letters, digits, '/', '.', '-', '_'")
    if not bin_dir.is_dir():
        raise UserError(f"{bin_dir} is not a folder: give --bin-dir a folder on everyone's PATH")
    settings = Settings(
        service_user=chosen["service_user"],
        team_group=chosen["team_group"],
        ssh=chosen["ssh"],
        runtime=str(runtime.shared_prefix(runtime_dir)),
        mirror=str(backups.get("mirror", "")),
        s3_endpoint=str(backups.get("s3_endpoint", "")),
        full_every=int(str(backups.get("full_every", Settings._field_defaults["full_every"]))),
        runner_user=chosen["runner_user"],
        **push_limits,  # type: ignore[arg-type]
    )
    _create(hub, settings, bin_dir, helps)
    say(
        f"hub ready at {hub.root}: service account {settings.service_user}, team group"
        f" {settings.team_group}, reached at {settings.url}"
    )
    say(f"backups go to {mirror_of(hub, settings)}")
    if settings.mirror.startswith("s3://"):
        say(
            f"put the bucket's credentials in {hub.root}/.aws/credentials"
            f" (0600, owned by {settings.service_user})"
        )
    say(f"commands for everyone in {bin_dir}; next: git nbcollab user add NAME")
    return 0
