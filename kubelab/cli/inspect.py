"""Seeing the packet: `kubelab proxy explain` (offline), `kubelab trace`, `kubelab iptables`,
`kubelab conntrack` and `kubelab graph` (on a running cluster)."""
from __future__ import annotations

import copy
import json
import sys

import click

from kubelab.cli.proxy import proxy, render as render_command
from kubelab.cli.root import KubelabError, main
from kubeproxy import manifests
from kubeproxy.config import NodeConfig
from kubeproxy.explain import parse as iptparse
from kubeproxy.explain import report, source
from kubeproxy.explain.walk import ENTRIES, Packet, WalkError, walk


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise KubelabError(f"expected HOST:PORT, not {value!r}")
    return host, int(port)


def _node_flags() -> list[click.Parameter]:
    """`proxy render`'s node flags (one definition of them), optional here: only -f needs them."""
    flags = []
    for param in render_command.params:
        if param.name != "path":
            flag = copy.copy(param)
            flag.required = False
            flags.append(flag)
    return flags


@proxy.command("explain")
@click.option("-f", "--filename", "path", help="Manifests (file, directory or -) to render the rules from.")
@click.option("--iptables-save", "save_file", type=click.File(), help="A saved `iptables-save` to walk instead.")
@click.option("--from", "entry", type=click.Choice(ENTRIES), default="pod", show_default=True,
              help="Where the packet enters the node.")
@click.option("--src", help="Source IP (default: the node IP when --from node).")
@click.option("--to", "to", required=True, help="Destination HOST:PORT.")
@click.option("-p", "--proto", type=click.Choice(["tcp", "udp", "sctp"]), default="tcp", show_default=True)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(path, save_file, node, node_ip, cluster_cidr, masquerade_all, nodeport_addresses,
            no_localhost_nodeports, entry, src, to, proto, output):
    """Walk one packet through kube-proxy's rules on a node, without root: the rules it matches, every
    endpoint it can reach with its share, and whether it is masqueraded."""
    if bool(path) == bool(save_file):
        raise KubelabError("give either -f MANIFESTS or --iptables-save FILE")
    node_ips = _csv(node_ip)
    if path:
        if not node or not node_ips:
            raise KubelabError("rendering from manifests needs --node and --node-ip")
        cfg = NodeConfig(node_name=node, node_ips=node_ips, cluster_cidr=cluster_cidr or None,
                         masquerade_all=masquerade_all, nodeport_addresses=_csv(nodeport_addresses),
                         localhost_nodeports=not no_localhost_nodeports)
        try:
            services, slices = manifests.split(manifests.load(path))
            tables = source.from_objects(services, slices, cfg)
        except (manifests.ManifestError, ValueError, KeyError, TypeError) as exc:
            raise KubelabError(f"cannot render {path}: {exc}") from None
    else:
        try:
            tables = source.from_save(save_file.read())
        except iptparse.ParseError as exc:
            raise KubelabError(f"cannot read {save_file.name}: {exc}") from None
    dst, dport = host_port(to)
    src = src or (node_ips[0] if entry == "node" and node_ips else None)
    if not src:
        raise KubelabError("--src is needed (the packet's source IP)")
    try:
        packet = Packet(src, dst, dport, proto, entry)
        outcomes = walk(tables, packet, node_ips)
    except (WalkError, ValueError) as exc:
        raise KubelabError(str(exc)) from None
    if output == "json":
        click.echo(json.dumps(report.to_dict(packet, outcomes), indent=2))
    else:
        click.echo(report.to_text(packet, outcomes, f"node {node}" if node else ""), nl=False)


explain.params[2:2] = _node_flags()


# -- on a running cluster ---------------------------------------------------------------------------------

def _running_lab(ctx: click.Context):
    from kubelab.cli.lab import require_root
    from netns.cluster import Lab

    require_root()
    lab = Lab(ctx.obj)
    if lab.spec() is None:
        raise KubelabError(f"cluster {lab.name} is not up: run `kubelab up`")
    return lab


