"""ObjectMeta, labels and label-selector validation (apimachinery api/validation and meta/v1/validation)."""

from __future__ import annotations

from typing import Callable

from controlplane.errors import FieldError, forbidden, invalid, required
from controlplane.validation import names

NameCheck = Callable[[str], list[str]]

# Fields ObjectMeta updates may not change (ValidateObjectMetaAccessorUpdate).
_IMMUTABLE_META = ("name", "namespace", "uid", "creationTimestamp")


def object_meta(meta: dict, *, namespaced: bool, name_check: NameCheck, path: str = "metadata") -> list[FieldError]:
    errors: list[FieldError] = []
    name = meta.get("name") or ""
    if not name:
        errors.append(required(f"{path}.name", "name or generateName is required"))
    else:
        errors += [invalid(f"{path}.name", name, m) for m in name_check(name)]
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            errors.append(required(f"{path}.namespace"))
        else:
            errors += [invalid(f"{path}.namespace", namespace, m) for m in names.dns1123_label(namespace)]
    elif namespace:
        errors.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    errors += labels(meta.get("labels"), f"{path}.labels")
    return errors


def object_meta_update(new: dict, old: dict, path: str = "metadata") -> list[FieldError]:
    errors = []
    for field in _IMMUTABLE_META:
        if new.get(field) != old.get(field):
            errors.append(invalid(f"{path}.{field}", new.get(field), "field is immutable"))
    return errors


def labels(value: dict | None, path: str) -> list[FieldError]:
    """ValidateLabels: keys and values are reported at the map's own path, as upstream does."""
    errors: list[FieldError] = []
    for key, label in (value or {}).items():
        errors += [invalid(path, key, m) for m in names.label_key(str(key))]
        if not isinstance(label, str):
            errors.append(invalid(path, label, "label values must be strings"))
            continue
        errors += [invalid(path, label, m) for m in names.label_value(label)]
    return errors


def label_selector(selector: dict | None, path: str) -> list[FieldError]:
    if selector is None:
        return []
    errors = labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expression in enumerate(selector.get("matchExpressions") or []):
        errors += _selector_requirement(expression, f"{path}.matchExpressions[{i}]")
    return errors


def _selector_requirement(expression: dict, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    operator, values = expression.get("operator"), expression.get("values") or []
    if operator in ("In", "NotIn"):
        if not values:
            errors.append(required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errors.append(forbidden(f"{path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    else:
        errors.append(invalid(f"{path}.operator", operator, "not a valid selector operator"))
    key = expression.get("key") or ""
    errors += [invalid(f"{path}.key", key, m) for m in names.label_key(key)]
    for i, value in enumerate(values):
        errors += [invalid(f"{path}.values[{i}]", value, m) for m in names.label_value(value)]
    return errors


def non_negative(value: object, path: str) -> list[FieldError]:
    if isinstance(value, int) and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


def immutable(new: object, old: object, path: str) -> list[FieldError]:
    return [] if new == old else [invalid(path, new, "field is immutable")]
