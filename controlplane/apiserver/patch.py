"""The three PATCH kinds: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch.

Strategic merge patch is the Kubernetes flavour of merge patch that kubectl apply/edit/set/label send: lists
with a merge key (containers by name, container ports by containerPort, service ports by port, ...) are merged
item by item instead of replaced, and the directives `$patch` (replace/delete/merge), `$retainKeys`,
`$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured. The merge keys come from
upstream's struct tags (`patchMergeKey`), looked up by the list's field name and, where the same name means
different things, by its parent field.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from controlplane.errors import BadRequest

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)

# field name -> merge key, from upstream's `patchStrategy:"merge" patchMergeKey:"..."` struct tags.
_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "imagePullSecrets": "name",
    "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip", "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name", "addresses": "type",
}
# `ports` is merged by containerPort inside a container and by port in a Service spec; elsewhere
# (EndpointSlice, Endpoints subsets) it is atomic.
_PORT_KEYS = {"containers": "containerPort", "initContainers": "containerPort", "ephemeralContainers": "containerPort",
              "ServiceSpec": "port"}
# Lists of strings merged as sets (`patchStrategy:"merge"` on a []string).
_PRIMITIVE_MERGE = {"finalizers"}


def apply_patch(content_type: str, original: dict, patch_body: bytes) -> dict:
    media = content_type.split(";")[0].strip().lower()
    try:
        patch = json.loads(patch_body or b"null")
    except ValueError as exc:
        raise BadRequest(f"error decoding patch: {exc}") from None
    if media == JSON_PATCH:
        return json_patch(original, patch)
    if not isinstance(patch, dict):
        raise BadRequest("a merge patch must be a JSON object")
    if media == MERGE_PATCH:
        return merge_patch(original, patch)
    if media == STRATEGIC_MERGE_PATCH:
        return strategic_merge_patch(original, patch, kind=original.get("kind", ""))
    raise BadRequest(f"unsupported patch type {content_type!r}")


# ---------------------------------------------------------------------------------------------- RFC 7386


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------------------------------------- RFC 6902


def json_patch(document: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise BadRequest("a JSON patch must be a list of operations")
    document = copy.deepcopy(document)
    for op in operations:
        document = _json_patch_op(document, op)
    return document


def _json_patch_op(doc: Any, op: dict) -> Any:
    kind, path = op.get("op"), op.get("path", "")
    if kind == "add":
        return _put(doc, path, copy.deepcopy(op["value"]), insert=True)
    if kind == "replace":
        _get(doc, path)
        return _put(doc, path, copy.deepcopy(op["value"]), insert=False)
    if kind == "remove":
        return _remove(doc, path)[0]
    if kind in ("move", "copy"):
        value = _get(doc, op["from"])
        if kind == "move":
            doc = _remove(doc, op["from"])[0]
        return _put(doc, path, copy.deepcopy(value), insert=True)
    if kind == "test":
        if _get(doc, path) != op.get("value"):
            raise BadRequest(f"testing value {path} failed")
        return doc
    raise BadRequest(f"unexpected JSON patch operation {kind!r}")


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise BadRequest(f"JSON pointer {path!r} must start with /")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _get(doc: Any, path: str) -> Any:
    for part in _pointer(path):
        doc = _child(doc, part, path)
    return doc


def _child(doc: Any, part: str, path: str) -> Any:
    try:
        return doc[_index(doc, part)] if isinstance(doc, list) else doc[part]
    except (KeyError, IndexError, TypeError):
        raise BadRequest(f"JSON patch: path {path!r} does not exist") from None


def _index(doc: list, part: str, allow_end: bool = False) -> int:
    if part == "-" and allow_end:
        return len(doc)
    if not part.isdigit() or int(part) > len(doc) - (0 if allow_end else 1):
        raise BadRequest(f"JSON patch: index {part!r} out of range")
    return int(part)


def _put(doc: Any, path: str, value: Any, insert: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _get(doc, "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts[:-1]))
    last = parts[-1]
    if isinstance(parent, list):
        index = _index(parent, last, allow_end=insert)
        if insert:
            parent.insert(index, value)
        else:
            parent[index] = value
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise BadRequest(f"JSON patch: cannot set {path!r} inside a {type(parent).__name__}")
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    parts = _pointer(path)
    if not parts:
        raise BadRequest("JSON patch: cannot remove the whole document")
    parent = _get(doc, "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts[:-1]))
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, parts[-1]))
    if isinstance(parent, dict) and parts[-1] in parent:
        return doc, parent.pop(parts[-1])
    raise BadRequest(f"JSON patch: path {path!r} does not exist")


# ---------------------------------------------------------------------------------------------- strategic


def strategic_merge_patch(original: dict, patch: dict, kind: str = "") -> dict:
    return _merge_map(copy.deepcopy(original), patch, parent=f"{kind}Root")


def _merge_map(original: dict, patch: dict, parent: str) -> dict:
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            original.pop(key, None)
            continue
        original[key] = _merge_value(original.get(key), value, key, parent)
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.partition("/")[2]
            original[field] = [item for item in original.get(field) or [] if item not in value]
        elif key.startswith("$setElementOrder/"):
            field = key.partition("/")[2]
            if isinstance(original.get(field), list):
                original[field] = _ordered(original[field], value, merge_key(field, parent))
    if isinstance(retain, list):
        original = {k: v for k, v in original.items() if k in retain}
    return original


def _context(parent: str, key: str) -> str:
    """The parent name a nested field's merge key depends on (a Service's spec is `ServiceSpec`)."""
    if key == "spec" and parent == "ServiceRoot":
        return "ServiceSpec"
    return key


def _merge_value(current: Any, value: Any, key: str, parent: str) -> Any:
    """Merge one field of a map whose context is `parent`; a list's merge key depends on that parent."""
    if isinstance(value, dict):
        return _merge_map(current if isinstance(current, dict) else {}, value, _context(parent, key))
    if isinstance(value, list):
        return _merge_list(current if isinstance(current, list) else [], value, key, parent)
    return copy.deepcopy(value)


