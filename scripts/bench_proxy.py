#!/usr/bin/env python3
"""Benchmark kube-proxy's renderer and applier (run as root for the sync figures).

    .venv/bin/python scripts/bench_proxy.py [--sizes 100x1,1000x10,10000x1,10000x10] [--repeats 3]

For each N services x E endpoints: render time (cold = hashing names, warm = cached names); full sync
time (render, iptables-save, text, restore: all of `KubeProxy.sync`) as a ratio to a plain
`iptables-nft-restore` (no options) of exactly the text the sync wrote, into an equally empty namespace
(goal <= 1.1x), with the sync's own restore step beside it and, up to 10,000 rules' worth, upstream's
`--noflush` full restore of the same ruleset for comparison; and at the largest size, a partial sync
after one endpoint change as a ratio to restoring just the changed chains (goal <= 1.2x), next to
upstream's partial-sync shape for comparison.
Namespaces are throwaway ones of a unique lab, removed at the end (also on error).
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kubeproxy import names, restore  # noqa: E402
from kubeproxy.config import NodeConfig  # noqa: E402
from kubeproxy.proxier import KubeProxy  # noqa: E402
from kubeproxy.render import render_objects  # noqa: E402
from kubeproxy.runner import NamespaceRunner  # noqa: E402

CFG = NodeConfig("node1", ("172.18.0.2",))


def objects(n: int, e: int, shift: int = 0) -> tuple[list[dict], list[dict]]:
    services, slices = [], []
    for i in range(n):
        name = f"svc-{i}"
        services.append({"kind": "Service", "metadata": {"name": name, "namespace": "bench"},
                         "spec": {"type": "NodePort", "clusterIP": f"10.96.{i // 250}.{i % 250 + 1}",
                                  "ports": [{"name": "http", "port": 80, "nodePort": 30000 + i % 2700}]}})
        ips = [f"10.{244 + (i * e + k) // 65000 % 8}.{(i * e + k) // 250 % 260 % 256}.{(i * e + k) % 250 + 1}"
               for k in range(e)]
        if i == 0 and shift:
            ips[0] = f"10.255.255.{shift}"
        slices.append({"kind": "EndpointSlice", "addressType": "IPv4",
                       "metadata": {"name": f"{name}-1", "namespace": "bench",
                                    "labels": {"kubernetes.io/service-name": name}},
                       "endpoints": [{"addresses": [ip], "nodeName": "node1" if k % 2 else "node2"}
                                     for k, ip in enumerate(ips)],
                       "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
    return services, slices


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_render(n: int, e: int, repeats: int) -> tuple[float, float]:
    services, slices = objects(n, e)
    names.port_proto_hash.cache_clear()
    names.endpoint_chain.cache_clear()
    cold = timed(lambda: render_objects(services, slices, CFG))
    warm = statistics.median(timed(lambda: render_objects(services, slices, CFG)) for _ in range(repeats))
    return cold, warm


class Namespaces:
    def __init__(self, lab):
        self.lab, self.count = lab, 0

    def fresh(self) -> str:
        self.count += 1
        name = f"kl-{self.lab.name}-b{self.count}"
        self.lab.ensure_netns(name)
        return name


def plain_restore(netns: str, text: str) -> None:
    """`iptables-nft-restore` with no options, entered into the namespace the way the runner does it."""
    done = NamespaceRunner(netns, backend="nft")._run(["iptables-nft-restore"], text)
    assert done.returncode == 0, done.stderr


def bench_full(n: int, e: int, repeats: int, spaces: Namespaces) -> dict:
    services, slices = objects(n, e)
    syncs, renders, restores, plains, upstream, proxy = [], [], [], [], [], None
    for _ in range(repeats):
        proxy = KubeProxy(CFG, Recording(spaces.fresh(), backend="nft"))
        proxy.replace(services, slices)
        syncs.append(timed(proxy.sync))
        assert proxy.figures.failures == 0, proxy.figures.last_error
        renders.append(proxy.figures.last_render_duration)
        restores.append(proxy.figures.last_restore_duration)
        text, netns = proxy.runner.last_text, spaces.fresh()
        plains.append(timed(lambda: plain_restore(netns, text)))
        if n <= 1000:  # upstream's shape grows as rules x chains: minutes at 10,000 x 1
            old = NamespaceRunner(spaces.fresh(), backend="nft")
            upstream.append(timed(lambda: old.restore(restore.render_text(proxy.desired()))))
    applies = [sync - render for sync, render in zip(syncs, renders)]
    return {"sync": statistics.median(syncs), "apply": statistics.median(applies),
            "restore": statistics.median(restores),
            "plain": statistics.median(plains), "mode": proxy.figures.last_full_mode,
            "upstream": statistics.median(upstream) if upstream else None, "proxy": proxy}


def upstream_partial_text(proxy: KubeProxy, kubelab_text: str) -> str:
    """Upstream's partial-sync shape: the whole filter table, KUBE-SERVICES/KUBE-NODEPORTS and the
    fixed nat chains rewritten, plus the changed service chains (as kubelab writes them)."""
    rs = proxy.desired()
    full = restore.full(rs).text
    filter_part = full[:full.index("*nat")]
    nat_lines = kubelab_text[kubelab_text.index("*nat") + 5:].splitlines()
    top = [restore.chain_line(c) for c in rs.nat_chains]
    jumps = [line for r in rs.services.values() for line in r.nat_jumps]
    body = [line for line in nat_lines if line != "COMMIT"]
    return "\n".join([filter_part.rstrip("\n"), "*nat", *top, *body, *rs.nat_head, *jumps, *rs.nat_tail,
                      "COMMIT"]) + "\n"


def bench_partial(proxy: KubeProxy, n: int, e: int, repeats: int) -> dict:
    ours, restores, plain, upstream = [], [], [], []
    for r in range(repeats):
        services, slices = objects(n, e, shift=r % 2 + 1)
        proxy.set_endpoint_slice(slices[0])
        ours.append(timed(proxy.sync))
        assert proxy.figures.last_kind == "partial", proxy.figures.to_dict()
        restores.append(proxy.figures.last_restore_duration)
        text = proxy.runner.last_text
        plain.append(timed(lambda: proxy.runner.restore(text)))
        if r == 0:  # once: it re-renders everything and restores for seconds
            up = upstream_partial_text(proxy, text)
            upstream.append(timed(lambda: proxy.runner.restore(up)))
    return {"partial": statistics.median(ours), "its_restore": statistics.median(restores),
            "changed_chains": statistics.median(plain),
            "upstream_shape": statistics.median(upstream), "rules_written": proxy.figures.last_rules_written}


class Recording(NamespaceRunner):
    """Keeps the last restore text so the baseline restores exactly what the sync wrote."""

    def restore(self, text: str, noflush: bool = True) -> None:
        self.last_text = text
        super().restore(text, noflush)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100x1,100x10,1000x1,1000x10,10000x1,10000x10")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]

    print(f"{'N x E':>10} {'render cold':>12} {'render warm':>12}")
    for n, e in sizes:
        cold, warm = bench_render(n, e, args.repeats)
        print(f"{n:>6} x {e:<3} {cold:>11.3f}s {warm:>11.3f}s")
    if args.render_only:
        return

    from netns.cluster import Lab

    lab = Lab(f"bench{secrets.token_hex(3)}", run_base=tempfile.mkdtemp(prefix="kubelab-bench-"))
    # `kill` (SIGTERM) must also remove the namespaces: turn it into an exception that runs `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        spaces = Namespaces(lab)
        print("\nfull sync = all of KubeProxy.sync (render included); apply = the sync without its render "
              "(iptables-save, text, iptables-restore); plain = iptables-nft-restore of the same text")
        print(f"{'N x E':>10} {'full sync':>10} {'apply':>8} {'plain':>8} {'sync/plain':>11} "
              f"{'apply/plain':>12}  (goal <= 1.1x) {'upstream --noflush':>19}  mode")
        last = None
        for n, e in sizes:
            reps = args.repeats if n * e <= 10000 else max(1, args.repeats // 3)
            r = bench_full(n, e, reps, spaces)
            up = f"{r['upstream']:>18.3f}s" if r["upstream"] is not None else f"{'-':>19}"
            print(f"{n:>6} x {e:<3} {r['sync']:>9.3f}s {r['apply']:>7.3f}s {r['plain']:>7.3f}s "
                  f"{r['sync'] / r['plain']:>10.2f}x {r['apply'] / r['plain']:>11.2f}x {'':14} {up}  {r['mode']}")
            last = (n, e)
        n, e = last
        proxy = KubeProxy(CFG, Recording(spaces.fresh(), backend="nft"))
        proxy.replace(*objects(n, e))
        proxy.sync()
        figures = bench_partial(proxy, n, e, max(3, args.repeats))
        print(f"\npartial sync after one endpoint change at {n} x {e}: {figures['partial']:.3f}s "
              f"(its restore {figures['its_restore']:.3f}s), "
              f"restoring just the changed chains: {figures['changed_chains']:.3f}s, ratio "
              f"{figures['partial'] / figures['changed_chains']:.2f}x (goal <= 1.2x); "
              f"upstream's partial shape: {figures['upstream_shape']:.3f}s; "
              f"rules written: {figures['rules_written']}")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
