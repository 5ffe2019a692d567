"""kube-proxy (iptables mode): a pure renderer of Services and EndpointSlices, and an applier per node."""
