"""`kubelab proxy`: the API proxy (`kubectl proxy`), and kube-proxy's rules rendered offline."""
import os

import click

from kubelab.cli.root import KubelabError, main
from kubeproxy import manifests, restore
from kubeproxy.config import NodeConfig
from kubeproxy.render import render_objects


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@main.group(invoke_without_command=True)
@click.option("-p", "--port", default=8001, show_default=True, help="Port for the API proxy (kubectl proxy).")
@click.option("--address", default="127.0.0.1", show_default=True, help="Address for the API proxy.")
@click.pass_context
def proxy(ctx: click.Context, port: int, address: str) -> None:
    """Alone, like `kubectl proxy`: the API on http://127.0.0.1:8001. With a subcommand, kube-proxy's rules
    (iptables mode): render, explain."""
    if ctx.invoked_subcommand is not None:
        return
    from kubelab import apiproxy, endpoints

    socket_path = endpoints.api_socket(ctx.obj)
    if not os.path.exists(socket_path):
        raise KubelabError(f"cluster {ctx.obj} is not up (no API socket at {socket_path}): run `kubelab up`")
    try:
        apiproxy.serve(socket_path, address, port, click.echo)
    except OSError as exc:
        raise KubelabError(f"cannot listen on {address}:{port}: {exc.strerror}") from None


@proxy.command()
@click.option("-f", "--filename", "path", required=True,
              help="Manifest file, directory of manifests, or - for stdin (Services and EndpointSlices).")
@click.option("--node", required=True, help="Node name (decides which endpoints are local).")
@click.option("--node-ip", required=True, help="Node IP(s), comma-separated; the first is the primary.")
@click.option("--cluster-cidr", default="10.244.0.0/16", show_default=True,
              help="Pod CIDR used to tell pod traffic from off-cluster traffic.")
@click.option("--masquerade-all", is_flag=True, help="Masquerade all traffic to service IPs.")
@click.option("--nodeport-addresses", default="", help="CIDRs whose node addresses accept NodePorts.")
@click.option("--no-localhost-nodeports", is_flag=True, help="Do not accept NodePorts on 127.0.0.1.")
def render(path: str, node: str, node_ip: str, cluster_cidr: str, masquerade_all: bool,
           nodeport_addresses: str, no_localhost_nodeports: bool) -> None:
    """Print the iptables-restore input kube-proxy writes on NODE for the given objects."""
    try:
        services, slices = manifests.split(manifests.load(path))
        cfg = NodeConfig(node_name=node, node_ips=_csv(node_ip), cluster_cidr=cluster_cidr or None,
                         masquerade_all=masquerade_all, nodeport_addresses=_csv(nodeport_addresses),
                         localhost_nodeports=not no_localhost_nodeports)
        ruleset = render_objects(services, slices, cfg)
    except (manifests.ManifestError, ValueError, KeyError, TypeError) as exc:
        raise KubelabError(f"cannot render {path}: {exc}") from None
    click.echo(restore.render_text(ruleset), nl=False)
