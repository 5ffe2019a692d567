"""The aiohttp application and its listeners: a Unix socket (mode 0600) and a loopback TCP port with a token.

`make_app(registry, token=..., log_path=...)` builds the app; `await serve(app, unix_path, tcp_host, tcp_port,
certificate)` starts listening and returns a `Listening` handle (the bound TCP port, `close()`). `BackgroundServer` runs
both in a thread of their own for synchronous callers (the daemon's main thread, tests).

Why a token on TCP only: the Unix socket lives in the cluster's root-only run directory and is itself 0600,
so only root can connect; a loopback port is open to every local user, and the API can make root run
commands (exec), so TCP requests must carry `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import socket
import threading
from dataclasses import dataclass

from aiohttp import web

from controlplane.apiserver import discovery, openapi
from controlplane.apiserver.backend import Backend
from controlplane.apiserver.handlers import ResourceHandlers, json_response
from controlplane.apiserver.logs import LogPath
from controlplane.apiserver.status import PathNotFound, Unauthorized
from controlplane.apiserver.tls import Certificate
from controlplane.errors import StatusError
from controlplane.registry import Registry

log = logging.getLogger(__name__)

TOKEN_KEY = web.AppKey("token", str)


def make_app(registry: Registry, *, token: str | None = None, log_path: LogPath | None = None) -> web.Application:
    """The API server over a registry (share it with the controllers, so allocations have one owner).

    token: the bearer token TCP clients must send (required to serve TCP). log_path: where a container's
    log file is, for `pods/{name}/log`.
    """
    app = web.Application(middlewares=[_status_errors, _bearer_token_on_tcp], client_max_size=16 * 1024 * 1024)
    if token is not None:
        app[TOKEN_KEY] = token
    resources = ResourceHandlers(Backend(registry), log_path)
    app.router.add_get("/version", _static(discovery.version))
    app.router.add_get("/api", _static(discovery.core_versions))
    app.router.add_get("/apis", _static(discovery.groups))
    app.router.add_get("/api/{version}", _core_resources)
    app.router.add_get("/apis/{group}", _group)
    app.router.add_get("/apis/{group}/{version}", _group_resources)
    for path in ("/healthz", "/livez", "/readyz"):
        app.router.add_get(path, _ok)
    openapi.add_routes(app)
    app.router.add_route("*", "/api/{tail:.+}", resources.handle)
    app.router.add_route("*", "/apis/{tail:.+}", resources.handle)
    return app


# ---------------------------------------------------------------------------------------------- middlewares


@web.middleware
async def _status_errors(request: web.Request, handler) -> web.StreamResponse:
    """Every failure leaves as a Status object with the matching HTTP code."""
    try:
        return await handler(request)
    except StatusError as exc:
        return json_response(exc.to_status(), status=exc.code)
    except web.HTTPNotFound:
        return json_response(PathNotFound().to_status(), status=404)
    except web.HTTPException:
        raise
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001 - an API server answers 500 and keeps serving
        log.exception("internal error serving %s %s", request.method, request.path)
        status = StatusError(f"Internal error occurred: {exc}")
        return json_response(status.to_status(), status=500)


@web.middleware
async def _bearer_token_on_tcp(request: web.Request, handler) -> web.StreamResponse:
    if _over_unix_socket(request):
        return await handler(request)
    expected = request.app.get(TOKEN_KEY)
    sent = request.headers.get("Authorization", "")
    if expected is None or not hmac.compare_digest(sent.encode(), f"Bearer {expected}".encode()):
        raise Unauthorized()
    return await handler(request)


def _over_unix_socket(request: web.Request) -> bool:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    return sock is not None and sock.family == socket.AF_UNIX


# ---------------------------------------------------------------------------------------------- discovery


def _static(document):
    async def handler(request: web.Request) -> web.Response:
        return json_response(document())
    return handler


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _core_resources(request: web.Request) -> web.Response:
    return _or_404(discovery.resource_list(request.match_info["version"]))


async def _group(request: web.Request) -> web.Response:
    return _or_404(discovery.group(request.match_info["group"]))


async def _group_resources(request: web.Request) -> web.Response:
    return _or_404(discovery.resource_list(f"{request.match_info['group']}/{request.match_info['version']}"))


def _or_404(document: dict | None) -> web.Response:
    if document is None:
        raise PathNotFound()
    return json_response(document)


# ---------------------------------------------------------------------------------------------- listening


@dataclass
class Listening:
    runner: web.AppRunner
    tcp_port: int | None = None
    unix_path: str | None = None

    async def close(self) -> None:
        await self.runner.cleanup()
        if self.unix_path and os.path.exists(self.unix_path):
            os.unlink(self.unix_path)


async def serve(app: web.Application, unix_path: str | None = None, tcp_host: str | None = "127.0.0.1",
                tcp_port: int | None = 0, certificate: Certificate | None = None) -> Listening:
    """Listen on a Unix socket and/or a TCP port (0: any free port; see Listening.tcp_port).

    TCP needs the app's token, and speaks HTTPS with `certificate` (tls.ensure_certificate): kubectl sends
    tokens over TLS only. Without a certificate TCP is plain HTTP, which only token-aware test clients use.
    """
    if tcp_host is not None and tcp_port is not None and TOKEN_KEY not in app:
        raise ValueError("serving TCP needs a bearer token: make_app(..., token=...)")
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    listening = Listening(runner)
    if unix_path:
        await web.SockSite(runner, _unix_socket(unix_path)).start()
        listening.unix_path = unix_path
    if tcp_host is not None and tcp_port is not None:
        sock = socket.create_server((tcp_host, tcp_port))
        context = certificate.server_context() if certificate else None
        await web.SockSite(runner, sock, ssl_context=context).start()
        listening.tcp_port = sock.getsockname()[1]
    return listening


def _unix_socket(path: str) -> socket.socket:
    """Bind under a temporary name, make it 0600, then move it into place: never briefly open to others."""
    temporary = f"{path}.{os.getpid()}.tmp"
    for stale in (temporary, path):
        if os.path.exists(stale):
            os.unlink(stale)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(temporary)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return sock


class BackgroundServer:
    """serve() on an event loop in its own thread: `with BackgroundServer(app, ...) as server: server.tcp_port`."""

    def __init__(self, app: web.Application, unix_path: str | None = None, tcp_host: str | None = "127.0.0.1",
                 tcp_port: int | None = 0, certificate: Certificate | None = None):
        self._args = (app, unix_path, tcp_host, tcp_port, certificate)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kubelab-apiserver", daemon=True)
        self.listening: Listening | None = None

    @property
    def tcp_port(self) -> int | None:
        return self.listening.tcp_port if self.listening else None

    def start(self) -> "BackgroundServer":
        self._thread.start()
        self.listening = asyncio.run_coroutine_threadsafe(serve(*self._args), self._loop).result()
        return self

    def stop(self) -> None:
        if self.listening:
            asyncio.run_coroutine_threadsafe(self.listening.close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
