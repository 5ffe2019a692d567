"""A kubeconfig for kubectl and the official clients: one cluster, one user (a bearer token), one context."""

from __future__ import annotations

import base64

import yaml


def context_name(cluster: str) -> str:
    return f"kubelab-{cluster}"


def kubeconfig(server: str, token: str, cluster_name: str, ca_pem: bytes | None = None) -> str:
    """YAML text. `server` is the TCP URL, e.g. https://127.0.0.1:41234; `ca_pem` the server's certificate
    (tls.Certificate.pem()), which clients then trust. kubectl sends the token only to an https server."""
    name = context_name(cluster_name)
    cluster = {"server": server}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)
