"""The cluster network: a LAN namespace with a bridge, node namespaces with cni0, an external client.

`Lab(name).up(spec)` converges: what exists and is recorded as ours is kept, what is missing is made.
Everything is recorded in the ledger before it is created; `down()` removes exactly what is recorded.
"""
from __future__ import annotations

import json
import os
from contextlib import ExitStack

from netaddr import IPNetwork

from netns import namespaces, processes, rtnl
from netns.cleanup import Removal, remove_owned
from netns.ledger import Ledger, Owned, owned_netns
from netns.spec import LAN_BRIDGE, NODE_BRIDGE, NODE_UPLINK, ClusterNet, NodeNet, SpecError, from_dict

RUN_BASE = os.environ.get("KUBELAB_RUN_DIR", "/run/kubelab")
SPEC_FILE = "cluster.json"

NODE_SYSCTLS = {
    "net/ipv4/ip_forward": "1",
    "net/ipv4/conf/all/route_localnet": "1",  # 127.0.0.1:nodePort, as kube-proxy sets it
    "net/bridge/bridge-nf-call-iptables": "1",  # bridged pod-to-pod traffic must see kube-proxy's rules
}


class ForeignNamespace(RuntimeError):
    """A namespace with one of our names exists but is not recorded as ours: we will not touch it."""


def write_sysctls(values: dict[str, str]) -> None:
    """Write sysctls of the namespace this thread is in (net.* sysctls are per namespace)."""
    for key, value in values.items():
        with open(f"/proc/sys/{key}", "w") as f:
            f.write(value)


