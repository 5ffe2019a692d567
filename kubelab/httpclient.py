"""A plain HTTP GET from inside a namespace (the socket is made there), for demos and tests."""
from __future__ import annotations

import http.client

from netns import namespaces


def connect(netns_name: str, host: str, port: int, timeout: float) -> http.client.HTTPConnection:
    """An HTTP connection whose socket was made (and connected) inside `netns_name`."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    with namespaces.entered(netns_name):
        conn.connect()
    return conn


def http_get(netns_name: str, host: str, port: int, path: str = "/", timeout: float = 5.0) -> str:
    """The response body; raises OSError on any failure (refused, reset, timed out, HTTP 5xx)."""
    conn = connect(netns_name, host, port, timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read().decode()
        if response.status >= 500:
            raise OSError(f"HTTP {response.status}")
        return body
    except http.client.HTTPException as exc:
        raise OSError(str(exc)) from exc
    finally:
        conn.close()
