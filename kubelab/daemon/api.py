"""The daemon's API server: the registry served on the cluster's Unix socket and a loopback HTTPS port.

Files (names from kubelab.endpoints) are recorded in the cluster's ledger before they are written. A
restarted daemon keeps its token, certificate and, when it is still free, its port, so kubeconfigs stay valid.
"""
from __future__ import annotations

import os
import secrets

from controlplane.apiserver import tls
from controlplane.apiserver.server import BackgroundServer, make_app
from kubelab import endpoints
from kubelab.daemon.runtime import ClusterRuntime
from netns.cluster import Lab


def _own(lab: Lab, *names: str) -> None:
    for name in names:
        lab.own_file(os.path.join(lab.run_dir, name))


def _previous_port(cluster: str) -> int:
    try:
        with open(endpoints.port_file(cluster)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def start_api(lab: Lab, runtime: ClusterRuntime) -> BackgroundServer:
    os.environ[endpoints.RUN_DIR_ENV] = os.path.dirname(lab.run_dir)  # endpoints reads paths from it
    _own(lab, endpoints.API_SOCKET, endpoints.TOKEN_FILE, endpoints.PORT_FILE, tls.CERT_FILE, tls.KEY_FILE)
    token = endpoints.read_token(lab.name) or secrets.token_urlsafe(32)
    certificate = tls.ensure_certificate(lab.run_dir)
    app = make_app(runtime.registry, token=token, log_path=runtime.log_path)
    server = None
    for port in dict.fromkeys((_previous_port(lab.name), 0)):
        try:
            server = BackgroundServer(app, unix_path=endpoints.api_socket(lab.name), tcp_port=port,
                                      certificate=certificate).start()
            break
        except OSError:
            continue  # the old port was taken meanwhile: any free one will do
    if server is None:
        raise RuntimeError("could not listen on a loopback port")
    endpoints.publish(lab.name, token, server.tcp_port)
    return server
