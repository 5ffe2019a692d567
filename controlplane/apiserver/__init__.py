"""The API server: Kubernetes REST over HTTP (aiohttp), on a Unix socket and a token-guarded loopback port.

The cluster daemon calls `make_app(registry, token=..., log_path=...)`, then `await serve(app, unix_path,
tcp_host, tcp_port)` (or `BackgroundServer` from synchronous code); `kubeconfig(...)` writes what kubectl
and the official clients need to reach it.
"""

from controlplane.apiserver.kubeconfig import kubeconfig
from controlplane.apiserver.server import BackgroundServer, Listening, make_app, serve

__all__ = ["BackgroundServer", "Listening", "kubeconfig", "make_app", "serve"]
