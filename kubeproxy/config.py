"""A node's kube-proxy settings: the inputs to rendering that do not come from API objects."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


@dataclass(frozen=True)
class NodeConfig:
    """Upstream flags in brackets.

    `cluster_cidr` is the local-traffic detector (--detect-local-mode=ClusterCIDR): traffic from it is
    "from a pod". None means no detector (upstream's noOp detector: no off-cluster masquerade rule and no
    pod short-circuit in KUBE-EXT chains).

    `nfacct` says whether the nfacct counters exist (upstream creates them with nfacct.Ensure and only
    writes `-m nfacct` rules when that worked). `random_fully` says whether iptables supports
    `--random-fully` on MASQUERADE (upstream's HasRandomFully; any iptables >= 1.6.2).
    `conntrack_tcp_liberal` mirrors the nf_conntrack_tcp_be_liberal sysctl: when set, no INVALID drop.
    """

    node_name: str
    node_ips: tuple[str, ...]
    cluster_cidr: str | None = "10.244.0.0/16"  # [--cluster-cidr]
    masquerade_all: bool = False  # [--masquerade-all]
    masquerade_bit: int = 14  # [--iptables-masquerade-bit]
    nodeport_addresses: tuple[str, ...] = ()  # [--nodeport-addresses]; empty = all local addresses
    localhost_nodeports: bool = True  # [--iptables-localhost-nodeports]
    nfacct: bool = False
    random_fully: bool = True
    conntrack_tcp_liberal: bool = False
    zone: str = ""  # the node's topology.kubernetes.io/zone label, for topology hints
    extra_local_ips: tuple[str, ...] = field(default=())  # other addresses on the node (nodePortAddresses)

    @property
    def masquerade_mark(self) -> str:
        # Upstream formats the mark with Go's %#08x: eight digits after the "0x" ("0x00004000" for bit
        # 14); iptables-save then shows it as 0x4000.
        return "0x%08x" % (1 << self.masquerade_bit)

    @property
    def node_ip(self) -> str:
        return self.node_ips[0]

    def nodeport_networks(self) -> list[ipaddress.IPv4Network]:
        return [ipaddress.ip_network(c.strip(), strict=False) for c in self.nodeport_addresses
                if ipaddress.ip_network(c.strip(), strict=False).version == 4]

    @property
    def nodeports_match_all(self) -> bool:
        """NodePortAddresses.MatchAll upstream: no CIDRs given, or a zero CIDR among them."""
        nets = self.nodeport_networks()
        return not nets or any(n.prefixlen == 0 for n in nets)

    @property
    def serves_localhost_nodeports(self) -> bool:
        """--iptables-localhost-nodeports is switched off when nodePortAddresses exclude 127.0.0.1."""
        if not self.localhost_nodeports:
            return False
        return self.nodeports_match_all or any(ipaddress.ip_address("127.0.0.1") in n
                                                for n in self.nodeport_networks())

    def nodeport_ips(self) -> list[str]:
        """The node's addresses that accept NodePorts when nodePortAddresses is set (GetNodeIPs)."""
        nets = self.nodeport_networks()
        local = ["127.0.0.1", *self.node_ips, *self.extra_local_ips]
        seen: list[str] = []
        for ip in local:
            addr = ipaddress.ip_address(ip)
            if addr.version == 4 and any(addr in n for n in nets) and ip not in seen:
                seen.append(ip)
        return seen
