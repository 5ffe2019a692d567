"""Status objects for answers the control plane's own errors do not cover: HTTP-level failures and successes."""

from __future__ import annotations

from controlplane.errors import StatusError


class Unauthorized(StatusError):
    reason, code = "Unauthorized", 401

    def __init__(self):
        super().__init__("Unauthorized")


class PathNotFound(StatusError):
    """A URL that names no served resource (upstream answers 404 with reason NotFound and this message)."""

    reason, code = "NotFound", 404

    def __init__(self):
        super().__init__("the server could not find the requested resource")


class MethodNotAllowed(StatusError):
    reason, code = "MethodNotAllowed", 405

    def __init__(self, method: str, what: str):
        super().__init__(f"{method} is not supported on {what}")


class UnsupportedMediaType(StatusError):
    reason, code = "UnsupportedMediaType", 415

    def __init__(self, content_type: str):
        super().__init__(f"the body of the request was in an unknown format - accepted media types include: "
                         f"application/json, application/yaml, application/json-patch+json, "
                         f"application/merge-patch+json, application/strategic-merge-patch+json "
                         f"(got {content_type or 'none'})")


class NotAcceptable(StatusError):
    reason, code = "NotAcceptable", 406

    def __init__(self, accept: str):
        super().__init__(f"only the following media types are accepted: application/json (asked for {accept})")


def success(kind: str, name: str, group: str, uid: str) -> dict:
    """What a DELETE answers once the object is gone for good."""
    details = {"name": name, "kind": kind, "uid": uid}
    if group:
        details["group"] = group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
