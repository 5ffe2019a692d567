"""Services + endpoints + node config -> kube-proxy's iptables rules, as upstream's syncProxyRules writes them.

Pure: no kernel, no clock. The result keeps each service port's rules apart (`ServiceRules`), so that
an applier can rewrite only the service ports that changed; `restore.py` turns it into
iptables-restore text. Line for line this follows pkg/proxy/iptables/proxier.go (syncProxyRules and
writeServiceToEndpointRules); upstream names are cited where the logic is not obvious.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from kubeproxy import names
from kubeproxy.config import NodeConfig
from kubeproxy.index import ServiceIndex
from kubeproxy.model import Endpoint, PortKey, ServicePort
from kubeproxy.topology import categorize

# Top-level chains, in the order upstream declares them.
KUBE_SERVICES = "KUBE-SERVICES"
KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
KUBE_NODEPORTS = "KUBE-NODEPORTS"
KUBE_POSTROUTING = "KUBE-POSTROUTING"
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"
KUBE_FORWARD = "KUBE-FORWARD"
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBE_FIREWALL = "KUBE-FIREWALL"  # kubelet's anti-martian chain, duplicated by kube-proxy
FILTER_CHAINS = (KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL)
NAT_CHAINS = (KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ)

# Above this many endpoints upstream drops per-endpoint comments ("large cluster mode").
LARGE_CLUSTER_ENDPOINTS = 1000
LOCALHOST_NODEPORT_COUNTER = "localhost_nps_accepted_pkts"
INVALID_DROPPED_COUNTER = "ct_state_invalid_dropped_pkts"
NODEPORTS_LAST = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"'


@dataclass(frozen=True)
class ServiceRules:
    """Everything one service port contributes, in upstream's write order."""

    filter_rules: tuple[str, ...]  # "-A KUBE-…" lines in the filter table
    nat_jumps: tuple[str, ...]  # "-A KUBE-SERVICES/KUBE-NODEPORTS …" lines in the nat table
    chains: tuple[str, ...]  # the port's own nat chains (EXT, FW, SVC, SVL, SEP), declaration order
    chain_rules: tuple[str, ...]  # "-A <own chain> …" lines


@dataclass(frozen=True)
class Ruleset:
    """The complete desired state of kube-proxy's chains on one node."""

    filter_chains: tuple[str, ...]
    filter_head: tuple[str, ...]  # before the services' filter rules (KUBE-FIREWALL)
    filter_tail: tuple[str, ...]  # after them (KUBE-FORWARD)
    nat_chains: tuple[str, ...]
    nat_head: tuple[str, ...]  # KUBE-POSTROUTING, KUBE-MARK-MASQ
    nat_tail: tuple[str, ...]  # the jump to KUBE-NODEPORTS, last in KUBE-SERVICES
    services: dict[PortKey, ServiceRules]  # in output order

    def all_nat_chains(self) -> list[str]:
        return [*self.nat_chains, *(c for r in self.services.values() for c in r.chains)]


def _rule(*words: str) -> str:
    return " ".join(words)


def is_large_cluster(endpoint_counts: int) -> bool:
    return endpoint_counts > LARGE_CLUSTER_ENDPOINTS


