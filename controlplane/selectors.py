"""Label selectors (equality- and set-based) and field selectors, as `kubectl -l` / `--field-selector`.

Semantics follow k8s.io/apimachinery/pkg/labels: `!=` and `notin` also match objects that lack the key;
`in`, `=`, `==` require it. A selector from a LabelSelector dict: None selects nothing, {} everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from controlplane.errors import BadRequest
from controlplane.validation.names import label_key, label_value

EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GT, LT = "in", "notin", "exists", "!", "gt", "lt"


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        present = self.key in labels
        if self.operator in (EQUALS, DOUBLE_EQUALS, IN):
            return present and labels[self.key] in self.values
        if self.operator in (NOT_EQUALS, NOT_IN):
            return not present or labels[self.key] not in self.values
        if self.operator == EXISTS:
            return present
        if self.operator == DOES_NOT_EXIST:
            return not present
        return present and _compare_int(labels[self.key], self.operator, self.values[0])

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({','.join(sorted(self.values))})"
        symbol = {GT: ">", LT: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{self.values[0]}"


def _compare_int(have: str, operator: str, want: str) -> bool:
    try:
        left, right = int(have), int(want)
    except ValueError:
        return False
    return left > right if operator == GT else left < right


class Selector:
    """A conjunction of requirements. `Selector([])` selects everything; `Selector.nothing()` nothing."""

    def __init__(self, requirements: Iterable[Requirement] = (), *, matches_nothing: bool = False):
        self.requirements = tuple(sorted(requirements, key=lambda r: r.key))
        self.matches_nothing = matches_nothing

    @classmethod
    def nothing(cls) -> "Selector":
        return cls(matches_nothing=True)

    @classmethod
    def parse(cls, text: str | None) -> "Selector":
        return cls(_Parser(text or "").requirements())

    @classmethod
    def from_set(cls, labels: dict | None) -> "Selector":
        """A Service's or ReplicationController's map selector (labels.SelectorFromSet)."""
        return cls(Requirement(k, EQUALS, (v,)) for k, v in (labels or {}).items())

    @classmethod
    def from_label_selector(cls, selector: dict | None) -> "Selector":
        """metav1.LabelSelectorAsSelector."""
        if selector is None:
            return cls.nothing()
        requirements = [Requirement(k, EQUALS, (v,)) for k, v in (selector.get("matchLabels") or {}).items()]
        for expression in selector.get("matchExpressions") or []:
            requirements.append(_expression_requirement(expression))
        return cls(requirements)

    def matches(self, labels: dict | None) -> bool:
        if self.matches_nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def is_empty(self) -> bool:
        return not self.matches_nothing and not self.requirements

    def equality_pairs(self) -> list[tuple[str, str]]:
        """The key=value pairs every match must carry: lets a cache narrow candidates by index."""
        return [(r.key, r.values[0]) for r in self.requirements if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1]

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"Selector({str(self)!r})"


_EXPRESSION_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def _expression_requirement(expression: dict) -> Requirement:
    operator = _EXPRESSION_OPERATORS.get(expression.get("operator", ""))
    if operator is None:
        raise BadRequest(f"{expression.get('operator')!r} is not a valid label selector operator")
    return Requirement(expression["key"], operator, tuple(expression.get("values") or ()))


# ---------------------------------------------------------------------------------------------- parser

_SPECIAL = set("!=,()<> \t\n")


class _Parser:
    """A small recursive-descent parser for the kubectl label-selector language."""

    def __init__(self, text: str):
        self.tokens = self._lex(text)
        self.pos = 0

    @staticmethod
    def _lex(text: str) -> list[str]:
        tokens, i = [], 0
        while i < len(text):
            char = text[i]
            if char.isspace():
                i += 1
            elif text.startswith(("==", "!="), i):
                tokens.append(text[i : i + 2])
                i += 2
            elif char in "!=,()<>":
                tokens.append(char)
                i += 1
            else:
                start = i
                while i < len(text) and text[i] not in _SPECIAL:
                    i += 1
                tokens.append(text[start:i])
        return tokens

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def fail(self, found: str | None, expected: str) -> BadRequest:
        shown = "end of string" if found is None else found
        return BadRequest(f"unable to parse requirement: found '{shown}', expected: {expected}")

    def requirements(self) -> list[Requirement]:
        result: list[Requirement] = []
        if self.peek() is None:
            return result
        while True:
            result.append(self.requirement())
            token = self.take()
            if token is None:
                return result
            if token != ",":
                raise self.fail(token, "',' or 'end of string'")

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            return Requirement(self.identifier(), DOES_NOT_EXIST)
        key = self.identifier()
        operator = self.peek()
        if operator in (None, ","):
            return Requirement(key, EXISTS)
        self.take()
        if operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
            return Requirement(key, operator, (self.value(),))
        if operator in (">", "<"):
            value = self.value()
            if not value.lstrip("-").isdigit():
                raise BadRequest("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer")
            return Requirement(key, GT if operator == ">" else LT, (value,))
        if operator in (IN, NOT_IN):
            return Requirement(key, operator, self.value_set())
        raise self.fail(operator, "=, !=, ==, >, <, in, notin")

    def identifier(self) -> str:
        token = self.take()
        if token is None or token in "!=,()<>" or token in ("==", "!="):
            raise self.fail(token, "identifier")
        problems = label_key(token)
        if problems:
            raise BadRequest(f"unable to parse requirement: invalid label key \"{token}\": {'; '.join(problems)}")
        return token

    def value(self) -> str:
        token = self.peek()
        if token is None or token in (",", ")"):
            return ""  # `key=` selects an empty value, as upstream
        self.take()
        problems = label_value(token)
        if problems:
            raise BadRequest(f"unable to parse requirement: invalid label value: \"{token}\": {'; '.join(problems)}")
        return token

    def value_set(self) -> tuple[str, ...]:
        token = self.take()
        if token != "(":
            raise self.fail(token, "'('")
        values: list[str] = []
        while True:
            token = self.peek()
            if token == ")":
                self.take()
                return tuple(values)
            if token == ",":
                self.take()
                continue
            if token is None:
                raise self.fail(token, "',' or ')'")
            values.append(self.value())


# ---------------------------------------------------------------------------------------------- fields

# Field selectors each kind supports beyond metadata.name/metadata.namespace (registry/core/pod/strategy.go).
_EXTRA_FIELDS = {
    "Pod": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "status.phase", "status.podIP"),
    "Node": ("spec.unschedulable",),
}


@dataclass(frozen=True)
class FieldRequirement:
    path: str
    value: str
    negated: bool

    def matches(self, obj: dict) -> bool:
        current: object = obj
        for part in self.path.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        text = "" if current is None else str(current).lower() if isinstance(current, bool) else str(current)
        return (text == self.value) != self.negated


class FieldSelector:
    def __init__(self, requirements: Iterable[FieldRequirement] = ()):
        self.requirements = tuple(requirements)

    @classmethod
    def parse(cls, text: str | None, kind: str) -> "FieldSelector":
        requirements = []
        for term in filter(None, (t.strip() for t in (text or "").split(","))):
            requirements.append(_field_requirement(term, kind))
        return cls(requirements)

    def matches(self, obj: dict) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    def wanted(self, path: str) -> str | None:
        """The value an equality term demands for path: lets the store use its indexes."""
        for r in self.requirements:
            if r.path == path and not r.negated:
                return r.value
        return None


def _field_requirement(term: str, kind: str) -> FieldRequirement:
    for operator, negated in (("!=", True), ("==", False), ("=", False)):
        if operator in term:
            path, _, value = term.partition(operator)
            break
    else:
        raise BadRequest(f"invalid selector: '{term}'; can't understand '{term}'")
    path = path.strip()
    supported = ("metadata.name", "metadata.namespace") + _EXTRA_FIELDS.get(kind, ())
    if path not in supported:
        listed = ", ".join(f'"{p}"' for p in supported)
        raise BadRequest(f'"{path}" is not a known field selector: only {listed}')
    return FieldRequirement(path, value.strip(), negated)
