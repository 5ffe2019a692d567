#!/usr/bin/env python3
"""How fast kubelab creates pods, against the `ip -batch` floor, measured in one run on one machine.

The floor is the fastest plain-iproute2 way measured: one `ip -batch` for the namespaces, one `ip -n NODE
-batch` for every veth (peer created straight in the pod), and one `ip -n POD -batch` per pod for its address,
links and route. kubelab's path is netns.pods.PodNetworks.add. Both wire N pods into the same node's cni0.
Rounds alternate between the two; medians and their ratio are printed.

Run as root:  .venv/bin/python scripts/bench_pods.py [--pods 100] [--rounds 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netaddr import IPAddress  # noqa: E402

from netns import preflight  # noqa: E402
from netns.cluster import Lab  # noqa: E402
from netns.ledger import Owned, owned_netns  # noqa: E402
from netns.pods import PodNetworks  # noqa: E402
from netns.spec import cluster_net, host_veth  # noqa: E402


def ip_batch(lines: list[str], netns: str | None = None) -> None:
    argv = ["ip"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    subprocess.run(argv, input="\n".join(lines) + "\n", text=True, check=True)


def floor_round(lab: Lab, ids: list[str]) -> float:
    spec = lab.spec()
    node = spec.nodes[0]
    names = [spec.pod_netns(i) for i in ids]
    lab.ledger.record(*[owned_netns(n) for n in names], *[Owned("link", host_veth(i), node.netns) for i in ids])
    start = time.perf_counter()
    ip_batch([f"netns add {n}" for n in names])
    ip_batch([line for i, n in zip(ids, names) for line in (
        f"link add {host_veth(i)} type veth peer name eth0 netns {n}",
        f"link set {host_veth(i)} master cni0",
        f"link set {host_veth(i)} type bridge_slave hairpin on",
        f"link set {host_veth(i)} up")], node.netns)
    for k, n in enumerate(names):
        ip_batch([f"addr add {IPAddress(node.pod_cidr.first + 2 + k)}/{node.pod_cidr.prefixlen} dev eth0",
                  "link set lo up", "link set eth0 up", f"route add default via {node.gateway}"], n)
    return time.perf_counter() - start


def kubelab_round(lab: Lab, ids: list[str]) -> float:
    start = time.perf_counter()
    PodNetworks(lab).add(lab.spec().nodes[0].name, ids)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    problem = preflight.problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    name = f"bench{int(time.time()) % 100000}"
    with tempfile.TemporaryDirectory() as run_base:
        lab = Lab(name, run_base=run_base)
        try:
            lab.up(cluster_net(name, nodes=1, node_mask=22))
            pods = PodNetworks(lab)
            times: dict[str, list[float]] = {"ip -batch floor": [], "kubelab": []}
            for r in range(args.rounds):
                for label, fn in (("ip -batch floor", floor_round), ("kubelab", kubelab_round)):
                    ids = [f"bench.r{r}-{label[0]}{i}" for i in range(args.pods)]
                    times[label].append(fn(lab, ids))
                    pods.remove(ids)
        finally:
            lab.down()
    floor, ours = (statistics.median(times[k]) for k in ("ip -batch floor", "kubelab"))
    print(f"{args.pods} pods, {args.rounds} rounds each (median):")
    for label, values in times.items():
        print(f"  {label:<16} {statistics.median(values):.3f} s   (all: {', '.join(f'{v:.3f}' for v in values)})")
    print(f"  ratio kubelab / floor = {ours / floor:.2f}  (goal <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
