"""A minimal OpenAPI v3 document: just enough for kubectl's field-validation check.

kubectl 1.32 `apply`/`create` validate manifests by default (`--validate=strict`). Before sending, kubectl
looks in /openapi/v3 for the PATCH operation of the object's kind (matched by
`x-kubernetes-group-version-kind`) and checks that it takes the `fieldValidation` query parameter; if so it
leaves validation to the server, otherwise it wants full schemas for client-side validation and fails
without them ("failed to download openapi"). So each resource's PATCH operation is listed with that
parameter. No request-body schemas are given, so kubectl builds strategic merge patches from its built-in
types, which are the same as upstream's. Unknown fields are not rejected: the server keeps what it is sent.
"""

from __future__ import annotations

import hashlib
import json

from aiohttp import web

from controlplane.apiserver.resources import GROUP_VERSIONS, Resource, in_group_version
from controlplane.apiserver.status import PathNotFound


def _url_prefix(api_version: str) -> str:
    return f"apis/{api_version}" if "/" in api_version else f"api/{api_version}"


def _item_path(resource: Resource) -> str:
    prefix = _url_prefix(resource.info.api_version)
    if resource.namespaced:
        return f"/{prefix}/namespaces/{{namespace}}/{resource.name}/{{name}}"
    return f"/{prefix}/{resource.name}/{{name}}"


def _patch_operation(resource: Resource) -> dict:
    return {
        "operationId": f"patch{resource.kind}",
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {"group": resource.group, "version": resource.version,
                                            "kind": resource.kind},
        "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}],
        "responses": {"200": {"description": "OK"}},
    }


def group_version_document(api_version: str) -> dict | None:
    resources = in_group_version(api_version)
    if not resources:
        return None
    paths = {_item_path(r): {"patch": _patch_operation(r)} for r in resources}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (kubelab)", "version": "v1.32"}, "paths": paths}


def _hash(document: dict) -> str:
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:64].upper()


def root_document() -> dict:
    paths = {}
    for api_version in GROUP_VERSIONS:
        prefix = _url_prefix(api_version)
        digest = _hash(group_version_document(api_version))
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest}"}
    return {"paths": paths}


async def _root(request: web.Request) -> web.Response:
    return web.json_response(root_document())


async def _group_version(request: web.Request) -> web.Response:
    tail = request.match_info["tail"]
    api_version = tail.partition("/")[2] if tail.startswith(("api/", "apis/")) else ""
    document = group_version_document(api_version) if api_version else None
    if document is None:
        raise PathNotFound()
    return web.json_response(document)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi/v3", _root)
    app.router.add_get("/openapi/v3/{tail:.+}", _group_version)