class Lab:
    def __init__(self, name: str, run_base: str | None = None):
        self.name = name
        self.run_dir = os.path.join(run_base or RUN_BASE, name)
        self.ledger = Ledger(self.run_dir)

    # -- state on disk -------------------------------------------------------------------------------

    @property
    def spec_path(self) -> str:
        return os.path.join(self.run_dir, SPEC_FILE)

    def spec(self) -> ClusterNet | None:
        try:
            with open(self.spec_path) as f:
                return from_dict(json.load(f))
        except FileNotFoundError:
            return None

    def own_file(self, path: str) -> str:
        """Record a file of this lab (before it is written) and return its path."""
        self.ledger.record(Owned("file", path))
        return path

    def start_process(self, netns_name: str | None, argv: list[str], log_name: str, **options) -> processes.Process:
        """Start `argv` inside `netns_name` (None: here), output to a log in the run directory; both recorded."""
        owner = netns_name or ""
        log_dir = os.path.join(self.run_dir, "logs", netns_name or "host")
        if not os.path.isdir(log_dir):
            self.ledger.record(Owned("dir", os.path.dirname(log_dir)), Owned("dir", log_dir, owner))
            os.makedirs(log_dir, exist_ok=True)
        log = os.path.join(log_dir, f"{log_name}.log")
        self.ledger.record(Owned("file", log, owner))
        return processes.start(netns_name, argv, log, on_start=lambda p: self.ledger.record(
            Owned("process", str(p.pid), owner, p.start_time)), **options)

    def _save_spec(self, spec: ClusterNet) -> None:
        os.makedirs(self.run_dir, mode=0o700, exist_ok=True)
        self.ledger.record(Owned("dir", self.run_dir), Owned("file", self.spec_path))
        with open(self.spec_path, "w") as f:
            json.dump(spec.to_dict(), f)

    # -- namespaces ----------------------------------------------------------------------------------

    def _owned_netns(self) -> dict[str, Owned]:
        return {o.name: o for o in self.ledger.of_kind("netns")}

    def ensure_netns(self, name: str, owned: dict[str, Owned] | None = None) -> bool:
        """Make namespace `name` unless it is already ours; True when it was created now."""
        owned = self._owned_netns() if owned is None else owned
        current = namespaces.inode(name)
        if current is not None:
            mine = owned.get(name)
            if mine is None or (mine.ident and mine.ident != current):
                raise ForeignNamespace(f"network namespace {name} exists and was not created by kubelab "
                                       f"cluster {self.name}; remove it or choose another --cluster")
            return False
        self.ledger.record(owned_netns(name))
        try:
            namespaces.create(name)
        except BaseException:
            self.ledger.forget(owned_netns(name))
            raise
        self.ledger.record(owned_netns(name, namespaces.inode(name) or 0))
        return True

    # -- up / down -----------------------------------------------------------------------------------

    def up(self, spec: ClusterNet) -> ClusterNet:
        existing = self.spec()
        if existing is not None and existing.to_dict() != spec.to_dict():
            raise SpecError(f"cluster {self.name} is already up with {len(existing.nodes)} node(s) and "
                            f"{existing.pod_cidr} for pods; run `kubelab down` first to change its shape")
        self._save_spec(spec)
        owned = self._owned_netns()
        for name in [spec.lan_netns, spec.ext_netns] + [n.netns for n in spec.nodes]:
            self.ensure_netns(name, owned)
        self._wire_lan(spec)
        for node in spec.nodes:
            self._wire_node(spec, node)
        self._wire_external(spec)
        return spec

    def _wire_lan(self, spec: ClusterNet) -> None:
        with namespaces.entered(spec.lan_netns), rtnl.open_socket() as sock:
            batch = rtnl.Batch().set_up(index=1)
            if rtnl.link_index(sock, LAN_BRIDGE) is None:
                self.ledger.record(Owned("link", LAN_BRIDGE, spec.lan_netns))
                batch.add_bridge(LAN_BRIDGE)
            batch.commit(sock)

    def _plug_into_lan(self, spec: ClusterNet, lan_port: str, netns_name: str, cidr: IPNetwork) -> None:
        """A veth from the LAN bridge to `eth0` of namespace `netns_name`, addressed `cidr`."""
        with ExitStack() as stack:
            stack.enter_context(namespaces.entered(netns_name))
            inner = stack.enter_context(rtnl.open_socket())
            if rtnl.link_index(inner, NODE_UPLINK) is None:
                target = os.open(namespaces.path(netns_name), os.O_RDONLY)
                stack.callback(os.close, target)
                with namespaces.entered(spec.lan_netns), rtnl.open_socket() as lan:
                    self.ledger.record(Owned("link", lan_port, spec.lan_netns))
                    bridge = rtnl.link_index(lan, LAN_BRIDGE)
                    # A half-made pair (our LAN end without its peer) is replaced, not reused.
                    rtnl.Batch().delete_link(lan_port).add_veth(
                        lan_port, NODE_UPLINK, target, master=bridge, up=True).commit(lan)
            uplink = rtnl.link_index(inner, NODE_UPLINK)
            rtnl.Batch().set_up(index=1).set_up(index=uplink).add_address(uplink, cidr).commit(inner)

    def _wire_node(self, spec: ClusterNet, node: NodeNet) -> None:
        self._plug_into_lan(spec, node.lan_port, node.netns, IPNetwork(f"{node.ip}/{spec.lan_cidr.prefixlen}"))
        with namespaces.entered(node.netns), rtnl.open_socket() as sock:
            write_sysctls(NODE_SYSCTLS)
            if rtnl.link_index(sock, NODE_BRIDGE) is None:
                self.ledger.record(Owned("link", NODE_BRIDGE, node.netns))
                rtnl.Batch().add_bridge(NODE_BRIDGE).commit(sock)
            bridge = rtnl.link_index(sock, NODE_BRIDGE)
            batch = rtnl.Batch().add_address(bridge, IPNetwork(f"{node.gateway}/{node.pod_cidr.prefixlen}"))
            for other in spec.nodes:
                if other is not node:
                    batch.add_route(other.pod_cidr, other.ip)  # host-gw style cross-node routing
            # Like kind's nodes, which route everything else via the docker network's gateway. Without a
            # default route a node's own connect() to a ClusterIP fails before nat OUTPUT can DNAT it.
            batch.add_route(IPNetwork("0.0.0.0/0"), spec.ext_ip)
            batch.commit(sock)

    def _wire_external(self, spec: ClusterNet) -> None:
        self._plug_into_lan(spec, "ext", spec.ext_netns, IPNetwork(f"{spec.ext_ip}/{spec.lan_cidr.prefixlen}"))

    def announce(self, ip: str, node_name: str) -> None:
        """Send the outside client's traffic for `ip` (a LoadBalancer IP) to node `node_name`.

        What MetalLB's L2 mode achieves by answering ARP from one node; a /32 route in the external
        namespace has the same effect on the packet path and needs no daemon.
        """
        spec = self.require_spec()
        with namespaces.entered(spec.ext_netns), rtnl.open_socket() as sock:
            rtnl.Batch().add_route(IPNetwork(f"{ip}/32"), spec.node(node_name).ip).commit(sock)

    def withdraw(self, ip: str) -> None:
        """Undo `announce`."""
        spec = self.require_spec()
        with namespaces.entered(spec.ext_netns), rtnl.open_socket() as sock:
            rtnl.Batch().delete_route(IPNetwork(f"{ip}/32")).commit(sock)

    def require_spec(self) -> ClusterNet:
        spec = self.spec()
        if spec is None:
            raise RuntimeError(f"cluster {self.name} is not up")
        return spec

    def down(self) -> Removal:
        """Remove everything this cluster recorded, then its run directory."""
        return remove_owned(self.ledger)

    # -- status --------------------------------------------------------------------------------------

    def status(self) -> dict:
        spec = self.spec()
        if spec is None:
            return {"cluster": self.name, "up": False}
        present = namespaces.names()
        return {
            "cluster": self.name,
            "up": all(ns in present for ns in [spec.lan_netns] + [n.netns for n in spec.nodes]),
            "lan": {"netns": spec.lan_netns, "cidr": str(spec.lan_cidr), "bridge": LAN_BRIDGE},
            "external": {"netns": spec.ext_netns, "ip": str(spec.ext_ip)},
            "podCIDR": str(spec.pod_cidr),
            "serviceCIDR": str(spec.service_cidr),
            "nodes": [{"name": n.name, "netns": n.netns, "ip": str(n.ip), "podCIDR": str(n.pod_cidr),
                       "present": n.netns in present} for n in spec.nodes],
        }
