"""Who sends and who is who: the trace's client namespace and address, and the names behind pod IPs."""
from __future__ import annotations

from dataclasses import dataclass

from kubelab.kubelet.sandbox import pod_id
from netns import namespaces
from netns.cluster import Lab
from netns.pods import PodNetworks
from netns.spec import ClusterNet, SpecError, host_veth


class TargetError(ValueError):
    pass


@dataclass(frozen=True)
class Client:
    kind: str  # pod | node | external (explain's "outside")
    name: str  # "default/web-1", "node1", "external"
    netns: str
    ip: str
    node: str | None  # the node whose namespace the packet enters first (None: outside, decided by routing)


def resolve(lab: Lab, spec: ClusterNet, target: str, namespace: str = "default") -> Client:
    kind, _, name = target.partition("/")
    if kind == "external" and not name:
        return Client("external", "external", spec.ext_netns, str(spec.ext_ip), None)
    if kind in ("node", "no") and name:
        try:
            node = spec.node(name)
        except SpecError as exc:
            raise TargetError(str(exc)) from None
        return Client("node", name, node.netns, str(node.ip), name)
    if kind in ("pod", "po") and name:
        pod = PodNetworks(lab).get(pod_id(namespace, name))
        if pod is None or not namespaces.exists(pod.netns):
            raise TargetError(f'pod "{name}" not found in namespace "{namespace}"')
        return Client("pod", f"{namespace}/{name}", pod.netns, str(pod.ip), pod.node)
    raise TargetError(f'cannot trace from "{target}": use pod/NAME, node/NAME or external')


@dataclass(frozen=True)
class Directory:
    """Pod IPs and node-side veths -> pod names; node IPs -> node names."""

    pods_by_ip: dict[str, str]  # "10.244.0.5" -> "default/web-1"
    pods_by_veth: dict[tuple[str, str], str]  # (node netns, veth) -> "default/web-1"
    nodes_by_ip: dict[str, str]
    nodes_by_netns: dict[str, str]

    def name_of(self, ip: str) -> str | None:
        return self.pods_by_ip.get(ip) or self.nodes_by_ip.get(ip)


def directory(lab: Lab, spec: ClusterNet) -> Directory:
    pods = PodNetworks(lab)
    by_ip, by_veth = {}, {}
    for node in spec.nodes:
        for ip, owner in pods._addresses(node).load().allocated.items():
            name = owner.replace(".", "/", 1)
            by_ip[ip] = name
            by_veth[(node.netns, host_veth(owner))] = name
    return Directory(by_ip, by_veth, {str(n.ip): n.name for n in spec.nodes}, {n.netns: n.name for n in spec.nodes})
