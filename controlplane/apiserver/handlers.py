"""The REST verbs on resources: get, list, create, update, patch, delete, deletecollection, and subresources.

One entry point, `ResourceHandlers.handle`, parses the path and dispatches on (method, collection or object,
subresource). Watch streams and pod logs live in their own modules.
"""

from __future__ import annotations

import asyncio
import json
from typing import Callable

from aiohttp import web

from controlplane.apiserver import lists, logs, patch, watchstream
from controlplane.apiserver.backend import Backend
from controlplane.apiserver.media import check_accept, decode_body, wants_table
from controlplane.apiserver.paths import Target, parse
from controlplane.apiserver.status import MethodNotAllowed, UnsupportedMediaType
from controlplane.apiserver.tables import to_table
from controlplane.errors import BadRequest, Conflict

# A patch is read-modify-write; a concurrent writer makes the write conflict, and upstream retries.
_PATCH_ATTEMPTS = 5


def json_response(body: dict, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


class ResourceHandlers:
    def __init__(self, backend: Backend, log_path: logs.LogPath | None):
        self.backend = backend
        self.log_path = log_path

    async def handle(self, request: web.Request) -> web.StreamResponse:
        target = parse(request.path)
        check_accept(request.headers.get("Accept", ""))
        method = request.method
        if target.subresource:
            return await self._subresource(request, target, method)
        if target.is_collection:
            verbs = {"GET": self.list_or_watch, "POST": self.create, "DELETE": self.delete_collection}
        else:
            verbs = {"GET": self.get, "PUT": self.update, "PATCH": self.patch, "DELETE": self.delete}
        if method not in verbs:
            raise MethodNotAllowed(method, request.path)
        return await verbs[method](request, target)

    async def _subresource(self, request: web.Request, target: Target, method: str) -> web.StreamResponse:
        handlers: dict[tuple[str, str], Callable] = {
            ("status", "GET"): self.get, ("status", "PUT"): self.update_status, ("status", "PATCH"): self.patch,
            ("scale", "GET"): self.get_scale, ("scale", "PUT"): self.update_scale, ("scale", "PATCH"): self.patch,
            ("log", "GET"): self.log, ("binding", "POST"): self.bind,
        }
        handler = handlers.get((target.subresource, method))
        if handler is None:
            raise MethodNotAllowed(method, request.path)
        return await handler(request, target)

    # ------------------------------------------------------------------------------------------ reads

    async def get(self, request: web.Request, target: Target) -> web.Response:
        obj = await asyncio.to_thread(self.backend.get, target.resource, target.namespace, target.name)
        if wants_table(request.headers.get("Accept", "")):
            return json_response(self._table(target, [obj], request, obj["metadata"].get("resourceVersion", "")))
        return json_response(obj)

    async def list_or_watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        query = request.query
        if query.get("watch") in ("true", "1"):
            return await watchstream.serve_watch(request, self.backend, target, self._table_of(request, target))
        listing = await asyncio.to_thread(self.backend.list, target.resource, target.namespace,
                                          query.get("labelSelector"), query.get("fieldSelector"))
        items, meta = lists.page(listing.items, listing.resource_version, query.get("limit"), query.get("continue"))
        if wants_table(request.headers.get("Accept", "")):
            table = self._table(target, items, request, meta["resourceVersion"])
            table["metadata"] = meta
            return json_response(table)
        return json_response(lists.list_body(target.resource, items, meta))

    def _table(self, target: Target, objects: list[dict], request: web.Request, resource_version: str) -> dict:
        return to_table(target.resource.kind, objects, self.backend.now(),
                        resource_version=resource_version,
                        include_object=request.query.get("includeObject", "Metadata"))

    def _table_of(self, request: web.Request, target: Target) -> Callable[[dict], dict] | None:
        """How a watch renders each object, when the client asked for Tables."""
        if not wants_table(request.headers.get("Accept", "")):
            return None
        return lambda obj: self._table(target, [obj], request, obj["metadata"].get("resourceVersion", ""))

    # ------------------------------------------------------------------------------------------ writes

    async def create(self, request: web.Request, target: Target) -> web.Response:
        body = await _body(request)
        created = await asyncio.to_thread(self.backend.create, target.resource, target.namespace, body)
        return json_response(created, status=201)

    async def update(self, request: web.Request, target: Target) -> web.Response:
        body = await _body(request)
        updated = await asyncio.to_thread(self.backend.update, target.resource, target.namespace, target.name, body)
        return json_response(updated)

    async def update_status(self, request: web.Request, target: Target) -> web.Response:
        body = await _body(request)
        updated = await asyncio.to_thread(self.backend.update_status, target.resource, target.namespace,
                                          target.name, body)
        return json_response(updated)

    async def patch(self, request: web.Request, target: Target) -> web.Response:
        content_type = request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() not in patch.PATCH_TYPES:
            raise UnsupportedMediaType(content_type)
        raw = await request.read()
        for attempt in range(_PATCH_ATTEMPTS):
            try:
                return json_response(await asyncio.to_thread(self._patch_once, target, content_type, raw))
            except Conflict:
                if attempt == _PATCH_ATTEMPTS - 1 or _pins_resource_version(raw):
                    raise
        raise AssertionError("unreachable")

    def _patch_once(self, target: Target, content_type: str, raw: bytes) -> dict:
        args = (target.resource, target.namespace, target.name)
        if target.subresource == "scale":
            patched = patch.apply_patch(content_type, self.backend.get_scale(*args), raw)
            return self.backend.update_scale(*args, patched)
        current = self.backend.get(*args)
        patched = patch.apply_patch(content_type, current, raw)
        if not isinstance(patched, dict):
            raise BadRequest("the patched object is not a JSON object")
        if (patched.get("metadata") or {}).get("name") != target.name:
            raise BadRequest("the name of a patched object cannot change")
        if target.subresource == "status":
            return self.backend.update_status(*args, patched)
        return self.backend.update(*args, patched)

    async def delete(self, request: web.Request, target: Target) -> web.Response:
        options = await _delete_options(request)
        answer = await asyncio.to_thread(self.backend.delete, target.resource, target.namespace, target.name, options)
        return json_response(answer)

    async def delete_collection(self, request: web.Request, target: Target) -> web.Response:
        options = await _delete_options(request)
        query = request.query
        listing = await asyncio.to_thread(self.backend.delete_collection, target.resource, target.namespace, options,
                                          query.get("labelSelector"), query.get("fieldSelector"))
        meta = {"resourceVersion": str(listing.resource_version)}
        return json_response(lists.list_body(target.resource, listing.items, meta))

    # ------------------------------------------------------------------------------------------ subresources

    async def get_scale(self, request: web.Request, target: Target) -> web.Response:
        scale = await asyncio.to_thread(self.backend.get_scale, target.resource, target.namespace, target.name)
        return json_response(scale)

    async def update_scale(self, request: web.Request, target: Target) -> web.Response:
        body = await _body(request)
        scale = await asyncio.to_thread(self.backend.update_scale, target.resource, target.namespace,
                                        target.name, body)
        return json_response(scale)

    async def bind(self, request: web.Request, target: Target) -> web.Response:
        body = await _body(request)
        answer = await asyncio.to_thread(self.backend.bind, target.namespace, target.name, body)
        return json_response(answer, status=201)

    async def log(self, request: web.Request, target: Target) -> web.StreamResponse:
        return await logs.serve_log(request, self.backend, target, self.log_path)


async def _body(request: web.Request) -> dict:
    body = decode_body(request.headers.get("Content-Type", ""), await request.read())
    if not isinstance(body, dict):
        raise BadRequest("the request body must be an object")
    return body


async def _delete_options(request: web.Request) -> dict:
    """DeleteOptions from the body (kubectl, client libraries) and/or the query string (curl)."""
    raw = await request.read()
    options = decode_body(request.headers.get("Content-Type", ""), raw) if raw.strip() else {}
    if not isinstance(options, dict):
        raise BadRequest("DeleteOptions must be an object")
    query = request.query
    if query.get("propagationPolicy"):
        options["propagationPolicy"] = query["propagationPolicy"]
    if query.get("gracePeriodSeconds"):
        options["gracePeriodSeconds"] = _int(query["gracePeriodSeconds"], "gracePeriodSeconds")
    if query.get("orphanDependents") in ("true", "false"):
        options["orphanDependents"] = query["orphanDependents"] == "true"
    return options


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{what} must be an integer, got {text!r}") from None


def _pins_resource_version(raw: bytes) -> bool:
    """A patch that names a resourceVersion asks for that exact version: its conflict is final."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return False
    return isinstance(body, dict) and bool((body.get("metadata") or {}).get("resourceVersion"))
