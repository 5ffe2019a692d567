#!/usr/bin/env python3
"""The running cluster's speed, end to end, on a throwaway 2-node lab:

1. 100 pods behind one Service: from creating the Deployment until every pod is Ready and listed ready in
   the Service's EndpointSlices;
2. scale 1 -> 2: from the scale until the new pod answers a request sent from outside to nodeIP:nodePort.

Run as root:  .venv/bin/python scripts/bench_cluster.py [--pods 100] [--rounds 3]
Medians over the rounds are printed (this machine is shared: look at the spread too).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubelab.daemon.runtime import ClusterRuntime  # noqa: E402
from kubelab.httpclient import http_get  # noqa: E402
from netns import preflight  # noqa: E402
from netns.cluster import Lab  # noqa: E402
from netns.spec import cluster_net  # noqa: E402


def deployment(name: str, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "kubia", "image": "luksa/kubia"}]}}}}


def service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "NodePort", "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}


def ready_endpoints(rt: ClusterRuntime, name: str) -> int:
    slices = rt.registry.list("EndpointSlice", "default", label_selector=f"kubernetes.io/service-name={name}")
    return sum(1 for s in slices for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready"))


def wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the cluster did not get there in time")
        time.sleep(0.02)


def delete_and_wait(rt: ClusterRuntime, name: str) -> None:
    rt.registry.delete("Deployment", name, "default")
    rt.registry.delete("Service", name, "default")
    wait(lambda: not rt.registry.list("Pod", "default", label_selector=f"app={name}").items, 120)


def hundred_pods(rt: ClusterRuntime, name: str, pods: int) -> float:
    start = time.perf_counter()
    rt.registry.create(service(name))
    rt.registry.create(deployment(name, pods))
    wait(lambda: ready_endpoints(rt, name) == pods, 300)
    return time.perf_counter() - start


def scale_to_traffic(rt: ClusterRuntime, lab: Lab, name: str) -> float:
    rt.registry.create(service(name))
    rt.registry.create(deployment(name, 1))
    wait(lambda: ready_endpoints(rt, name) == 1, 60)
    spec = lab.require_spec()
    port = rt.registry.get("Service", name, "default")["spec"]["ports"][0]["nodePort"]
    old = {p["metadata"]["name"] for p in rt.registry.list("Pod", "default", label_selector=f"app={name}")}

    def new_pod_answered() -> bool:
        try:
            body = http_get(spec.ext_netns, str(spec.nodes[0].ip), port, timeout=1)
        except OSError:
            return False
        return body.startswith("You've hit ") and body.split()[-1] not in old

    scale = rt.registry.get("Deployment", name, "default")
    scale["spec"]["replicas"] = 2
    start = time.perf_counter()
    rt.registry.update(scale)
    wait(new_pod_answered, 60)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    problem = preflight.problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    name = f"benchc{int(time.time()) % 100000}"
    bring_up, scaling = [], []
    with tempfile.TemporaryDirectory() as run_base:
        lab = Lab(name, run_base=run_base)
        rt = None
        try:
            lab.up(cluster_net(name))
            rt = ClusterRuntime(lab)
            rt.start()
            for r in range(args.rounds):
                bring_up.append(hundred_pods(rt, f"many{r}", args.pods))
                delete_and_wait(rt, f"many{r}")
                scaling.append(scale_to_traffic(rt, lab, f"scale{r}"))
                delete_and_wait(rt, f"scale{r}")
        finally:
            if rt:
                rt.shutdown()
            lab.down()
    print(f"{args.pods} pods behind one Service, until all Ready and in the EndpointSlice: "
          f"median {statistics.median(bring_up):.2f} s  (all: {', '.join(f'{t:.2f}' for t in bring_up)})")
    print(f"scale 1 -> 2 until the new pod answers from outside: "
          f"median {statistics.median(scaling):.2f} s  (all: {', '.join(f'{t:.2f}' for t in scaling)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
