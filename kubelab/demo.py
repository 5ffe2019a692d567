"""`kubelab demo`: bring a lab up, show it, prove it carries real packets, take it down.

Each step prints the command a user would type and what to notice in its output.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
import time

import click

from netns.cluster import Lab
from netns.pods import PodNetworks
from netns.spec import cluster_net

HTTP_PORT = 8080


def step(title: str, notice: str = "") -> None:
    click.secho(f"\n== {title}", bold=True)
    if notice:
        click.echo(f"   notice: {notice}")


def show(cluster: str, target: str, *command: str) -> bool:
    """Run a command the way a user would through `kubelab run-in`, echoing it and its output."""
    click.secho(f"$ kubelab --cluster {cluster} run-in {target} -- {shlex.join(command)}", fg="cyan")
    result = subprocess.run([sys.executable, "-m", "kubelab", "--cluster", cluster, "run-in", target, "--", *command],
                            capture_output=True, text=True, timeout=30)
    for line in (result.stdout + result.stderr).strip().splitlines():
        click.echo(f"   {line}")
    return result.returncode == 0


def wait_for_port(lab: Lab, netns_name: str, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=0.5)"
    while time.monotonic() < deadline:
        if subprocess.run(["ip", "netns", "exec", netns_name, sys.executable, "-c", probe],
                          capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} in {netns_name}")


def run(cluster: str, nodes: int = 2, keep: bool = False) -> bool:
    lab = Lab(cluster)
    step(f"kubelab --cluster {cluster} up --nodes {nodes}",
         "each node is a network namespace with eth0 on the LAN and a cni0 bridge for its pods")
    spec = lab.up(lab.spec() or cluster_net(cluster, nodes))
    from kubelab.cli.lab import print_status
    print_status(lab.status())
    ok = True
    try:
        first, second = spec.nodes[0], spec.nodes[-1]
        step("three pods: two on the first node, one on the last",
             "addresses come from each node's pod CIDR; the first address is the node's cni0 bridge")
        pods = PodNetworks(lab)
        a, b = pods.add(first.name, ["default.demo-a", "default.demo-b"])
        (c,) = pods.add(second.name, ["default.demo-c"])
        for pod in (a, b, c):
            click.echo(f"   pod {pod.pod_id.split('.', 1)[1]:<8} {str(pod.ip):<12} on {pod.node}")
        lab.start_process(c.netns, [sys.executable, "-m", "http.server", str(HTTP_PORT)], "http")
        wait_for_port(lab, c.netns, HTTP_PORT)

        step("pod to pod on one node", "the packet only crosses the node's cni0 bridge")
        ok &= show(cluster, "pod/demo-a", "ping", "-c", "2", "-W", "2", str(b.ip))
        step("pod to pod across nodes",
             f"{first.name} routes {second.pod_cidr} via {second.ip}, the other node (host-gw style)")
        ok &= show(cluster, "pod/demo-a", "curl", "-sS", "-o", "/dev/null", "-w", "HTTP %{http_code} from %{remote_ip}\\n",
                   f"http://{c.ip}:{HTTP_PORT}/")
        step("node to pod", "a node reaches its own pods through cni0 and the others' through the LAN")
        ok &= show(cluster, f"node/{first.name}", "curl", "-sS", "-o", "/dev/null", "-w",
                   "HTTP %{http_code} from %{remote_ip}\\n", f"http://{c.ip}:{HTTP_PORT}/")
        step("outside the cluster to a node IP", "the external namespace sits on the LAN like your laptop")
        ok &= show(cluster, "external", "ping", "-c", "2", "-W", "2", str(first.ip))
        step("the routing table of a node", "one route per other node's pod CIDR")
        ok &= show(cluster, f"node/{first.name}", "ip", "route")
    finally:
        if keep:
            step(f"kept: remove it with `kubelab --cluster {cluster} down`")
        else:
            step(f"kubelab --cluster {cluster} down", "everything recorded as made by this cluster is removed")
            click.echo(f"   removed {lab.down().summary()}")
    click.secho("\ndemo " + ("passed" if ok else "FAILED: a step above did not get through"),
                fg="green" if ok else "red", bold=True)
    return ok
