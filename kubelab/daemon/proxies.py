"""One kube-proxy per node, fed from the registry's watch like upstream's informers feed theirs."""
from __future__ import annotations

import logging
import threading

from controlplane.registry import Registry
from controlplane.watch import DELETED
from kubelab.daemon.threads import resilient
from kubeproxy.config import NodeConfig
from kubeproxy.proxier import KubeProxy
from kubeproxy.runner import NamespaceRunner
from netns.spec import ClusterNet

log = logging.getLogger("kubelab.daemon")
KINDS = ("Service", "EndpointSlice")


class Proxies:
    def __init__(self, registry: Registry, spec: ClusterNet):
        self.registry = registry
        self.by_node = {n.name: KubeProxy(NodeConfig(n.name, (str(n.ip),), cluster_cidr=str(spec.pod_cidr)),
                                          NamespaceRunner(n.netns)) for n in spec.nodes}

    def _replace_all(self) -> int:
        services = self.registry.list("Service")
        slices = self.registry.list("EndpointSlice")
        for proxy in self.by_node.values():
            proxy.replace(services.items, slices.items)
        return min(services.resource_version, slices.resource_version)

    def feed(self, stop: threading.Event) -> None:
        """Initial lists, then every Service/EndpointSlice change, to every node's proxy."""
        watch = self.registry.watch(self._replace_all(), kinds=KINDS)
        while not stop.is_set():
            for event in watch.poll(timeout=0.5):
                obj = event.object
                for proxy in self.by_node.values():
                    handler = {("Service", True): proxy.delete_service, ("Service", False): proxy.set_service,
                               ("EndpointSlice", True): proxy.delete_endpoint_slice,
                               ("EndpointSlice", False): proxy.set_endpoint_slice}[(event.kind, event.type == DELETED)]
                    handler(obj)

    def threads(self, stop: threading.Event) -> list[threading.Thread]:
        return [resilient("kube-proxy/feed", self.feed, stop)] + [
            resilient(f"kube-proxy/{node}", proxy.run, stop) for node, proxy in self.by_node.items()]

    def figures(self) -> dict[str, dict]:
        return {node: proxy.figures.to_dict() for node, proxy in self.by_node.items()}
