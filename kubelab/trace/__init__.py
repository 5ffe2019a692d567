"""`kubelab trace`: one real connection (or one crafted packet) followed through the cluster's namespaces.

Modules:
    targets.py    --from pod/NAME|node/NAME|external -> the client's namespace and address; pod IP -> pod name
    session.py    TRACE rules, xtables-monitor and tcpdump in the namespaces, and their removal (also after a crash)
    client.py     the connection or crafted packet itself, sent from inside the client's namespace
    conntrack.py  conntrack -L in a namespace, parsed into original/reply tuples
    analyze.py    monitor output + captures + conntrack -> Trace (pure)
    report.py     Trace -> text / JSON; the last trace's chain path for `kubelab graph`
    run.py        trace(): the whole sequence
"""
