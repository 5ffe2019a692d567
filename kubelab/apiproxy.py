"""`kubectl proxy`'s twin: the cluster's API on a local HTTP port, with no token needed.

Requests are passed through to the API server's root-only Unix socket and responses streamed back (watches
and `logs -f` included). As with kubectl proxy, whoever can reach the port acts with the proxy's rights: it
listens on 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import asyncio

from aiohttp import ClientSession, UnixConnector, web

SESSION = web.AppKey("session", ClientSession)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}


def make_proxy(unix_path: str) -> web.Application:
    async def forward(request: web.Request) -> web.StreamResponse:
        session: ClientSession = request.app[SESSION]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with session.request(request.method, f"http://localhost{request.rel_url}", headers=headers,
                                   data=await request.read(), timeout=None) as upstream:
            response = web.StreamResponse(status=upstream.status, headers={
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP})
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def open_session(app: web.Application) -> None:
        app[SESSION] = ClientSession(connector=UnixConnector(path=unix_path))

    async def close_session(app: web.Application) -> None:
        await app[SESSION].close()

    app = web.Application()
    app.on_startup.append(open_session)
    app.on_cleanup.append(close_session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def serve(unix_path: str, address: str, port: int, announce) -> None:
    async def main() -> None:
        runner = web.AppRunner(make_proxy(unix_path), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, address, port)
        await site.start()
        announce(f"Starting to serve on {address}:{port}")
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
