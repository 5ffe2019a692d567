"""Pod namespaces: made and wired into their node's cni0 bridge in bulk, removed in bulk.

Per pod: a namespace; a veth whose `eth0` end is created in the pod and whose other end is created
directly in the node (one request, no move, so no address is lost); `eth0` addressed from the node's pod
CIDR; `lo` and `eth0` up; a default route via the bridge. On the node side the port joins cni0 with
hairpin on (a pod reaching itself through its Service leaves and re-enters by the same port).

The pod-side requests go out as one netlink batch per pod from a socket opened inside the new namespace;
the node-side requests for all pods as one batch at the end.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork

from netns import namespaces, rtnl
from netns.cleanup import Removal, remove_owned
from netns.cluster import Lab
from netns.ipam import AddressBook
from netns.ledger import Owned, owned_netns
from netns.spec import NODE_BRIDGE, POD_IFNAME, NodeNet, host_veth

# Fixed ifindex for the pod's eth0: the address and route requests can then name it in the same batch
# as its creation, without a lookup round trip. Any index free in a fresh namespace would do.
POD_ETH0_INDEX = 42


@dataclass(frozen=True)
class PodNet:
    pod_id: str
    node: str
    netns: str
    ip: IPAddress
    host_veth: str
    uts: str | None = None  # the pod's UTS namespace (its hostname), when it has one


class PodNetworks:
    """Pod namespaces of one cluster (its network must be up)."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.spec = lab.require_spec()

    def _addresses(self, node: NodeNet) -> AddressBook:
        return AddressBook(os.path.join(self.lab.run_dir, f"pod-addresses-{node.name}.json"), node.pod_cidr)

    def get(self, pod_id: str) -> PodNet | None:
        netns = self.spec.pod_netns(pod_id)
        if not namespaces.exists(netns):
            return None
        for node in self.spec.nodes:
            address = next((ip for ip, owner in self._addresses(node).load().allocated.items()
                            if owner == pod_id), None)
            if address:
                uts = self.uts_path(pod_id)
                return PodNet(pod_id, node.name, netns, IPAddress(address), host_veth(pod_id),
                              uts if os.path.exists(uts) else None)
        return None

    def uts_path(self, pod_id: str) -> str:
        return os.path.join(self.lab.run_dir, "uts", pod_id)

    def add(self, node_name: str, pod_ids: list[str], hostnames: dict[str, str] | None = None) -> list[PodNet]:
        """Create and wire pods on one node; an existing pod is returned as it is.

        `hostnames` (pod id -> hostname) gives those pods a UTS namespace of their own.
        """
        node = self.spec.node(node_name)
        hostnames = hostnames or {}
        book = self._addresses(node)
        self.lab.own_file(book.path)
        with book as addresses:
            pods = [PodNet(p, node.name, self.spec.pod_netns(p), addresses.allocate(p), host_veth(p),
                           self.uts_path(p) if p in hostnames else None) for p in pod_ids]
        self._ensure_uts([p for p in pods if p.uts], hostnames)
        new = [p for p in pods if not namespaces.exists(p.netns)]
        ledger = self.lab.ledger
        ledger.record(*[item for p in new for item in (owned_netns(p.netns), Owned("link", p.host_veth, node.netns))])
        node_fd = namespaces.open_fd(node.netns)
        try:
            for pod in new:
                self._create(pod, node, node_fd)
            with namespaces.entered(node.netns), rtnl.open_socket() as sock:
                bridge = rtnl.link_index(sock, NODE_BRIDGE)
                attach = rtnl.Batch()
                for pod in new:
                    attach.set_master(pod.host_veth, bridge).set_hairpin(pod.host_veth)
                attach.commit(sock)
        finally:
            os.close(node_fd)
        ledger.record(*[owned_netns(p.netns, namespaces.inode(p.netns) or 0) for p in new])
        return pods

    def _ensure_uts(self, pods: list[PodNet], hostnames: dict[str, str]) -> None:
        if pods and not os.path.isdir(os.path.dirname(pods[0].uts)):
            self.lab.ledger.record(Owned("dir", os.path.dirname(pods[0].uts)))
            os.makedirs(os.path.dirname(pods[0].uts), exist_ok=True)
        for pod in pods:
            if not os.path.exists(pod.uts):
                self.lab.ledger.record(Owned("uts", pod.uts, pod.netns))
                namespaces.create_uts(pod.uts, hostnames[pod.pod_id])

    def _create(self, pod: PodNet, node: NodeNet, node_fd: int) -> None:
        cidr = IPNetwork(f"{pod.ip}/{node.pod_cidr.prefixlen}")
        with namespaces.created(pod.netns), rtnl.open_socket() as sock:
            (rtnl.Batch()
             .add_veth(POD_IFNAME, pod.host_veth, node_fd, index=POD_ETH0_INDEX)
             .add_address(POD_ETH0_INDEX, cidr)
             .set_up(index=1)
             .set_up(index=POD_ETH0_INDEX)
             .add_route(IPNetwork("0.0.0.0/0"), node.gateway)
             .commit(sock))

    def remove(self, pod_ids: list[str]) -> Removal:
        """Stop the pods' recorded processes, unplug their veths, drop their namespaces and addresses."""
        pod_netns = {self.spec.pod_netns(p) for p in pod_ids}
        node_links = {(n.netns, host_veth(p)) for n in self.spec.nodes for p in pod_ids}
        removal = remove_owned(self.lab.ledger,
                               lambda o: o.netns in pod_netns or (o.kind == "link" and (o.netns, o.name) in node_links))
        owners = set(pod_ids)
        for node in self.spec.nodes:
            book = self._addresses(node)
            if not os.path.exists(book.path):
                continue  # no pod ever had an address there
            with book as addresses:
                for address, owner in list(addresses.allocated.items()):
                    if owner in owners:
                        addresses.release(address)
        return removal
