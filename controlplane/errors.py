"""API errors shaped like the API server's: a reason, an HTTP code, a message and a Status body.

Field errors render exactly as apimachinery's `field.Error` does (`<path>: <Type>: <value>: <detail>`),
so `str(Invalid(...))` reads like kubectl's `The Service "web" is invalid: ...`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# apimachinery field.ErrorType -> (cause type sent in Status.details.causes, text in the message)
_FIELD_ERROR_TYPES = {
    "Invalid": ("FieldValueInvalid", "Invalid value"),
    "Required": ("FieldValueRequired", "Required value"),
    "Duplicate": ("FieldValueDuplicate", "Duplicate value"),
    "NotSupported": ("FieldValueNotSupported", "Unsupported value"),
    "Forbidden": ("FieldValueForbidden", "Forbidden"),
    "NotFound": ("FieldValueNotFound", "Not found"),
    "TooLong": ("FieldValueTooLong", "Too long"),
    "TooMany": ("FieldValueTooMany", "Too many"),
}
# These types never print the offending value (field.Error.ErrorBody).
_VALUELESS = {"Required", "Forbidden", "TooLong"}


class GoLiteral(str):
    """A value already rendered the way upstream prints it (e.g. a Go struct's JSON in field order)."""


def go_value(value: Any) -> str:
    """Render a bad value as upstream does: %v for numbers/bools, %q for strings, JSON otherwise."""
    if isinstance(value, GoLiteral):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    # encoding/json sorts map keys and uses no spaces.
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class FieldError:
    """One validation failure at one field path (apimachinery `field.Error`)."""

    type: str  # a key of _FIELD_ERROR_TYPES, e.g. "Invalid"
    field: str  # e.g. "spec.ports[0].nodePort"
    value: Any = None
    detail: str = ""

    @property
    def cause_type(self) -> str:
        return _FIELD_ERROR_TYPES[self.type][0]

    def body(self) -> str:
        label = _FIELD_ERROR_TYPES[self.type][1]
        text = label if self.type in _VALUELESS else f"{label}: {go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError("Invalid", path, value, detail)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError("Required", path, "", detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError("Duplicate", path, value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError("Forbidden", path, "", detail)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(v) for v in supported) if supported else ""
    return FieldError("NotSupported", path, value, detail)


class StatusError(Exception):
    """An error the API server turns into a `Status` object with this reason and HTTP code."""

    reason = "InternalError"
    code = 500

    def __init__(self, message: str, *, kind: str = "", name: str = "", group: str = ""):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.name = name
        self.group = group

    def details(self) -> dict:
        out = {}
        if self.name:
            out["name"] = self.name
        if self.group:
            out["group"] = self.group
        if self.kind:
            out["kind"] = self.kind
        return out

    def to_status(self) -> dict:
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        details = self.details()
        if details:
            status["details"] = details
        return status


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


class NotFound(StatusError):
    reason, code = "NotFound", 404

    def __init__(self, resource: str, name: str, group: str = ""):
        super().__init__(f'{_qualified(resource, group)} "{name}" not found', kind=resource, name=name, group=group)


class AlreadyExists(StatusError):
    reason, code = "AlreadyExists", 409

    def __init__(self, resource: str, name: str, group: str = ""):
        super().__init__(f'{_qualified(resource, group)} "{name}" already exists', kind=resource, name=name, group=group)


class Conflict(StatusError):
    reason, code = "Conflict", 409

    def __init__(self, resource: str, name: str, group: str = "", why: str = ""):
        why = why or "the object has been modified; please apply your changes to the latest version and try again"
        message = f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}'
        super().__init__(message, kind=resource, name=name, group=group)


class BadRequest(StatusError):
    reason, code = "BadRequest", 400


class Gone(StatusError):
    """A watch asked for history that has been compacted away (HTTP 410): relist, then watch again."""

    reason, code = "Expired", 410

    def __init__(self, requested: int, oldest: int):
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class Invalid(StatusError):
    """A rejected object, carrying every cause (apimachinery `errors.NewInvalid`)."""

    reason, code = "Invalid", 422

    def __init__(self, kind: str, name: str, causes: list[FieldError], group: str = ""):
        self.causes = list(causes)
        qualified = f"{kind}.{group}" if group else kind
        if len(self.causes) == 1:
            joined = str(self.causes[0])
        else:
            joined = "[" + ", ".join(str(c) for c in self.causes) + "]"
        super().__init__(f'{qualified} "{name}" is invalid: {joined}', kind=kind, name=name, group=group)

    def details(self) -> dict:
        out = super().details()
        out["causes"] = [{"reason": c.cause_type, "message": c.body(), "field": c.field} for c in self.causes]
        return out

    def __str__(self) -> str:
        # kubectl's rendering (cmdutil.StandardErrorMessage): one cause inline, several as a bullet list.
        head = f'The {self.kind} "{self.name}" is invalid'
        if len(self.causes) == 1:
            return f"{head}: {self.causes[0]}"
        return head + ": \n" + "".join(f"* {c}\n" for c in self.causes)
