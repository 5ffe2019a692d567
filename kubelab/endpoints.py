"""Where a cluster's API server is found: the one place that names its files (the daemon writes them).

In the cluster's run directory (`$KUBELAB_RUN_DIR/<cluster>`, default /run/kubelab/<cluster>, as netns.cluster):
  api.sock        the Unix socket, mode 0600 (root only; no token needed)
  token           the bearer token TCP clients must send, mode 0600
  api-port        the loopback TCP port (HTTPS), as decimal text
  apiserver.crt   the TCP listener's self-signed certificate (and apiserver.key, its key)
`KUBELAB_SERVER` (a URL: unix:///path/api.sock, https://127.0.0.1:PORT or http://...) overrides the socket, with
`KUBELAB_TOKEN` (else the token file) and `KUBELAB_CA_FILE` (else apiserver.crt) for TCP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from controlplane.apiserver.tls import CERT_FILE

RUN_DIR_ENV = "KUBELAB_RUN_DIR"
DEFAULT_RUN_BASE = "/run/kubelab"
SERVER_ENV, TOKEN_ENV, CA_ENV = "KUBELAB_SERVER", "KUBELAB_TOKEN", "KUBELAB_CA_FILE"
API_SOCKET, TOKEN_FILE, PORT_FILE = "api.sock", "token", "api-port"


def run_dir(cluster: str) -> str:
    return os.path.join(os.environ.get(RUN_DIR_ENV, DEFAULT_RUN_BASE), cluster)


def api_socket(cluster: str) -> str:
    return os.path.join(run_dir(cluster), API_SOCKET)


def token_file(cluster: str) -> str:
    return os.path.join(run_dir(cluster), TOKEN_FILE)


def port_file(cluster: str) -> str:
    return os.path.join(run_dir(cluster), PORT_FILE)


def cert_file(cluster: str) -> str:
    return os.path.join(run_dir(cluster), CERT_FILE)


@dataclass(frozen=True)
class ApiAddress:
    url: str  # unix:///path, https://host:port or http://host:port
    token: str | None = None
    ca_file: str | None = None

    @property
    def unix_path(self) -> str | None:
        return self.url[len("unix://"):] if self.url.startswith("unix://") else None


def locate(cluster: str) -> ApiAddress:
    """The address the CLI talks to: $KUBELAB_SERVER if set, else the cluster's Unix socket."""
    server = os.environ.get(SERVER_ENV)
    if not server:
        return ApiAddress(f"unix://{api_socket(cluster)}")
    token = os.environ.get(TOKEN_ENV) or _read(token_file(cluster))
    return ApiAddress(server, token, os.environ.get(CA_ENV) or _existing(cert_file(cluster)))


def tcp_url(cluster: str) -> str | None:
    """https://127.0.0.1:<port> from the port file, or None when the daemon has not published one."""
    port = _read(port_file(cluster))
    return f"https://127.0.0.1:{port}" if port else None


def read_token(cluster: str) -> str | None:
    return _read(token_file(cluster))


def publish(cluster: str, token: str, tcp_port: int) -> None:
    """For the daemon: write the token (0600) and the port where clients look for them."""
    directory = run_dir(cluster)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    _write(token_file(cluster), token, 0o600)
    _write(port_file(cluster), str(tcp_port), 0o644)


def _write(path: str, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.chmod(path, mode)


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _existing(path: str) -> str | None:
    return path if os.path.exists(path) else None
