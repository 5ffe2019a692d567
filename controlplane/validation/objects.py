"""The validation entry point: validate_create / validate_update raise `Invalid` with every cause."""

from __future__ import annotations

from typing import Callable

from controlplane.errors import FieldError, Invalid
from controlplane.objects import kind_info, name_of
from controlplane.validation import apps, core
from controlplane.validation import meta as metav

Check = Callable[[dict], list[FieldError]]
UpdateCheck = Callable[[dict, dict], list[FieldError]]

_CREATE: dict[str, Check] = {
    "Namespace": core.validate_namespace,
    "Node": core.validate_node,
    "Pod": core.validate_pod,
    "ReplicationController": core.validate_replication_controller,
    "Service": core.validate_service,
    "Endpoints": core.validate_endpoints,
    "EndpointSlice": core.validate_endpoint_slice,
    "ReplicaSet": apps.validate_replica_set,
    "Deployment": apps.validate_deployment,
}


def _with_meta_update(extra: UpdateCheck | None = None) -> UpdateCheck:
    def check(new: dict, old: dict) -> list[FieldError]:
        errors = metav.object_meta_update(new.get("metadata") or {}, old.get("metadata") or {})
        if extra:
            errors += extra(new, old)
        return errors + _CREATE[new["kind"]](new)

    return check


_UPDATE: dict[str, UpdateCheck] = {
    "Pod": core.validate_pod_update,
    "Service": core.validate_service_update,
    "ReplicaSet": _with_meta_update(apps.validate_selector_unchanged),
    "Deployment": _with_meta_update(apps.validate_selector_unchanged),
}


def errors_on_create(obj: dict) -> list[FieldError]:
    return _CREATE[obj["kind"]](obj)


def errors_on_update(new: dict, old: dict) -> list[FieldError]:
    return _UPDATE.get(new["kind"], _with_meta_update())(new, old)


def raise_if_invalid(obj: dict, errors: list[FieldError]) -> None:
    if errors:
        info = kind_info(obj["kind"])
        raise Invalid(info.kind, name_of(obj), errors, group=info.group)


def validate_create(obj: dict) -> None:
    raise_if_invalid(obj, errors_on_create(obj))


def validate_update(new: dict, old: dict) -> None:
    raise_if_invalid(new, errors_on_update(new, old))
