"""Node objects as a kubelet registers them. Pure."""
from __future__ import annotations

import os
import platform

from netns.spec import ClusterNet, NodeNet

KUBELET_VERSION = "v1.32.0-kubelab"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def node_object(node: NodeNet, now: str) -> dict:
    arch = _ARCH.get(platform.machine(), platform.machine())
    capacity = {"cpu": str(os.cpu_count() or 1), "pods": "110",
                "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 1024}Ki"}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": node.name, "labels": {
            "kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": arch,
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": arch}},
        "spec": {"podCIDR": str(node.pod_cidr), "podCIDRs": [str(node.pod_cidr)]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": str(node.ip)}, {"type": "Hostname", "address": node.name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                            "lastTransitionTime": now}],
            "capacity": capacity, "allocatable": dict(capacity),
            "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
                         "operatingSystem": "linux", "architecture": arch, "osImage": "kubelab",
                         "kernelVersion": platform.release(), "containerRuntimeVersion": "kubelab://0.1.0"},
        },
    }


def node_objects(spec: ClusterNet, now: str) -> list[dict]:
    return [node_object(n, now) for n in spec.nodes]
