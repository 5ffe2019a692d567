"""What a trace saw -> what happened to the packet. Pure: monitor text, captured packets and conntrack
entries in; rules hit per node, hops, conntrack entries and a one-line verdict out."""
from __future__ import annotations

from dataclasses import dataclass, field

from kubelab.trace.conntrack import Entry
from kubeproxy.explain.parse import Tables
from kubeproxy.explain.walk import Packet, walk
from kubelab.trace.targets import Client, Directory
from netns import nftrace
from netns.capture import Seen

SERVICE_PREFIXES = ("KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SEP-")


@dataclass(frozen=True)
class RuleHit:
    table: str
    chain: str
    verdict: str  # the kernel's: CONTINUE, JUMP, ACCEPT (a DNAT too), DROP (a REJECT too), RETURN, …
    rule: str  # "-A CHAIN …" in iptables-save syntax; "" for a policy
    kind: str = "rule"  # rule | policy | return

    def text(self) -> str:
        if self.kind == "policy":
            return f"policy {self.table} {self.chain} {self.verdict}"
        return self.rule or f"{self.kind} from {self.chain}"


@dataclass(frozen=True)
class NodeTrace:
    node: str
    netns: str
    packet: dict[str, str]  # the first packet as the node's first hook saw it (SRC, DST, SPORT, …)
    hits: tuple[RuleHit, ...]
    visit: int = 0  # 0 for the packet's first pass through this namespace, 1 when it comes back, …

    def chain_path(self, table: str | None = "nat") -> list[str]:
        path: list[str] = []
        for hit in self.hits:
            if hit.kind == "rule" and (table is None or hit.table == table) and (not path or path[-1] != hit.chain):
                path.append(hit.chain)
        return path

    @property
    def endpoint_chain(self) -> str | None:
        return next((h.chain for h in self.hits if h.kind == "rule" and " -j DNAT " in f"{h.rule} "), None)

    def service_chains(self) -> list[str]:
        out: list[str] = []
        for chain in self.chain_path("nat"):
            if chain.startswith(SERVICE_PREFIXES) and chain not in out:
                out.append(chain)
        return out


@dataclass(frozen=True)
class Hop:
    where: str  # "pod default/web-1", "node node1", "external"
    interface: str
    direction: str
    addresses: str
    peer: str | None = None  # for a node-side pod veth: the pod on its other end
    time: float = 0.0
    netns: str = ""


@dataclass(frozen=True)
class Verdict:
    kind: str  # delivered | refused | dropped | timeout | answered
    text: str
    pod: str | None = None
    address: str | None = None
    rule: str | None = None


@dataclass
class Trace:
    client: Client
    to: str
    proto: str
    sport: int
    reply: str | None
    error: str | None
    nodes: list[NodeTrace] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    conntrack: list[tuple[str, Entry]] = field(default_factory=list)
    verdict: Verdict | None = None


# -- kernel trace --------------------------------------------------------------------------------------

def first_packet(blocks: list[nftrace.TraceBlock], ip_id: int | None) -> list[nftrace.TraceBlock]:
    """The blocks of the traced packet: NAT keeps the IP ID, so they carry the ID it was sent with. ICMP errors
    the packet causes (a REJECT's "port unreachable" to the node itself) can carry its DSCP and ID too, but
    no ports: left out."""
    if ip_id is None:
        return []
    return [b for b in blocks if b.fields.get("ID") == str(ip_id) and "DPORT" in b.fields]


_ENTRY_HOOKS = ("PREROUTING", "OUTPUT")


def visits(blocks: list[nftrace.TraceBlock]) -> list[list[nftrace.TraceBlock]]:
    """Split one packet's blocks into its passes through the namespace: a packet can come back (node1 sends
    to node2's NodePort, node2 sends it to a pod on node1). A pass starts at PREROUTING or OUTPUT."""
    out: list[list[nftrace.TraceBlock]] = []
    for block in blocks:
        hook = block.events[0].chain if block.events else ""
        later = out and any(b.events and b.events[0].chain not in _ENTRY_HOOKS for b in out[-1])
        if not out or (hook in _ENTRY_HOOKS and later):
            out.append([])
        out[-1].append(block)
    return out


def _hits(blocks: list[nftrace.TraceBlock], comment: str) -> tuple[RuleHit, ...]:
    hits = []
    for block in blocks:
        for ev in block.events:
            if comment in ev.rule or (ev.table == "raw" and ev.kind == "policy"):
                continue  # the trace's own TRACE rule, and raw's policy only says "go on"
            hits.append(RuleHit(ev.table, ev.chain, ev.verdict, ev.rule, ev.kind))
    return tuple(hits)


