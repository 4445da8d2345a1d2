"""The REST handlers under /nbcollab/: JSON in and out, each a thin call into `actions`.

Every refusal the CLI says in one line (`UserError`) is HTTP 400 `{"error": LINE}`; anything
else is 500 `{"error": LINE}` with the details in the server's log, never a traceback. The
work runs in a thread, so one slow sync does not stall the server. Paths are relative to the
server's root, as JupyterLab's contents paths are.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from git_nbcollab.errors import UserError, disk_full
from git_nbcollab.lab import actions, paths, syncs

PREFIX = "nbcollab"
BUMPS = ("MAJOR", "MINOR", "HOTFIX")


def one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


class Handler(APIHandler):
    """Runs one action and answers its JSON, or the error in one line."""

    @property
    def root(self) -> Path:
        return Path(os.path.expanduser(self.settings["server_root_dir"]))

    def local(self, relative: Any) -> Path:
        """A path the frontend gave, under the server's root (links are not followed here)."""
        if not isinstance(relative, str) or not relative.strip("/"):
            raise UserError("give a path, relative to JupyterLab's root folder")
        path = Path(os.path.normpath(self.root / relative.strip("/")))
        if path != self.root and self.root not in path.parents:
            raise UserError(f"{relative} is outside JupyterLab's root folder")
        return path

    def relative(self, path: Path) -> str | None:
        """A path of ours as the frontend names it (under the server's root), or None."""
        if path == self.root:
            return ""
        return path.relative_to(self.root).as_posix() if self.root in path.parents else None

    def reloads(self, answer: dict[str, Any]) -> dict[str, Any]:
        """A sync's answer with the files it wrote named as the frontend names its documents."""
        named = (self.relative(Path(path)) for path in answer["written"])
        return answer | {"written": [path for path in named if path is not None]}

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise UserError("the request is not JSON") from None
        if not isinstance(data, dict):
            raise UserError("the request must be a JSON object")
        return data

    async def answer(self, work: Callable[[], dict[str, Any]]) -> None:
        try:
            result = await asyncio.to_thread(work)
        except UserError as e:
            self.set_status(400)
            result = {"error": one_line(str(e))}
        except Exception as e:
            self.log.exception("git-nbcollab: %s failed", self.request.path)
            self.set_status(500)
            said = "the disk is full: free space, try again" if disk_full(e) else f"{e}"
            result = {"error": one_line(f"internal error ({type(e).__name__}: {said})")}
        self.finish(json.dumps(result))


class Collabs(Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(actions.collabs)


class Team(Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(actions.team)


class Share(Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        def work() -> dict[str, Any]:
            data = self.body()
            members = data.get("members") or []
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise UserError('"members" is a list of teammates\' names')
            return actions.share(self.local(data.get("path")), members, data.get("name"))

        await self.answer(work)


class Status(Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(lambda: actions.status(self.local(self.get_argument("path", ""))))


class Top(Handler):
    """The top of the working copy holding `path` (as the frontend names it), or null; asks
    no hub, so a Sync knows at once which documents to save."""

    @tornado.web.authenticated
    async def get(self) -> None:
        def work() -> dict[str, Any]:
            top = actions.working_top(self.local(self.get_argument("path", "")))
            return {"root": None if top is None else self.relative(top)}

        await self.answer(work)


class Sync(Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        await self.answer(lambda: self.reloads(syncs.sync(self.local(self.body().get("path")))))


class Conflicts(Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(lambda: syncs.conflicts(self.local(self.get_argument("path", ""))))


class Resolve(Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        def work() -> dict[str, Any]:
            data = self.body()
            chosen = data.get("choices")
            if not isinstance(chosen, list) or not chosen:
                raise UserError('give "choices": a choice for each colliding cell')
            return self.reloads(syncs.resolve(self.local(data.get("path")), chosen))

        await self.answer(work)


class Publish(Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        def work() -> dict[str, Any]:
            data = self.body()
            bump = data.get("bump") or None
            if bump is not None and str(bump).upper() not in BUMPS:
                raise UserError(f"bump is one of {', '.join(BUMPS)}, not {bump!r}")
            notebook = data.get("notebook")
            if not isinstance(notebook, str) or not notebook:
                raise UserError("name the notebook to publish")
            return actions.publish(
                self.local(data.get("path")),
                notebook.removesuffix(".ipynb"),
                str(bump).upper() if bump else None,
                str(data.get("message") or ""),
                bool(data.get("dry_run")),
                self.root,
            )

        await self.answer(work)


class Published(Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(lambda: paths.published(self.local(self.get_argument("path", ""))))


class Whose(Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        path = self.get_argument("path", "")
        await self.answer(lambda: paths.whose(self.local(path), getpass.getuser()))


ROUTES: dict[str, type[Handler]] = {
    "collabs": Collabs,
    "team": Team,
    "share": Share,
    "status": Status,
    "top": Top,
    "sync": Sync,
    "conflicts": Conflicts,
    "resolve": Resolve,
    "publish": Publish,
    "published": Published,
    "whose": Whose,
}


def setup(web_app: Any) -> None:
    base = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$", [(url_path_join(base, PREFIX, name), handler) for name, handler in ROUTES.items()]
    )
