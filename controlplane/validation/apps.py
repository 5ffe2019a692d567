"""Validation of apps/v1 kinds (pkg/apis/apps/validation/validation.go), messages as upstream."""

from __future__ import annotations

import re

from controlplane.errors import FieldError, forbidden, invalid, not_supported, required
from controlplane.selectors import Selector
from controlplane.validation import core
from controlplane.validation import meta as metav
from controlplane.validation import names

STRATEGY_TYPES = ["Recreate", "RollingUpdate"]
_PERCENT = re.compile(r"^[0-9]+%$")
_PERCENT_MSG = names.regex_error(
    "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%"
)


def _workload_spec(spec: dict) -> list[FieldError]:
    """What ReplicaSets and Deployments share: a non-empty selector that matches an Always template."""
    errors = metav.non_negative(spec.get("replicas"), "spec.replicas")
    errors += metav.non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    selector = spec.get("selector")
    if selector is None:
        errors.append(required("spec.selector"))
    else:
        errors += metav.label_selector(selector, "spec.selector")
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            errors.append(invalid("spec.selector", selector, "empty selector is invalid for deployment"))
    template = spec.get("template")
    if selector:
        errors += core.template_matches_selector(template, Selector.from_label_selector(selector), "spec.template")
    errors += core.pod_template(template, "spec.template") + core.restart_always(template, "spec.template")
    return errors


def validate_replica_set(rs: dict) -> list[FieldError]:
    meta_errors = metav.object_meta(rs.get("metadata") or {}, namespaced=True, name_check=names.dns1123_subdomain)
    return meta_errors + _workload_spec(rs.get("spec") or {})


def validate_deployment(deployment: dict) -> list[FieldError]:
    spec = deployment.get("spec") or {}
    errors = metav.object_meta(deployment.get("metadata") or {}, namespaced=True, name_check=names.dns1123_subdomain)
    errors += _workload_spec(spec)
    errors += _strategy(spec.get("strategy") or {})
    errors += metav.non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None and deadline <= (spec.get("minReadySeconds") or 0):
        errors.append(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))
    return errors


def _strategy(strategy: dict) -> list[FieldError]:
    kind = strategy.get("type")
    if kind not in STRATEGY_TYPES:
        return [not_supported("spec.strategy.type", kind, STRATEGY_TYPES)]
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")]
        return []
    return _rolling_update(rolling or {}, "spec.strategy.rollingUpdate")


def _rolling_update(rolling: dict, path: str) -> list[FieldError]:
    surge, surge_errors = _int_or_percent(rolling.get("maxSurge"), f"{path}.maxSurge")
    unavailable, errors = _int_or_percent(rolling.get("maxUnavailable"), f"{path}.maxUnavailable")
    errors += surge_errors
    max_unavailable = rolling.get("maxUnavailable")
    if isinstance(max_unavailable, str) and _PERCENT.match(max_unavailable) and unavailable > 100:
        errors.append(invalid(f"{path}.maxUnavailable", max_unavailable, "must not be greater than 100%"))
    if surge == 0 and unavailable == 0 and not errors:
        errors.append(invalid(f"{path}.maxUnavailable", max_unavailable, "may not be 0 when `maxSurge` is 0"))
    return errors


def _int_or_percent(value: object, path: str) -> tuple[int, list[FieldError]]:
    """ValidatePositiveIntOrPercent, returning the number (percent as 0-100) for the cross-field checks."""
    if value is None:
        return 0, []
    if isinstance(value, str):
        if not _PERCENT.match(value):
            return 0, [invalid(path, value, _PERCENT_MSG)]
        number = int(value[:-1])
    else:
        number = value
    return number, metav.non_negative(number, path)


def validate_selector_unchanged(new: dict, old: dict) -> list[FieldError]:
    """apps/v1 selectors are immutable (ValidateDeploymentUpdate / ValidateReplicaSetUpdate)."""
    new_selector = (new.get("spec") or {}).get("selector")
    return metav.immutable(new_selector, (old.get("spec") or {}).get("selector"), "spec.selector")
