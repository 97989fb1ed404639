"""A small SaaS back end hosting Tracardi in its own process.

It mounts the collector and admin API under /cdp of its own Starlette app (Tracardi's lifespan runs inside the
host's), and calls the tracker directly from its own code, e.g. when a user signs up server-side.

Run: .venv/bin/python examples/embedded_saas.py [data-folder]
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tracardi.domain.source import EventSource
from tracardi.embed import Tracardi, load_settings

ADMIN_TOKEN = "saas-admin-token"


def build(data_dir: str) -> tuple[Starlette, Tracardi]:
    cdp = Tracardi(load_settings(environ={}, storage={"path": data_dir}, admin={"token": ADMIN_TOKEN}))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with cdp.lifespan(app) as state:
            await cdp.services.sources.save(EventSource(id="my-saas", name="My SaaS", type=["rest"]))
            yield state

    async def signup(request: Request) -> JSONResponse:
        # server-side tracking: the same pipeline as POST /track, without HTTP
        body = await request.json()
        result = await cdp.track({"source": {"id": "my-saas"}, "events": [{"type": "sign-up", "properties": body}]})
        assert result.response is not None
        return JSONResponse({"profile": result.response.profile.id})

    app = Starlette(routes=[Route("/signup", signup, methods=["POST"]), Mount("/cdp", app=cdp.app)], lifespan=lifespan)
    return app, cdp


async def main(data_dir: str) -> int:
    app, _ = build(data_dir)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            tracked = (
                await client.post("/cdp/track", json={"source": {"id": "my-saas"}, "events": [{"type": "page-view"}]})
            ).json()
            print("tracked over HTTP under /cdp, profile", tracked["profile"]["id"])
            signed = (await client.post("/signup", json={"plan": "pro"})).json()
            print("tracked in-process from /signup, profile", signed["profile"])
            auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            profile = (await client.get(f"/cdp/api/profiles/{tracked['profile']['id']}", headers=auth)).json()
            print("profile read back through the admin API: views =", profile["stats"]["views"])
            ok = profile["stats"]["views"] == 1 and signed["profile"] != tracked["profile"]["id"]
    finally:
        server.should_exit = True
        await task
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="tracardi-example-")
    sys.exit(asyncio.run(main(folder)))