def node_traces(texts: dict[str, str], directory: Directory, ip_id: int | None, comment: str,
                order: list[str]) -> list[NodeTrace]:
    """Each pass of the packet through a node namespace, in `order` (the namespaces the captures saw it
    in, one entry per pass, in time order); passes the captures missed come last."""
    passes = {netns: visits(first_packet(nftrace.parse(text), ip_id)) for netns, text in texts.items()}
    sequence = [(ns, order[:i].count(ns)) for i, ns in enumerate(order) if ns in passes]
    sequence += [(ns, k) for ns in passes for k in range(len(passes[ns])) if (ns, k) not in sequence]
    out = []
    for netns, k in sequence:
        if k < len(passes[netns]):
            blocks = passes[netns][k]
            out.append(NodeTrace(directory.nodes_by_netns.get(netns, netns), netns, blocks[0].fields,
                                 _hits(blocks, comment), k))
    return out


# -- captures ------------------------------------------------------------------------------------------

def _where(netns: str, client: Client, directory: Directory) -> str:
    if netns in directory.nodes_by_netns:
        return f"node {directory.nodes_by_netns[netns]}"
    return f"{client.kind} {client.name}" if client.kind != "external" else "external"


def sent_id(seen: list[Seen], client: Client) -> int | None:
    """The IP ID of the first packet the client sent (NAT keeps it: it names the packet in every namespace)."""
    return next((s.packet.id for s in seen if s.netns == client.netns and s.packet.src == client.ip
                 and s.interface != "lo" and hasattr(s.packet.payload, "dport")), None)


def traced_id(monitor_text: str, src: str) -> int | None:
    """The IP ID of the first traced packet from `src`, for a packet no capture saw (a node's own packet
    rejected in OUTPUT never reaches an interface)."""
    block = next((b for b in nftrace.parse(monitor_text) if b.fields.get("SRC") == src and "DPORT" in b.fields), None)
    return int(block.fields["ID"]) if block and block.fields.get("ID", "").isdigit() else None


def hops(seen: list[Seen], client: Client, directory: Directory, ip_id: int | None) -> list[Hop]:
    """Sightings of the first packet, in time order (loopback is only ever the sentinel)."""
    return [Hop(_where(s.netns, client, directory), s.interface, s.direction, s.addresses(),
                directory.pods_by_veth.get((s.netns, s.interface)), s.time, s.netns)
            for s in seen if s.packet.id == ip_id and s.interface != "lo"]


def namespace_order(hops: list[Hop]) -> list[str]:
    """The namespaces in the order the packet went through them, one entry per pass."""
    order: list[str] = []
    for hop in hops:
        if not order or order[-1] != hop.netns:
            order.append(hop.netns)
    return order


# -- verdict -------------------------------------------------------------------------------------------

def entry_of(node: NodeTrace, client: Client) -> str:
    """How the packet came into `node`, in explain's terms."""
    if node.netns == client.netns and node.visit == 0:
        return "node"
    return "pod" if client.kind == "pod" else "outside"


def verdict(trace: Trace) -> Verdict:
    for node in trace.nodes:
        for hit in node.hits:
            if hit.kind == "rule" and " -j REJECT" in hit.rule:
                why = _comment(hit.rule)
                return Verdict("refused", f"refused by REJECT rule on {node.node}: {hit.rule}"
                               + (f" ({why})" if why else ""), rule=hit.rule)
            if hit.verdict == "DROP":
                return Verdict("dropped", f"dropped on {node.node} by {hit.text()}", rule=hit.text())
    delivered = [h for h in trace.hops if h.peer and h.direction == "out"]
    if delivered:
        last = delivered[-1]
        address = last.addresses.split(" -> ")[1]
        return Verdict("delivered", f"delivered to pod {last.peer} ({address})", last.peer, address)
    if trace.reply is not None:
        return Verdict("answered", f"answered by {trace.to}: {trace.reply.splitlines()[0] if trace.reply else ''}")
    if trace.hops:
        last = trace.hops[-1]
        return Verdict("timeout", f"{trace.error or 'no answer'}; last seen at {last.where} {last.interface} "
                                  f"({last.direction}) as {last.addresses}")
    return Verdict("timeout", f"{trace.error or 'no answer'}; never seen on the way")


def explained_stop(tables: Tables, node: NodeTrace, local_ips: list[str], entry: str, proto: str) -> str | None:
    """The REJECT/DROP rule the offline walk finds for the packet as `node` saw it: for when the kernel's
    trace lost that line (xtables-monitor prints a rule only if it can still look it up by handle, so a
    kube-proxy sync at the wrong moment drops it)."""
    p = node.packet
    if "DPORT" not in p:
        return None
    packet = Packet(p["SRC"], p["DST"], int(p["DPORT"]), proto, entry)
    stops = {o.verdict_by for o in walk(tables, packet, local_ips) if o.verdict in ("REJECT", "DROP")}
    return stops.pop() if len(stops) == 1 else None


def _comment(rule: str) -> str:
    if "--comment " not in rule:
        return ""
    rest = rule.split("--comment ", 1)[1]
    return rest[1:].split('"', 1)[0] if rest.startswith('"') else rest.split()[0]
