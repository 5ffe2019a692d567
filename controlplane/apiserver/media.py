"""Content negotiation: JSON or YAML bodies in, JSON out, and the Table form clients ask for in Accept."""

from __future__ import annotations

import json

import yaml

from controlplane.apiserver.status import NotAcceptable, UnsupportedMediaType
from controlplane.errors import BadRequest

JSON = "application/json"
_YAML = ("application/yaml", "application/x-yaml", "text/yaml")


def wants_table(accept: str) -> bool:
    """True if the first acceptable form is a meta.k8s.io Table (what kubectl get asks for)."""
    for media in _media_ranges(accept):
        base, params = media
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return True
        if base in (JSON, "*/*", "application/*") and "as" not in params:
            return False
    return False


def check_accept(accept: str) -> None:
    """Refuse clients that accept nothing we send (e.g. protobuf only); JSON is always our answer."""
    ranges = _media_ranges(accept)
    if ranges and not any(base in (JSON, "*/*", "application/*") for base, _ in ranges):
        raise NotAcceptable(accept)


def _media_ranges(accept: str) -> list[tuple[str, dict]]:
    ranges = []
    for item in (accept or "").split(","):
        base, *params = [p.strip() for p in item.split(";")]
        if base:
            ranges.append((base.lower(), dict(p.partition("=")[::2] for p in params)))
    return ranges


def decode_body(content_type: str, raw: bytes) -> object:
    media = (content_type or JSON).split(";")[0].strip().lower()
    try:
        if media == JSON or media.endswith("+json"):
            return json.loads(raw or b"null")
        if media in _YAML:
            return yaml.safe_load(raw or b"")
    except (ValueError, yaml.YAMLError) as exc:
        raise BadRequest(f"the body of the request could not be decoded: {exc}") from None
    raise UnsupportedMediaType(content_type)
