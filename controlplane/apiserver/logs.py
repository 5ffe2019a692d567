"""`pods/{name}/log`: a container's output, read from the file the runtime writes it to.

The runtime (kubelet) owns the files; the server only asks where one is through the `LogPath` hook given to
make_app: `log_path(namespace, pod, container) -> path or None` (None: no log yet). `tailLines`, `follow`
and `container` are honoured; `follow` keeps sending what is appended until the pod is deleted or the
client goes away.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from typing import Callable

from aiohttp import web

from controlplane.apiserver.backend import Backend
from controlplane.apiserver.paths import Target
from controlplane.errors import BadRequest, NotFound

LogPath = Callable[[str, str, str], "str | None"]
# How often a follower looks for new output (the files are plain appends; inotify would not be portable).
FOLLOW_POLL_SECONDS = 0.2
_CHUNK = 64 * 1024


async def serve_log(request: web.Request, backend: Backend, target: Target,
                    log_path: LogPath | None) -> web.StreamResponse:
    query = request.query
    pod = await asyncio.to_thread(backend.get, target.resource, target.namespace, target.name)
    container = choose_container(pod, query.get("container"))
    path = log_path(target.namespace, target.name, container) if log_path else None
    if not path or not os.path.exists(path):
        raise BadRequest(f'container "{container}" in pod "{target.name}" is waiting to start: '
                         f'{_waiting_reason(pod, container)}')
    tail_lines = _tail_count(query.get("tailLines"))
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    with open(path, "rb") as handle:
        await response.write(_tail(handle, tail_lines))
        if query.get("follow") in ("true", "1"):
            await _follow(handle, response, backend, target)
    await response.write_eof()
    return response


def choose_container(pod: dict, wanted: str | None) -> str:
    names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    name = pod["metadata"]["name"]
    if wanted:
        if wanted not in names:
            raise BadRequest(f"container {wanted} is not valid for pod {name}")
        return wanted
    if len(names) == 1:
        return names[0]
    raise BadRequest(f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]")


def _waiting_reason(pod: dict, container: str) -> str:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
            if reason:
                return reason
    return "ContainerCreating"


def _tail_count(text: str | None) -> int | None:
    if text in (None, "", "-1"):
        return None
    if not text.isdigit():
        raise BadRequest(f"tailLines must be a non-negative integer, got {text!r}")
    return int(text)


def _tail(handle, lines: int | None) -> bytes:
    if lines is None:
        return handle.read()
    kept = deque(handle, maxlen=lines)
    handle.seek(0, os.SEEK_END)
    return b"".join(kept)


async def _follow(handle, response: web.StreamResponse, backend: Backend, target: Target) -> None:
    while True:
        chunk = handle.read(_CHUNK)
        if chunk:
            await response.write(chunk)
            continue
        if not await asyncio.to_thread(_pod_exists, backend, target):
            return
        await asyncio.sleep(FOLLOW_POLL_SECONDS)


def _pod_exists(backend: Backend, target: Target) -> bool:
    try:
        backend.get(target.resource, target.namespace, target.name)
    except NotFound:
        return False
    return True
