"""-o json, -o yaml and -o name, as kubectl writes them (keys sorted, 4-space JSON, Go-style YAML)."""

from __future__ import annotations

import json

import yaml

from controlplane.apiserver.resources import by_kind


class _GoYamlDumper(yaml.SafeDumper):
    """sigs.k8s.io/yaml's look: double quotes where quoting is needed, no line folding."""

    def choose_scalar_style(self):
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Go's YAML writes multi-line strings (e.g. last-applied-configuration) as literal blocks.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_GoYamlDumper.add_representer(str, _string)


def as_list(objects: list[dict]) -> dict:
    """What kubectl prints for several objects (or a listed collection): a v1 List."""
    return {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}}


def to_json(obj: dict) -> str:
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def to_yaml(obj: dict) -> str:
    return yaml.dump(obj, Dumper=_GoYamlDumper, sort_keys=True, default_flow_style=False, width=float("inf"),
                     allow_unicode=True)


def qualified_kind(kind: str) -> str:
    """`deployment.apps`, `service`: how kubectl names a kind in `kind/name` output."""
    resource = by_kind(kind)
    group = resource.group if resource else ""
    return f"{kind.lower()}.{group}" if group else kind.lower()


def to_name(obj: dict) -> str:
    return f"{qualified_kind(obj.get('kind', ''))}/{obj['metadata']['name']}\n"
