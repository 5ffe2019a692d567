"""A pod's sandbox: its network namespace and veth, its UTS namespace (hostname = pod name), and the
/etc/hosts and /etc/resolv.conf its containers see.

The two files go where `ip netns exec` looks for them (/etc/netns/<netns>/), and containers are started
through `ip netns exec`, which bind-mounts them over /etc in a mount namespace of the container's own.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from netns.cluster import Lab
from netns.ledger import Owned
from netns.pods import PodNet, PodNetworks

ETC_NETNS = "/etc/netns"
CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class Sandbox:
    pod_id: str
    net: PodNet

    @property
    def netns(self) -> str:
        return self.net.netns

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that runs `argv` as a container of this pod."""
        return ["ip", "netns", "exec", self.netns, *argv]


def pod_id(namespace: str, name: str) -> str:
    # Kubernetes namespaces cannot contain dots, so the first dot splits the two unambiguously.
    return f"{namespace}.{name}"


def hosts_file(pod: dict, pod_ip: str) -> str:
    name = pod["metadata"]["name"]
    hostname = pod["spec"].get("hostname", name)
    lines = ["# Kubernetes-managed hosts file (kubelab).", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             f"{pod_ip}\t{hostname}"]
    return "\n".join(lines) + "\n"


def resolv_conf(namespace: str, dns_ip: str) -> str:
    search = f"{namespace}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}"
    return f"search {search}\nnameserver {dns_ip}\noptions ndots:5\n"


class Sandboxes:
    def __init__(self, lab: Lab, node: str, dns_ip: str):
        self.lab, self.node, self.dns_ip = lab, node, dns_ip
        self.networks = PodNetworks(lab)

    def ensure(self, pod: dict) -> Sandbox:
        meta = pod["metadata"]
        pid = pod_id(meta["namespace"], meta["name"])
        (net,) = self.networks.add(self.node, [pid], hostnames={pid: pod["spec"].get("hostname", meta["name"])})
        self._write_etc(net.netns, {"hosts": hosts_file(pod, str(net.ip)),
                                    "resolv.conf": resolv_conf(meta["namespace"], self.dns_ip)})
        return Sandbox(pid, net)

    def _write_etc(self, netns_name: str, files: dict[str, str]) -> None:
        directory = os.path.join(ETC_NETNS, netns_name)
        if not os.path.isdir(ETC_NETNS):
            self.lab.ledger.record(Owned("dir", ETC_NETNS))
        if not os.path.isdir(directory):
            self.lab.ledger.record(Owned("dir", directory, netns_name))
            os.makedirs(directory, exist_ok=True)
        for name, text in files.items():
            target = os.path.join(directory, name)
            if not os.path.exists(target):
                self.lab.ledger.record(Owned("file", target, netns_name))
                with open(target, "w") as f:
                    f.write(text)

    def remove(self, pod_ids: list[str]) -> None:
        self.networks.remove(pod_ids)
