"""The cluster network as data: names and addresses derived from a small spec. Pure; no kernel."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from netaddr import IPAddress, IPNetwork

PREFIX = "kl"
NODE_BRIDGE = "cni0"
LAN_BRIDGE = "lan0"
NODE_UPLINK = "eth0"
POD_IFNAME = "eth0"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")


class SpecError(ValueError):
    pass


@dataclass(frozen=True)
class NodeNet:
    name: str
    index: int  # 1-based; stable for the node's lifetime
    netns: str
    ip: IPAddress
    pod_cidr: IPNetwork

    @property
    def gateway(self) -> IPAddress:
        """The first address of the pod CIDR, held by the node's cni0 bridge."""
        return IPAddress(self.pod_cidr.first + 1)

    @property
    def lan_port(self) -> str:
        """The LAN-side end of the node's eth0 (lives in the LAN namespace)."""
        return self.name[:15]


@dataclass(frozen=True)
class ClusterNet:
    name: str
    lan_cidr: IPNetwork
    pod_cidr: IPNetwork
    service_cidr: IPNetwork
    node_mask: int
    nodes: tuple[NodeNet, ...] = field(default=())

    @property
    def lan_netns(self) -> str:
        return f"{PREFIX}-{self.name}-lan"

    @property
    def ext_netns(self) -> str:
        return f"{PREFIX}-{self.name}-ext"

    @property
    def ext_ip(self) -> IPAddress:
        # Where kind's docker gateway sits: the "outside" of the cluster.
        return IPAddress(self.lan_cidr.first + 1)

    @property
    def lb_pool(self) -> list[IPAddress]:
        """LoadBalancer IPs, like a MetalLB pool on kind's network: .255.200-.255.250 of the LAN."""
        top = self.lan_cidr.last - 255  # the LAN's last /24
        return [IPAddress(top + i) for i in range(200, 251) if IPAddress(top + i) in self.lan_cidr]

    def node(self, name: str) -> NodeNet:
        for node in self.nodes:
            if node.name == name:
                return node
        raise SpecError(f'node "{name}" not found (nodes: {", ".join(n.name for n in self.nodes)})')

    def pod_netns(self, pod_id: str) -> str:
        return f"{PREFIX}-{self.name}-pod-{pod_id}"

    def to_dict(self) -> dict:
        return {"name": self.name, "nodes": len(self.nodes), "lanCIDR": str(self.lan_cidr),
                "podCIDR": str(self.pod_cidr), "serviceCIDR": str(self.service_cidr), "nodeMask": self.node_mask}


def host_veth(pod_id: str) -> str:
    """The node-side veth name of a pod: short enough for IFNAMSIZ, stable, unique per pod id."""
    return "veth" + hashlib.sha256(pod_id.encode()).hexdigest()[:8]


def cluster_net(name: str = "kubelab", nodes: int = 2, lan_cidr: str = "172.18.0.0/16",
                pod_cidr: str = "10.244.0.0/16", service_cidr: str = "10.96.0.0/16",
                node_mask: int = 24) -> ClusterNet:
    if not _NAME.match(name):
        raise SpecError(f'invalid cluster name "{name}": lower-case letters, digits and "-", at most 32')
    if nodes < 1:
        raise SpecError(f"a cluster needs at least one node, not {nodes}")
    lan, pods, services = IPNetwork(lan_cidr), IPNetwork(pod_cidr), IPNetwork(service_cidr)
    if node_mask < pods.prefixlen or node_mask > 30:
        raise SpecError(f"node pod-CIDR mask /{node_mask} does not fit in {pods}")
    subnets = pods.subnet(node_mask)
    node_nets = []
    for i in range(1, nodes + 1):
        try:
            subnet = next(subnets)
        except StopIteration:
            raise SpecError(f"{pods} has room for fewer than {nodes} /{node_mask} node CIDRs") from None
        ip = IPAddress(lan.first + 1 + i)  # .0.2, .0.3, ... as in kind
        if ip not in lan or ip == lan.broadcast:
            raise SpecError(f"{lan} has no room for {nodes} nodes")
        node_name = f"node{i}"
        node_nets.append(NodeNet(node_name, i, f"{PREFIX}-{name}-{node_name}", ip, subnet))
    return ClusterNet(name, lan, pods, services, node_mask, tuple(node_nets))


def from_dict(d: dict) -> ClusterNet:
    return cluster_net(d["name"], d["nodes"], d["lanCIDR"], d["podCIDR"], d["serviceCIDR"], d["nodeMask"])
