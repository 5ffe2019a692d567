"""Watch streams: `?watch=true`, one JSON event per line, in resourceVersion order, none lost.

Without a resourceVersion (or with "0") the stream starts with an ADDED event per existing object, then
follows changes from that list's version, as upstream does. A resourceVersion older than the kept history
is answered 410 Gone before the stream starts; the client relists and watches again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Callable

from aiohttp import web

from controlplane.apiserver.backend import Backend
from controlplane.apiserver.paths import Target
from controlplane.errors import BadRequest
from controlplane.watch import ADDED, aiter_events


async def serve_watch(request: web.Request, backend: Backend, target: Target,
                      render: Callable[[dict], dict] | None) -> web.StreamResponse:
    query = request.query
    labels, fields = query.get("labelSelector"), query.get("fieldSelector")
    start = query.get("resourceVersion")
    initial: list[dict] = []
    if start in (None, "", "0"):
        listing = await asyncio.to_thread(backend.list, target.resource, target.namespace, labels, fields)
        initial, start = listing.items, str(listing.resource_version)
    watch = await asyncio.to_thread(backend.watch, target.resource, target.namespace, start, labels, fields)

    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    render = render or (lambda obj: obj)

    async def send(event_type: str, obj: dict) -> None:
        line = json.dumps({"type": event_type, "object": render(obj)}) + "\n"
        await response.write(line.encode())

    async def stream() -> None:
        for obj in initial:
            await send(ADDED, obj)
        async for event in aiter_events(watch.watch):
            if watch.accepts(event):
                await send(event.type, event.object)

    with contextlib.suppress(asyncio.TimeoutError, ConnectionResetError):
        await asyncio.wait_for(stream(), _timeout(query.get("timeoutSeconds")))
    return response


def _timeout(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        raise BadRequest(f"timeoutSeconds must be a number, got {text!r}") from None
