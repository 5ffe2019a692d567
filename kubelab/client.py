"""A small synchronous client for the kubelab API server, over its Unix socket or HTTPS (what the CLI uses).

Requests and answers are JSON; a failure answer (a Status object) raises ApiError carrying it, so the CLI
can print it as kubectl does. Streams (watch events, followed logs) are read line by line.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from typing import Iterator
from urllib.parse import urlencode, urlsplit

from controlplane.apiserver.resources import Resource, by_kind
from kubelab.endpoints import ApiAddress

JSON = "application/json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class ApiError(Exception):
    """The server said no: `status` is its Status object."""

    def __init__(self, status: dict):
        self.status = status
        super().__init__(status.get("message", ""))

    @property
    def code(self) -> int:
        return int(self.status.get("code") or 0)

    @property
    def reason(self) -> str:
        return self.status.get("reason", "")


class Unreachable(Exception):
    """No API server answered at the address."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Client:
    def __init__(self, address: ApiAddress, timeout: float | None = 60.0):
        self.address = address
        self.timeout = timeout

    # ------------------------------------------------------------------------------------------ transport

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        if self.address.unix_path:
            return _UnixConnection(self.address.unix_path, timeout)
        url = urlsplit(self.address.url)
        if url.scheme == "https":
            context = ssl.create_default_context(cafile=self.address.ca_file)
            return http.client.HTTPSConnection(url.hostname, url.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)

    def _send(self, method: str, path: str, query: dict | None, body: object, content_type: str, accept: str,
              timeout: float | None) -> http.client.HTTPResponse:
        query = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        target = path + ("?" + urlencode(query) if query else "")
        headers = {"Accept": accept}
        if self.address.token:
            headers["Authorization"] = f"Bearer {self.address.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        connection = self._connection(timeout)
        try:
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(f"{self.address.url}: {exc}") from None
        if response.status >= 400:
            raise ApiError(_status_of(response))
        return response

    def request(self, method: str, path: str, query: dict | None = None, body: object = None,
                content_type: str = JSON, accept: str = JSON) -> dict:
        response = self._send(method, path, query, body, content_type, accept, self.timeout)
        return json.loads(response.read() or b"{}")

    def stream(self, path: str, query: dict | None = None, accept: str = JSON) -> Iterator[bytes]:
        """The lines of a long answer as they come (no read timeout: a watch may be quiet for long)."""
        response = self._send("GET", path, query, None, JSON, accept, None)
        while True:
            line = response.readline()
            if not line:
                return
            yield line

    # ------------------------------------------------------------------------------------------ REST

    @staticmethod
    def path(resource: Resource, namespace: str | None = None, name: str = "", subresource: str = "") -> str:
        version = resource.info.api_version
        parts = ["/apis/" + version if "/" in version else "/api/" + version]
        if resource.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(resource.name)
        if name:
            parts.append(name)
        if subresource:
            parts.append(subresource)
        return "/".join(parts)

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict:
        return self.request("GET", self.path(resource, namespace, name))

    def list(self, resource: Resource, namespace: str | None, label_selector: str | None = None,
             field_selector: str | None = None) -> dict:
        query = {"labelSelector": label_selector, "fieldSelector": field_selector}
        return self.request("GET", self.path(resource, namespace), query)

    def table(self, resource: Resource, namespace: str | None, name: str = "", label_selector: str | None = None,
              field_selector: str | None = None) -> dict:
        query = {"labelSelector": label_selector, "fieldSelector": field_selector}
        return self.request("GET", self.path(resource, namespace, name), query, accept=TABLE)

    def create(self, resource: Resource, namespace: str | None, body: dict) -> dict:
        return self.request("POST", self.path(resource, namespace), body=body)

    def patch(self, resource: Resource, namespace: str | None, name: str, patch: object,
              patch_type: str = STRATEGIC_MERGE_PATCH, subresource: str = "") -> dict:
        return self.request("PATCH", self.path(resource, namespace, name, subresource), body=patch,
                            content_type=patch_type)

    def delete(self, resource: Resource, namespace: str | None, name: str, propagation_policy: str | None = None) -> dict:
        options = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        return self.request("DELETE", self.path(resource, namespace, name), body=options)

    def watch(self, resource: Resource, namespace: str | None, resource_version: str, table: bool = False,
              label_selector: str | None = None, field_selector: str | None = None,
              timeout_seconds: int | None = None) -> Iterator[dict]:
        query = {"watch": "true", "resourceVersion": resource_version, "labelSelector": label_selector,
                 "fieldSelector": field_selector,
                 "timeoutSeconds": str(timeout_seconds) if timeout_seconds else None}
        for line in self.stream(self.path(resource, namespace), query, accept=TABLE if table else JSON):
            yield json.loads(line)

    def logs(self, namespace: str, pod: str, container: str | None = None, follow: bool = False,
             tail_lines: int | None = None) -> Iterator[bytes]:
        query = {"container": container, "follow": "true" if follow else None,
                 "tailLines": None if tail_lines is None or tail_lines < 0 else str(tail_lines)}
        return self.stream(self.path(by_kind("Pod"), namespace, pod, "log"), query, accept="text/plain, */*")


def _status_of(response: http.client.HTTPResponse) -> dict:
    raw = response.read()
    try:
        status = json.loads(raw)
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        return status
    text = raw.decode(errors="replace").strip() or response.reason
    return {"kind": "Status", "status": "Failure", "code": response.status, "reason": response.reason, "message": text}