def fixed_rules(cfg: NodeConfig) -> dict[str, tuple[str, ...]]:
    """The rules that do not depend on any Service: postrouting, mark, forward, firewall, nodeports."""
    mark = cfg.masquerade_mark
    masq = _rule("-A", KUBE_POSTROUTING, "-m comment --comment", '"kubernetes service traffic requiring SNAT"',
                 "-j MASQUERADE")
    firewall = ()
    filter_chains = FILTER_CHAINS
    if cfg.serves_localhost_nodeports:
        # Mitigates the route_localnet hole (https://issue.k8s.io/90259); kubelet writes the same rule.
        filter_chains += (KUBE_FIREWALL,)
        firewall = (_rule("-A", KUBE_FIREWALL, "-m comment --comment", '"block incoming localnet connections"',
                          "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT",
                          "-j DROP"),)
    forward = []
    if not cfg.conntrack_tcp_liberal:
        counter = f" -m nfacct --nfacct-name {INVALID_DROPPED_COUNTER}" if cfg.nfacct else ""
        forward.append(f"-A {KUBE_FORWARD} -m conntrack --ctstate INVALID{counter} -j DROP")
    forward += [
        _rule("-A", KUBE_FORWARD, "-m comment --comment", '"kubernetes forwarding rules"',
              f"-m mark --mark {mark}/{mark} -j ACCEPT"),
        _rule("-A", KUBE_FORWARD, "-m comment --comment", '"kubernetes forwarding conntrack rule"',
              "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
    ]
    return dict(
        filter_chains=filter_chains, filter_head=firewall, filter_tail=tuple(forward),
        nat_chains=NAT_CHAINS,
        nat_head=(f"-A {KUBE_POSTROUTING} -m mark ! --mark {mark}/{mark} -j RETURN",
                  f"-A {KUBE_POSTROUTING} -j MARK --xor-mark {mark}",
                  masq + (" --random-fully" if cfg.random_fully else ""),
                  f"-A {KUBE_MARK_MASQ} -j MARK --or-mark {mark}"),
        nat_tail=tuple(_nodeports_jumps(cfg)))


def _nodeports_jumps(cfg: NodeConfig) -> list[str]:
    head = f"-A {KUBE_SERVICES} -m comment --comment {NODEPORTS_LAST}"
    if cfg.nodeports_match_all:
        local = "" if cfg.serves_localhost_nodeports else " ! -d 127.0.0.0/8"
        return [f"{head} -m addrtype --dst-type LOCAL{local} -j {KUBE_NODEPORTS}"]
    return [f"{head} -d {ip} -j {KUBE_NODEPORTS}" for ip in cfg.nodeport_ips()
            if ip != "127.0.0.1" or cfg.serves_localhost_nodeports]


def render(ports: list[ServicePort], endpoints: dict[PortKey, list[Endpoint]], cfg: NodeConfig) -> Ruleset:
    """The full ruleset. `ports` may come in any order; output follows sorted service-port order."""
    large = is_large_cluster(sum(len(endpoints.get(p.key, ())) for p in ports))
    ordered = sorted(ports, key=sort_key)
    services = {p.key: render_service(p, endpoints.get(p.key, []), cfg, large) for p in ordered}
    return Ruleset(services=services, **fixed_rules(cfg))


def sort_key(port: ServicePort) -> tuple[str, str]:
    """Upstream walks a Go map here; kubelab sorts by "ns/name:port" then protocol, stably."""
    return (port.name_string, port.protocol)


class _Writer:
    """The lines one service port writes, split by where they go (upstream's four line buffers)."""

    def __init__(self) -> None:
        self.filter: list[str] = []
        self.jumps: list[str] = []
        self.chains: list[str] = []
        self.rules: list[str] = []

    def chain(self, name: str) -> None:
        self.chains.append(name)

    def done(self) -> ServiceRules:
        return ServiceRules(tuple(self.filter), tuple(self.jumps), tuple(self.chains), tuple(self.rules))


@dataclass(frozen=True)
class _Plan:
    """Which chains a service port needs and where each kind of traffic goes (syncProxyRules' locals)."""

    cluster_chain: str
    local_chain: str
    ext_chain: str
    fw_chain: str
    internal_chain: str
    external_policy_chain: str
    lb_chain: str
    has_endpoints: bool
    has_internal: bool
    has_external: bool
    uses_cluster_chain: bool
    uses_local_chain: bool
    uses_ext_chain: bool
    uses_fw_chain: bool


def _plan(svc: ServicePort, cluster: list, local: list, has_any: bool) -> _Plan:
    h = svc.chain_hash
    cluster_chain, local_chain = names.SVC + h, names.SVL + h
    ext_chain, fw_chain = names.EXT + h, names.FW + h
    uses_fw = has_any and bool(svc.lb_vips) and bool(svc.lb_source_ranges)
    return _Plan(
        cluster_chain=cluster_chain, local_chain=local_chain, ext_chain=ext_chain, fw_chain=fw_chain,
        internal_chain=local_chain if svc.internal_policy_local else cluster_chain,
        external_policy_chain=local_chain if svc.external_policy_local else cluster_chain,
        lb_chain=fw_chain if uses_fw else ext_chain,
        has_endpoints=has_any,
        has_internal=has_any and (bool(local) or not svc.internal_policy_local),
        has_external=has_any and (bool(local) or not svc.external_policy_local),
        uses_cluster_chain=bool(cluster) and svc.uses_cluster_endpoints,
        uses_local_chain=bool(local) and svc.uses_local_endpoints,
        # The EXT chain is kept even without external endpoints: it short-circuits local traffic.
        uses_ext_chain=has_any and svc.externally_accessible,
        uses_fw_chain=uses_fw)


def render_service(svc: ServicePort, endpoints: list[Endpoint], cfg: NodeConfig, large: bool) -> ServiceRules:
    """The rules of one service port (the body of syncProxyRules' loop over svcPortMap)."""
    cat = categorize(endpoints, svc, cfg.node_name, cfg.zone)
    plan = _plan(svc, cat.cluster, cat.local, cat.has_any)
    w = _Writer()
    _capture_rules(w, svc, plan, cfg)
    _internal_masquerade(w, svc, plan, cfg)
    _external_chain(w, svc, plan, cfg)
    _firewall_chain(w, svc, plan, cfg)
    if plan.uses_cluster_chain:
        w.chain(plan.cluster_chain)
        _balance(w, svc, plan.cluster_chain, cat.cluster, large)
    if plan.uses_local_chain:
        w.chain(plan.local_chain)
        _balance(w, svc, plan.local_chain, cat.local, large)
    for ep in cat.reachable:
        _endpoint_chain(w, svc, ep, large)
    return w.done()


def _filter_targets(svc: ServicePort, plan: _Plan) -> tuple[tuple[str, str], tuple[str, str]]:
    """(target, comment) for internal and external traffic that has nowhere to go."""
    name = svc.name_string
    if not plan.has_endpoints:
        reject = ("REJECT", f'"{name} has no endpoints"')
        return reject, reject
    drop = ("DROP", f'"{name} has no local endpoints"')
    return (drop if not plan.has_internal else ("", "")), (drop if not plan.has_external else ("", ""))


def _capture_rules(w: _Writer, svc: ServicePort, plan: _Plan, cfg: NodeConfig) -> None:
    """KUBE-SERVICES / KUBE-NODEPORTS jumps in nat, and their REJECT/DROP twins in filter."""
    name, proto, port = svc.name_string, svc.proto, svc.port
    match = f"-m {proto} -p {proto}"
    (int_target, int_comment), (ext_target, ext_comment) = _filter_targets(svc, plan)

    def to(dest: str, comment: str, target: str) -> str:
        return f"-m comment --comment {comment} {match} -d {dest} --dport {port} -j {target}"

    if plan.has_internal:
        w.jumps.append(f"-A {KUBE_SERVICES} " + to(svc.cluster_ip, f'"{name} cluster IP"', plan.internal_chain))
    else:
        w.filter.append(f"-A {KUBE_SERVICES} " + to(svc.cluster_ip, int_comment, int_target))
    for ip in svc.external_ips:
        if plan.has_endpoints:
            w.jumps.append(f"-A {KUBE_SERVICES} " + to(ip, f'"{name} external IP"', plan.ext_chain))
        if not plan.has_external:
            w.filter.append(f"-A {KUBE_EXTERNAL_SERVICES} " + to(ip, ext_comment, ext_target))
    for ip in svc.lb_vips:
        if plan.has_endpoints:
            w.jumps.append(f"-A {KUBE_SERVICES} " + to(ip, f'"{name} loadbalancer IP"', plan.lb_chain))
        if plan.uses_fw_chain:
            w.filter.append(f"-A {KUBE_PROXY_FIREWALL} " + to(
                ip, f'"{name} traffic not accepted by {plan.fw_chain}"', "DROP"))
    if not plan.has_external:
        for ip in svc.lb_vips:
            w.filter.append(f"-A {KUBE_EXTERNAL_SERVICES} " + to(ip, ext_comment, ext_target))
    if svc.node_port:
        _nodeport_rules(w, svc, plan, cfg, ext_comment, ext_target)
    if svc.health_check_node_port:
        w.filter.append(f"-A {KUBE_NODEPORTS} -m comment --comment " + f'"{name} health check node port"'
                        + f" -m tcp -p tcp --dport {svc.health_check_node_port} -j ACCEPT")


def _nodeport_rules(w: _Writer, svc: ServicePort, plan: _Plan, cfg: NodeConfig,
                    ext_comment: str, ext_target: str) -> None:
    name, proto, node_port = svc.name_string, svc.proto, svc.node_port
    if plan.has_endpoints:
        # NodePorts are not subject to loadBalancerSourceRanges (upstream keeps it that way).
        if cfg.serves_localhost_nodeports and cfg.nfacct:
            w.jumps.append(f"-A {KUBE_NODEPORTS} -m comment --comment {name} -m {proto} -p {proto} "
                           f"-d 127.0.0.0/8 --dport {node_port} -m nfacct --nfacct-name "
                           f"{LOCALHOST_NODEPORT_COUNTER} -j {plan.ext_chain}")
        w.jumps.append(f"-A {KUBE_NODEPORTS} -m comment --comment {name} -m {proto} -p {proto} "
                       f"--dport {node_port} -j {plan.ext_chain}")
    if not plan.has_external:
        w.filter.append(f"-A {KUBE_EXTERNAL_SERVICES} -m comment --comment {ext_comment} -m addrtype "
                        f"--dst-type LOCAL -m {proto} -p {proto} --dport {node_port} -j {ext_target}")


def _internal_masquerade(w: _Writer, svc: ServicePort, plan: _Plan, cfg: NodeConfig) -> None:
    """Masquerade traffic to the clusterIP that does not come from a pod (or all, with masqueradeAll)."""
    if not plan.has_internal:
        return
    head = (f"-A {plan.internal_chain} -m comment --comment " + f'"{svc.name_string} cluster IP"'
            + f" -m {svc.proto} -p {svc.proto} -d {svc.cluster_ip} --dport {svc.port}")
    if cfg.masquerade_all:
        w.rules.append(f"{head} -j {KUBE_MARK_MASQ}")
    elif cfg.cluster_cidr:
        # Lets a static route for the service range point at any node (off-cluster -> service).
        w.rules.append(f"{head} ! -s {cfg.cluster_cidr} -j {KUBE_MARK_MASQ}")


def _external_chain(w: _Writer, svc: ServicePort, plan: _Plan, cfg: NodeConfig) -> None:
    if not plan.uses_ext_chain:
        return
    ext, name = plan.ext_chain, svc.name_string
    w.chain(ext)
    if not svc.external_policy_local:
        # Cluster policy may send the packet to another node: masquerade so the reply comes back.
        w.rules.append(f"-A {ext} -m comment --comment " + f'"masquerade traffic for {name} external destinations"'
                       + f" -j {KUBE_MARK_MASQ}")
    else:
        if cfg.cluster_cidr:
            # Pod -> external IP of a Local service behaves as if it went out to the LB and back.
            w.rules.append(f"-A {ext} -m comment --comment " + f'"pod traffic for {name} external destinations"'
                           + f" -s {cfg.cluster_cidr} -j {plan.cluster_chain}")
        # The node itself would talk from the (local) external IP: masquerade and use Cluster policy.
        w.rules.append(f"-A {ext} -m comment --comment "
                       + f'"masquerade LOCAL traffic for {name} external destinations"'
                       + f" -m addrtype --src-type LOCAL -j {KUBE_MARK_MASQ}")
        w.rules.append(f"-A {ext} -m comment --comment " + f'"route LOCAL traffic for {name} external destinations"'
                       + f" -m addrtype --src-type LOCAL -j {plan.cluster_chain}")
    if plan.has_external:
        w.rules.append(f"-A {ext} -j {plan.external_policy_chain}")


def _firewall_chain(w: _Writer, svc: ServicePort, plan: _Plan, cfg: NodeConfig) -> None:
    """loadBalancerSourceRanges: allowed sources go on to EXT; the rest falls through and is dropped
    by the KUBE-PROXY-FIREWALL rule in the filter table."""
    if not plan.uses_fw_chain:
        return
    fw, name = plan.fw_chain, svc.name_string
    w.chain(fw)
    head = f"-A {fw} -m comment --comment " + f'"{name} loadbalancer IP"'
    allow_from_node = False
    for cidr in svc.lb_source_ranges:
        w.rules.append(f"{head} -s {cidr} -j {plan.ext_chain}")
        allow_from_node = allow_from_node or ipaddress.ip_address(cfg.node_ip) in ipaddress.ip_network(cidr)
    if allow_from_node:
        # A request from the node to a VIP it holds loops back with the VIP as source.
        for ip in svc.lb_vips:
            w.rules.append(f"{head} -s {ip} -j {plan.ext_chain}")
    w.rules.append(f"-A {fw} -m comment --comment "
                   + f'"other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL"')


def _probability(n: int) -> str:
    return "%0.10f" % (1.0 / n)


def _balance(w: _Writer, svc: ServicePort, chain: str, endpoints: list[Endpoint], large: bool) -> None:
    """SVC/SVL -> SEP jumps: affinity checks first, then 1/n, 1/(n-1), … random picks (writeServiceToEndpointRules)."""
    name, proto = svc.name_string, svc.proto
    sep = [names.endpoint_chain(name, proto, str(ep)) for ep in endpoints]

    def head(ep: Endpoint) -> str:
        return f"-A {chain}" if large else f'-A {chain} -m comment --comment "{name} -> {ep}"'

    if svc.session_affinity:
        for ep, target in zip(endpoints, sep):
            w.rules.append(f"{head(ep)} -m recent --name {target} --rcheck --seconds {svc.affinity_timeout} "
                           f"--reap -j {target}")
    n = len(endpoints)
    for i, (ep, target) in enumerate(zip(endpoints, sep)):
        pick = f" -m statistic --mode random --probability {_probability(n - i)}" if i < n - 1 else ""
        w.rules.append(f"{head(ep)}{pick} -j {target}")


def _endpoint_chain(w: _Writer, svc: ServicePort, ep: Endpoint, large: bool) -> None:
    """KUBE-SEP: hairpin masquerade (a pod reaching itself), affinity bookkeeping, then DNAT."""
    name, proto = svc.name_string, svc.proto
    chain = names.endpoint_chain(name, proto, str(ep))
    w.chain(chain)
    head = f"-A {chain}" if large else f"-A {chain} -m comment --comment {name}"
    w.rules.append(f"{head} -s {ep.ip} -j {KUBE_MARK_MASQ}")
    recent = f" -m recent --name {chain} --set" if svc.session_affinity else ""
    w.rules.append(f"{head}{recent} -m {proto} -p {proto} -j DNAT --to-destination {ep}")


def render_objects(services: list[dict], slices: list[dict], cfg: NodeConfig) -> Ruleset:
    """The ruleset for plain Service and EndpointSlice objects (Kubernetes JSON shape)."""
    index = ServiceIndex(cfg.node_name)
    index.replace(services, slices)
    return render(index.ports(), index.endpoints_map(), cfg)
