"""A service's chain path as a Graphviz DOT graph: from the built-in chains, through KUBE-SERVICES /
KUBE-NODEPORTS and the service's own chains, to each endpoint; edges into endpoint chains carry their
share; a traced path (a list of chains) is drawn bold and red. Pure: DOT text out."""
from __future__ import annotations

from kubeproxy.explain.parse import Tables
from kubeproxy.explain.service_view import ChainView, view

ENTRY_JUMPS = (("PREROUTING", "KUBE-SERVICES"), ("OUTPUT", "KUBE-SERVICES"), ("KUBE-SERVICES", "KUBE-NODEPORTS"))
HIGHLIGHT = 'color="red", penwidth=2.5, fontcolor="red"'
STYLE = {"PREROUTING": "shape=box, style=rounded", "OUTPUT": "shape=box, style=rounded",
         "KUBE-SERVICES": "shape=box", "KUBE-NODEPORTS": "shape=box"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _kind(chain: str) -> str:
    return chain.split("-")[1] if chain.startswith("KUBE-") else chain


def _edges(views: list[ChainView]) -> list[tuple[str, str, str]]:
    """(from, to, label) for each jump inside the service's nat chains, and each DNAT to an endpoint."""
    edges = []
    for cv in views:
        if cv.table != "nat":
            continue
        for row in cv.rows:
            target = row.rule.target or ""
            if target == "DNAT":
                edges.append((cv.chain, row.rule.arg("--to-destination") or "?", "DNAT"))
            elif target.startswith("KUBE-") and target != "KUBE-MARK-MASQ":
                label = f"{float(row.share) * 100:.4g}%" if row.share is not None else (row.rule.comment or "")
                if any(c.kind == "recent" for c in row.rule.conds):
                    label = "affinity"
                edges.append((cv.chain, target, label))
            elif target == "KUBE-MARK-MASQ":
                edges.append((cv.chain, "KUBE-MARK-MASQ", "masquerade"))
    return edges


def _path_edges(path: list[str]) -> set[tuple[str, str]]:
    return set(zip(path, path[1:]))


def to_dot(tables: Tables, service: str, traced: list[str] | None = None, endpoint: str | None = None) -> str:
    """DOT for `service`'s chains on one node; `traced` (chain names in order) and the `endpoint` it reached
    ("ip:port") are highlighted."""
    views = view(tables, service)
    has_node_port = any(cv.table == "nat" and cv.chain == "KUBE-NODEPORTS" for cv in views)
    entry = [(a, b, "") for a, b in ENTRY_JUMPS if b != "KUBE-NODEPORTS" or has_node_port]
    edges = entry + _edges(views)
    hot = _path_edges(traced or [])
    if endpoint and traced:
        dnat_from = [a for a, b, label in edges if label == "DNAT" and b == endpoint]
        hot |= {(a, endpoint) for a in dnat_from if a in traced}
    used = {n for a, b, _ in edges for n in (a, b)}
    lines = [f"digraph {_quote(service)} {{", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];',
             f"  label={_quote(f'{service}: kube-proxy chains (nat)')}; labelloc=t;"]
    for name in sorted(used):
        style = STYLE.get(name) or ("shape=ellipse, style=filled, fillcolor=lightyellow" if ":" in name
                                    else "shape=box, style=filled, fillcolor=" + _fill(name))
        if name in (traced or []) or name == endpoint:
            style += ", color=red, penwidth=2"
        lines.append(f"  {_quote(name)} [{style}];")
    for a, b, label in edges:
        attrs = [f"label={_quote(label)}"] if label else []
        if (a, b) in hot:
            attrs.append(HIGHLIGHT)
        lines.append(f"  {_quote(a)} -> {_quote(b)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _fill(chain: str) -> str:
    return {"SVC": "lightblue", "SVL": "lightblue", "EXT": "palegreen", "FW": "pink", "SEP": "lavender"}.get(
        _kind(chain), "white")