@main.command("trace")
@click.option("--from", "source", required=True, help="pod/NAME, node/NAME or external.")
@click.option("--to", "to", required=True, help="Destination HOST:PORT (a ClusterIP, node IP, LB IP or pod IP).")
@click.option("--proto", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True)
@click.option("-n", "--namespace", default="default", show_default=True, help="Kubernetes namespace of the pod.")
@click.option("--craft", is_flag=True, help="Send one crafted packet (scapy) instead of a real connection.")
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Seconds to wait for an answer.")
@click.option("--pcap", "pcap", type=click.Path(dir_okay=False, writable=True), help="Write the captures here.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def trace_command(ctx, source, to, proto, namespace, craft, timeout, pcap, output):
    """Follow one connection through the cluster: the rules it hits in each node (the kernel's own trace),
    its addresses at each hop, its conntrack entry, and what became of it."""
    from kubelab.trace import report as trace_report
    from kubelab.trace.run import trace
    from kubelab.trace.targets import TargetError

    lab = _running_lab(ctx)
    host, port = host_port(to)
    try:
        result = trace(lab, source, host, port, proto, craft, timeout, namespace, pcap)
    except TargetError as exc:
        raise KubelabError(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("trace interrupted; its rules and captures are removed", err=True)
        sys.exit(130)
    trace_report.save_last(lab, result)
    if output == "json":
        click.echo(json.dumps(trace_report.to_dict(result), indent=2))
    else:
        click.echo(trace_report.to_text(result), nl=False)


def _node_netns(lab, node: str) -> str:
    from netns.spec import SpecError
    try:
        return lab.spec().node(node).netns
    except SpecError as exc:
        raise KubelabError(str(exc)) from None


def _saved_tables(netns: str) -> iptparse.Tables:
    """`iptables-save -c` inside the node's namespace, parsed."""
    import subprocess
    from netns import namespaces

    with namespaces.entered(netns):
        done = subprocess.run(["iptables-save", "-c"], capture_output=True, text=True)
    if done.returncode != 0:
        raise KubelabError(f"iptables-save in {netns}: {done.stderr.strip()}")
    return iptparse.parse(done.stdout)


def _services_to_show(tables, service: str | None) -> list[str]:
    from kubeproxy.explain.service_view import services
    known = services(tables)
    if service is None:
        return known
    if service not in known:
        raise KubelabError(f'service "{service}" has no rules on this node (services: {", ".join(known) or "none"})')
    return [service]


def _share(row) -> str:
    return f"{float(row.share) * 100:.4g}%" if row.share is not None else ""


@main.command("iptables")
@click.argument("node")
@click.option("--service", help="NS/NAME: only this service's rules.")
@click.pass_context
def iptables_command(ctx, node, service):
    """Print NODE's kube-proxy rules per service, chains in jump order, with packet counters and each
    endpoint's effective share."""
    from kubeproxy.explain.service_view import view

    lab = _running_lab(ctx)
    tables = _saved_tables(_node_netns(lab, node))
    for name in _services_to_show(tables, service):
        click.echo(f"# service {name} on {node}    [packets:bytes]  share  rule")
        for cv in view(tables, name):
            click.echo(f"{cv.table} {cv.chain}")
            for row in cv.rows:
                counters = "[%d:%d]" % row.rule.counters if row.rule.counters else ""
                click.echo(f"  {counters:>14} {_share(row):>6}  {row.rule.text}")
        click.echo("")


@main.command("conntrack")
@click.argument("node")
@click.option("--service", help="NS/NAME: only connections to this service (its IPs, node ports, endpoints).")
@click.pass_context
def conntrack_command(ctx, node, service):
    """List NODE's conntrack entries (original and reply tuples), optionally for one service."""
    from kubelab.trace import conntrack
    from kubeproxy.explain.service_view import addresses

    lab = _running_lab(ctx)
    netns = _node_netns(lab, node)
    entries = conntrack.list_entries(netns)
    if service:
        tables = _saved_tables(netns)
        _services_to_show(tables, service)
        entries = [e for e in entries if _belongs(e, addresses(tables, service))]
    for e in entries:
        state = f" {e.state}" if e.state else ""
        nat = ",".join(w for w, on in (("DNAT", e.dnat), ("SNAT", e.snat)) if on)
        click.echo(f"{e.proto}{state}  original {e.original}  reply {e.reply}" + (f"  [{nat}]" if nat else ""))
    if not entries:
        click.echo("no entries", err=True)


def _belongs(entry, addrs) -> bool:
    o, r = entry.original, entry.reply
    return ((o.dst, o.dport) in addrs.frontends or (o.dport in addrs.node_ports and entry.dnat)
            or (r.src, r.sport) in addrs.endpoints)


@main.command("graph")
@click.option("--service", required=True, help="NS/NAME of the service to draw.")
@click.option("--node", help="Whose rules to draw (default: the node of the last trace, else the first node).")
@click.option("-o", "--output", "fmt", type=click.Choice(["svg", "png", "dot"]), default="svg", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write here (default: stdout; png needs --out).")
@click.pass_context
def graph_command(ctx, service, node, fmt, out):
    """Draw SERVICE's chain path from the built-in chains to each endpoint (Graphviz), the last trace's
    path in red."""
    import subprocess
    from kubeproxy.explain.graph import to_dot
    from kubelab.trace.report import load_last

    lab = _running_lab(ctx)
    last = load_last(lab) or {}
    # The pass that chose an endpoint is the one worth drawing (other nodes on the path only route it).
    passes = [n for n in last.get("nodes", []) if node in (None, n["node"])]
    traced = next((n for n in passes if n.get("endpointChain")), passes[0] if passes else None)
    node = node or (traced["node"] if traced else lab.spec().nodes[0].name)
    tables = _saved_tables(_node_netns(lab, node))
    _services_to_show(tables, service)
    path = traced["chainPath"] if traced and traced["node"] == node else None
    endpoint = _endpoint_of(tables, traced["endpointChain"]) if path and traced.get("endpointChain") else None
    dot = to_dot(tables, service, path, endpoint)
    if fmt == "dot":
        data = dot.encode()
    else:
        done = subprocess.run(["dot", f"-T{fmt}"], input=dot.encode(), capture_output=True)
        if done.returncode != 0:
            raise KubelabError(f"dot: {done.stderr.decode().strip()}")
        data = done.stdout
    if out:
        with open(out, "wb") as f:
            f.write(data)
    elif fmt == "png":
        raise KubelabError("png is binary: give --out FILE")
    else:
        click.echo(data.decode(), nl=False)


def _endpoint_of(tables, sep_chain: str) -> str | None:
    return next((r.arg("--to-destination") for r in tables.chain("nat", sep_chain) if r.target == "DNAT"), None)
