"""Lab lifecycle verbs: up, down, cleanup, status, run-in."""
from __future__ import annotations

import json
import os
import sys

import click

from kubelab.cli.root import KubelabError, main
from kubelab.daemon import supervisor
from netns import namespaces, preflight
from netns.cluster import RUN_BASE, ForeignNamespace, Lab
from kubelab.kubelet.sandbox import pod_id
from netns.pods import PodNetworks
from netns.spec import SpecError, cluster_net


def require_root() -> None:
    problem = preflight.problem()
    if problem:
        raise KubelabError(problem)


def lab_of(ctx: click.Context) -> Lab:
    return Lab(ctx.obj)


@main.command()
@click.option("--nodes", type=click.IntRange(1, 64), default=None, help="Worker nodes (default 2).")
@click.pass_context
def up(ctx: click.Context, nodes: int | None) -> None:
    """Create the cluster network, or converge an existing one."""
    require_root()
    lab = lab_of(ctx)
    existing = lab.spec()
    try:
        spec = existing if existing and nodes is None else cluster_net(lab.name, nodes or 2)
        lab.up(spec)
        daemon = supervisor.start(lab)
    except (SpecError, ForeignNamespace, supervisor.DaemonFailed) as exc:
        raise KubelabError(str(exc)) from None
    click.echo(f"cluster {lab.name} is up ({len(spec.nodes)} nodes, daemon pid {daemon.pid})")
    print_status(lab.status())


@main.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Remove the cluster: every process, interface, namespace and file it made."""
    require_root()
    lab = lab_of(ctx)
    if lab.spec() is None and not lab.ledger.owned():
        click.echo(f"cluster {lab.name} is not up")
        return
    supervisor.stop(lab)
    report(lab.down(), f"cluster {lab.name} removed")


@main.command()
@click.option("--all", "every", is_flag=True, help="Every cluster recorded on this machine.")
@click.pass_context
def cleanup(ctx: click.Context, every: bool) -> None:
    """Remove what crashed runs left behind (only what kubelab recorded as its own)."""
    require_root()
    names = sorted(os.listdir(RUN_BASE)) if every and os.path.isdir(RUN_BASE) else [ctx.obj]
    for name in names:
        lab = Lab(name)
        removal = lab.down()
        report(removal, f"cluster {name}: removed {removal.summary()}" if removal else f"cluster {name}: nothing to clean up")


def report(removal, message: str) -> None:
    click.echo(message)
    for failure in removal.failed:
        click.echo(f"warning: could not remove {failure}", err=True)
    if removal.failed:
        sys.exit(1)


def print_status(status: dict) -> None:
    if not status.get("nodes"):
        click.echo(f"cluster {status['cluster']} is not up")
        return
    click.echo(f"LAN        {status['lan']['cidr']:<18} netns {status['lan']['netns']}")
    click.echo(f"external   {status['external']['ip']:<18} netns {status['external']['netns']}")
    click.echo(f"pods       {status['podCIDR']:<18} services {status['serviceCIDR']}")
    if "daemon" in status:
        daemon = status["daemon"]
        click.echo(f"daemon     {'pid ' + str(daemon['pid']) if daemon else 'not running (run kubelab up)'}")
    click.echo(f"{'NODE':<10} {'INTERNAL-IP':<14} {'POD-CIDR':<16} NETNS")
    for node in status["nodes"]:
        state = "" if node["present"] else "  (missing: run kubelab up)"
        click.echo(f"{node['name']:<10} {node['ip']:<14} {node['podCIDR']:<16} {node['netns']}{state}")


@main.command()
@click.option("-o", "--output", type=click.Choice(["json"]), default=None)
@click.pass_context
def status(ctx: click.Context, output: str | None) -> None:
    """Show the cluster: LAN, external client, nodes with their IPs and pod CIDRs."""
    lab = lab_of(ctx)
    info = lab.status()
    daemon = supervisor.running(lab)
    info["daemon"] = {"pid": daemon.pid, "log": daemon.log} if daemon else None
    if output == "json":
        click.echo(json.dumps(info, indent=2))
    else:
        print_status(info)


def resolve_target(lab: Lab, target: str, namespace: str) -> str:
    spec = lab.spec()
    if spec is None:
        raise KubelabError(f"cluster {lab.name} is not up: run `kubelab up`")
    kind, _, name = target.partition("/")
    if kind == "external" and not name:
        return spec.ext_netns
    if kind in ("node", "no") and name:
        try:
            return spec.node(name).netns
        except SpecError as exc:
            raise KubelabError(str(exc)) from None
    if kind in ("pod", "po") and name:
        netns_name = spec.pod_netns(pod_id(namespace, name))
        if not namespaces.exists(netns_name):
            raise KubelabError(f'pod "{name}" not found in namespace "{namespace}"')
        return netns_name
    raise KubelabError(f'cannot run in "{target}": use node/NAME, pod/NAME or external')


@main.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("pod")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-c", "--container", default=None, help="Accepted for kubectl's sake: containers share the pod's namespaces.")
@click.option("-i", "--stdin", is_flag=True, hidden=True)
@click.option("-t", "--tty", is_flag=True, hidden=True)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, pod: str, namespace: str, container: str | None, stdin: bool, tty: bool,
          command: tuple[str, ...]) -> None:
    """Run COMMAND inside a pod's namespaces (network, hostname, /etc/hosts), like kubectl exec."""
    require_root()
    lab = lab_of(ctx)
    name = pod.split("/", 1)[1] if pod.startswith(("pod/", "po/", "pods/")) else pod
    netns_name = resolve_target(lab, f"pod/{name}", namespace)
    uts = PodNetworks(lab).uts_path(pod_id(namespace, name))
    argv = ["ip", "netns", "exec", netns_name, *command]
    if os.path.exists(uts):
        argv = ["nsenter", f"--uts={uts}", "--", *argv]
    os.execvp(argv[0], argv)


@main.command("run-in", context_settings={"ignore_unknown_options": True})
@click.argument("target")
@click.option("-n", "--namespace", default="default", show_default=True, help="Kubernetes namespace of a pod.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def run_in(ctx: click.Context, target: str, namespace: str, command: tuple[str, ...]) -> None:
    """Run COMMAND inside node/NAME, pod/NAME or the external client; its exit code is passed through."""
    require_root()
    netns_name = resolve_target(lab_of(ctx), target, namespace)
    # `ip netns exec` also gives the command its own /sys view and /etc/netns/NAME files.
    os.execvp("ip", ["ip", "netns", "exec", netns_name, *command])
