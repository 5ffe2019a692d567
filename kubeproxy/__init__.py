"""kube-proxy (iptables mode): a pure renderer of Services and EndpointSlices, and an applier per node.

Modules, top to bottom:
    config.py        NodeConfig: node name/IPs, cluster CIDR (local-traffic detector), masquerade, …
    model.py         Service / EndpointSlice dicts -> ServicePort and Endpoint values
    index.py         ServiceIndex: the objects one proxy knows + which services changed
    topology.py      which endpoints a service port uses on this node (ready / terminating / local)
    names.py         KUBE-SVC/SVL/EXT/FW/SEP hashed chain names (cached)
    render.py        -> Ruleset (per service port ServiceRules); render_objects() for plain dicts
    restore.py       Ruleset -> iptables-restore text: full() and kubelab's smaller partial()
    kernel_state.py  what a full sync reads back: existing chains, missing jumps from built-in chains
    conntrack.py     which UDP flows to delete after endpoint changes
    runner.py        Runner interface (restore/save/conntrack_delete), NamespaceRunner, FakeRunner
    proxier.py       KubeProxy: full/partial syncs, min-sync-period loop, SyncFigures
    manifests.py     kubectl-style YAML files -> objects (for `kubelab proxy render`)
"""
