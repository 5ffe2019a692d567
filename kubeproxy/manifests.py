"""Reading kubectl-style YAML manifests (files, directories, stdin) into Services and EndpointSlices."""
from __future__ import annotations

import os
import sys
from typing import Iterable, TextIO

import yaml


class ManifestError(ValueError):
    pass


def _documents(stream: TextIO, origin: str) -> Iterable[dict]:
    try:
        for doc in yaml.safe_load_all(stream):
            if not doc:
                continue
            if not isinstance(doc, dict):
                raise ManifestError(f"{origin}: expected a mapping, not {type(doc).__name__}")
            if doc.get("kind", "").endswith("List") and "items" in doc:
                yield from (item for item in doc["items"] or [] if item)
            else:
                yield doc
    except yaml.YAMLError as exc:
        raise ManifestError(f"{origin}: {exc}") from None


def _files(path: str) -> list[str]:
    if os.path.isdir(path):
        return sorted(os.path.join(path, f) for f in os.listdir(path)
                      if f.endswith((".yaml", ".yml", ".json")))
    return [path]


def load(path: str) -> list[dict]:
    """All objects in `path` ("-" = stdin; a directory = its .yaml/.yml/.json files, sorted)."""
    if path == "-":
        return list(_documents(sys.stdin, "stdin"))
    if not os.path.exists(path):
        raise ManifestError(f"{path}: no such file or directory")
    objects = []
    for name in _files(path):
        with open(name) as f:
            objects += _documents(f, name)
    return objects


def split(objects: list[dict]) -> tuple[list[dict], list[dict]]:
    """(Services, EndpointSlices); other kinds are not kube-proxy's business and are skipped."""
    services = [o for o in objects if o.get("kind") == "Service"]
    slices = [o for o in objects if o.get("kind") == "EndpointSlice"]
    return services, slices