def merge_key(field: str, parent: str) -> str | None:
    if field == "ports":
        return _PORT_KEYS.get(parent)
    return _MERGE_KEYS.get(field)


def _merge_list(current: list, patch: list, field: str, parent: str) -> list:
    if field in _PRIMITIVE_MERGE:
        return current + [item for item in patch if item not in current]
    key = merge_key(field, parent)
    if key is None or not all(isinstance(item, dict) for item in patch):
        return [item for item in copy.deepcopy(patch) if not (isinstance(item, dict) and item.get("$patch"))]
    if any(item.get("$patch") == "replace" for item in patch):
        return [_strip(item) for item in patch if item.get("$patch") != "replace"]
    merged = list(current)
    for item in patch:
        position = _find(merged, key, item.get(key))
        if item.get("$patch") == "delete":
            if position is not None:
                merged.pop(position)
        elif position is None:
            merged.append(_strip(item))
        else:
            merged[position] = _merge_map(merged[position], item, field)
    return merged


def _find(items: list, key: str, value: Any) -> int | None:
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get(key) == value:
            return index
    return None


def _strip(item: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("$")}


def _ordered(items: list, order: list, key: str | None) -> list:
    """$setElementOrder: items named in the order list come first, in that order; the rest keep theirs."""
    if key is None:
        return items
    wanted = [entry.get(key) if isinstance(entry, dict) else entry for entry in order]
    ranked = {value: rank for rank, value in enumerate(wanted)}
    named = sorted((i for i in items if isinstance(i, dict) and i.get(key) in ranked), key=lambda i: ranked[i[key]])
    rest = [i for i in items if not (isinstance(i, dict) and i.get(key) in ranked)]
    return named + rest
