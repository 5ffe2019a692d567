"""Readiness and liveness probes: tcpSocket, httpGet and exec, with the kubelet's timing and thresholds.

tcpSocket and httpGet are sent from the node's namespace to the pod IP, as the real kubelet (on the node's
network) does; exec runs inside the pod. Probes run on a small thread pool so a slow one never stalls the
kubelet's loop; each sync collects the finished results.
"""
from __future__ import annotations

import http.client
import socket
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from kubelab.httpclient import connect
from netns import namespaces

DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
            "failureThreshold": 3}


@dataclass(frozen=True)
class Target:
    node_netns: str
    pod_netns: str
    pod_ip: str
    uts: str | None
    ports: dict[str, int]  # named container ports


def timing(probe: dict, key: str) -> float:
    return float(probe.get(key, DEFAULTS[key]))


def _port(value, target: Target) -> int:
    return target.ports[value] if isinstance(value, str) and not value.isdigit() else int(value)


def check(probe: dict, target: Target) -> bool:
    """Run one probe; True on success."""
    timeout = timing(probe, "timeoutSeconds")
    try:
        if "tcpSocket" in probe:
            with namespaces.entered(target.node_netns):
                sock = socket.socket()
            with sock:
                sock.settimeout(timeout)
                sock.connect((probe["tcpSocket"].get("host") or target.pod_ip, _port(probe["tcpSocket"]["port"], target)))
            return True
        if "httpGet" in probe:
            get = probe["httpGet"]
            conn = connect(target.node_netns, get.get("host") or target.pod_ip, _port(get["port"], target), timeout)
            try:
                headers = {h["name"]: h["value"] for h in get.get("httpHeaders", [])}
                conn.request("GET", get.get("path", "/"), headers={"User-Agent": "kube-probe/1.32", **headers})
                return 200 <= conn.getresponse().status < 400
            finally:
                conn.close()
        if "exec" in probe:
            argv = ["nsenter", f"--net={namespaces.path(target.pod_netns)}"]
            argv += [f"--uts={target.uts}"] if target.uts else []
            result = subprocess.run(argv + list(probe["exec"]["command"]), capture_output=True, timeout=timeout)
            return result.returncode == 0
    except (OSError, subprocess.TimeoutExpired, http.client.HTTPException, KeyError, ValueError):
        return False
    return False


class Prober:
    def __init__(self, workers: int = 8):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe")

    def submit(self, probe: dict, target: Target) -> Future:
        return self._pool.submit(check, probe, target)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
