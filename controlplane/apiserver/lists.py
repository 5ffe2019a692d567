"""List answers: `<Kind>List` or Table bodies, with limit/continue paging.

Continue tokens carry the list's resourceVersion and the last (namespace, name) served. Upstream serves
every page from one etcd snapshot; here later pages read the live store after that key, so an object
created between pages shows up if it sorts later. Clients that need one consistent view use no limit.
"""

from __future__ import annotations

import base64
import json

from controlplane.apiserver.resources import Resource
from controlplane.errors import BadRequest


def page(items: list[dict], resource_version: int, limit: str | None, token: str | None) -> tuple[list[dict], dict]:
    """(items of this page, the list metadata to send)."""
    rv = str(resource_version)
    if token:
        rv, after = _decode(token)
        items = [obj for obj in items if _key(obj) > after]
    meta = {"resourceVersion": rv}
    size = _limit(limit)
    if size and len(items) > size:
        meta["continue"] = _encode(rv, _key(items[size - 1]))
        meta["remainingItemCount"] = len(items) - size
        items = items[:size]
    return items, meta


def list_body(resource: Resource, items: list[dict], meta: dict) -> dict:
    return {"kind": f"{resource.kind}List", "apiVersion": resource.info.api_version, "metadata": meta, "items": items}


def _key(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


def _limit(text: str | None) -> int:
    if not text:
        return 0
    if not text.isdigit():
        raise BadRequest(f"limit must be a non-negative integer, got {text!r}")
    return int(text)


def _encode(rv: str, after: tuple[str, str]) -> str:
    raw = json.dumps({"rv": rv, "after": list(after)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode(token: str) -> tuple[str, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(data["rv"]), (str(data["after"][0]), str(data["after"][1]))
    except (ValueError, KeyError, IndexError, TypeError):
        raise BadRequest("continue key is not valid: cannot decode it") from None
