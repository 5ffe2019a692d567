#!/usr/bin/env python3
"""Controller throughput of kubelab's control plane (no root needed).

1. From scratch: N Services with M running, ready pods each already stored; time for a fresh controller
   manager to build its cache and write every EndpointSlice and Endpoints object (median of --runs).
2. Readiness latency: with the controllers running in their daemon loop (a thread), the time from one
   pod's status turning Ready to the watch delivering its EndpointSlice update (median of --samples).

    .venv/bin/python scripts/bench_controllers.py [--services 1000] [--pods 10] [--runs 3] [--samples 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controlplane.controllers import standard_controllers  # noqa: E402
from controlplane.objects import rfc3339  # noqa: E402
from controlplane.registry import Registry  # noqa: E402
from controlplane.store import Store  # noqa: E402


def populate(registry: Registry, services: int, pods_per_service: int) -> None:
    registry.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "kind-worker"}})
    with registry.store.batch():
        for s in range(services):
            name = f"svc-{s}"
            registry.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                             "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
            for p in range(pods_per_service):
                n = s * pods_per_service + p
                pod = registry.create({"apiVersion": "v1", "kind": "Pod",
                                       "metadata": {"name": f"{name}-{p}", "labels": {"app": name}},
                                       "spec": {"nodeName": "kind-worker",
                                                "containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 8080}]}]}})
                set_ready(registry, pod, True, f"10.{244 + n // 65536}.{n // 256 % 256}.{n % 256}")


def set_ready(registry: Registry, pod: dict, ready: bool, ip: str | None = None) -> dict:
    status = pod["status"]
    status["phase"] = "Running"
    if ip:
        status["podIP"] = ip
    status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                             "lastTransitionTime": rfc3339(time.time()), "lastProbeTime": None}]
    return registry.update_status(pod)


def from_scratch(services: int, pods_per_service: int) -> tuple[float, int]:
    registry = Registry(Store())
    populate(registry, services, pods_per_service)
    start = time.perf_counter()
    manager = standard_controllers(registry)
    manager.run_until_quiet()
    elapsed = time.perf_counter() - start
    slices = registry.list("EndpointSlice").items
    endpoints = sum(len(s["endpoints"]) for s in slices)
    assert endpoints == services * pods_per_service, endpoints
    return elapsed, len(slices)


def readiness_latency(services: int, pods_per_service: int, samples: int) -> list[float]:
    registry = Registry(Store())
    populate(registry, services, pods_per_service)
    manager = standard_controllers(registry)
    manager.run_until_quiet()
    stop = threading.Event()
    loop = threading.Thread(target=manager.run, args=(stop, 0.05), daemon=True)
    loop.start()
    latencies = []
    try:
        for i in range(samples):
            name = f"svc-{i % services}-{i % pods_per_service}"
            set_ready(registry, registry.get("Pod", name), False)
            _wait_for_slice(registry, name, ready=False)
            watch = registry.watch(kinds=["EndpointSlice"])
            start = time.perf_counter()
            set_ready(registry, registry.get("Pod", name), True)
            _wait_for_slice(registry, name, ready=True, watch=watch)
            latencies.append(time.perf_counter() - start)
    finally:
        stop.set()
        loop.join()
    return latencies


def _wait_for_slice(registry: Registry, pod_name: str, ready: bool, watch=None, timeout: float = 10.0) -> None:
    watch = watch or registry.watch(kinds=["EndpointSlice"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in watch.poll(timeout=0.5):
            for endpoint in event.object.get("endpoints") or []:
                if endpoint["targetRef"]["name"] == pod_name and endpoint["conditions"]["ready"] is ready:
                    return
        if _slice_shows(registry, pod_name, ready):
            return
    raise TimeoutError(f"EndpointSlice never showed {pod_name} ready={ready}")


def _slice_shows(registry: Registry, pod_name: str, ready: bool) -> bool:
    service = pod_name.rsplit("-", 1)[0]
    for slice_ in registry.list("EndpointSlice", "default", label_selector=f"kubernetes.io/service-name={service}").items:
        for endpoint in slice_.get("endpoints") or []:
            if endpoint["targetRef"]["name"] == pod_name:
                return endpoint["conditions"]["ready"] is ready
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10, help="pods per service")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()

    runs = [from_scratch(args.services, args.pods) for _ in range(args.runs)]
    median = statistics.median(r[0] for r in runs)
    total = args.services * args.pods
    print(f"reconcile from scratch: {args.services} services x {args.pods} pods ({total} endpoints, {runs[0][1]} slices): "
          f"median {median:.2f} s over {args.runs} runs ({args.services / median:.0f} services/s)")
    latencies = readiness_latency(args.services, args.pods, args.samples)
    print(f"pod ready -> EndpointSlice updated: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p90 {sorted(latencies)[int(len(latencies) * 0.9) - 1] * 1000:.1f} ms over {len(latencies)} samples "
          f"(with {args.services} services, {total} pods)")


if __name__ == "__main__":
    main()
