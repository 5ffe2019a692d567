"""`-o jsonpath=...` and `-o go-template=...`: the subsets tutorials use.

jsonpath: `{.spec.ports[0].nodePort}`, `{.items[*].metadata.name}`, literal text between expressions.
go-template: `{{.spec.clusterIP}}`, `{{(index .spec.ports 0).nodePort}}`, `{{range .items}}...{{end}}`,
string literals such as `{{"\\n"}}`. Anything else is refused with a clear message, never guessed.
"""

from __future__ import annotations

import json
import re
from typing import Any


class TemplateError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------- jsonpath

_JSONPATH_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\*|-?\d+)\]")


def jsonpath(template: str, obj: Any) -> str:
    out, position = [], 0
    for match in re.finditer(r"\{([^{}]*)\}", template):
        out.append(template[position:match.start()])
        values = _jsonpath_values(match.group(1).strip(), obj)
        out.append(" ".join(_text(v) for v in values))
        position = match.end()
    out.append(template[position:])
    return "".join(out)


def _jsonpath_values(expression: str, obj: Any) -> list:
    if expression in ("", "."):
        return [obj]
    if expression.startswith("$"):
        expression = expression[1:]
    values, position = [obj], 0
    for step in _JSONPATH_STEP.finditer(expression):
        if step.start() != position:
            raise TemplateError(f"unsupported jsonpath expression {expression!r}")
        values = [v for value in values for v in _step(value, step.group(1), step.group(2))]
        position = step.end()
    if position != len(expression):
        raise TemplateError(f"unsupported jsonpath expression {expression!r}")
    return values


def _step(value: Any, field: str | None, index: str | None) -> list:
    if field is not None:
        return [value[field]] if isinstance(value, dict) and field in value else []
    if not isinstance(value, list):
        return []
    if index == "*":
        return list(value)
    i = int(index)
    return [value[i]] if -len(value) <= i < len(value) else []


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------------- go-template

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)


def go_template(template: str, obj: Any) -> str:
    tokens = []  # ("text", s) or ("action", s)
    position = 0
    for match in _ACTION.finditer(template):
        tokens.append(("text", template[position:match.start()]))
        tokens.append(("action", match.group(1)))
        position = match.end()
    tokens.append(("text", template[position:]))
    body, rest = _parse_block(tokens, 0)
    if rest != len(tokens):
        raise TemplateError("unexpected {{end}}")
    return _render(body, obj)


def _parse_block(tokens: list, start: int) -> tuple[list, int]:
    nodes, i = [], start
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "action" and text == "end":
            return nodes, i
        if kind == "action" and text.startswith("range "):
            inner, end = _parse_block(tokens, i + 1)
            if end >= len(tokens):
                raise TemplateError("range without {{end}}")
            nodes.append(("range", text[len("range "):], inner))
            i = end + 1
            continue
        nodes.append((kind, text))
        i += 1
    return nodes, i


def _render(nodes: list, dot: Any) -> str:
    out = []
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "range":
            items = _evaluate(node[1], dot)
            for item in (items.values() if isinstance(items, dict) else items or []):
                out.append(_render(node[2], item))
        else:
            value = _evaluate(node[1], dot)
            out.append("<no value>" if value is None else _text(value))
    return "".join(out)


def _evaluate(expression: str, dot: Any) -> Any:
    expression = expression.strip()
    if expression.startswith('"') and expression.endswith('"'):
        return json.loads(expression)
    if expression.startswith("("):
        close = _matching_paren(expression)
        return _fields(_evaluate(expression[1:close], dot), expression[close + 1:])
    if expression.startswith("index "):
        words = expression.split()
        value = _evaluate(words[1], dot)
        for key in words[2:]:
            value = value[int(key)] if isinstance(value, list) else (value or {}).get(json.loads(key))
        return value
    if expression.startswith("."):
        return _fields(dot, expression)
    raise TemplateError(f"unsupported go-template action {{{{{expression}}}}}")


def _fields(value: Any, path: str) -> Any:
    for name in filter(None, path.split(".")):
        value = value.get(name) if isinstance(value, dict) else None
    return value


def _matching_paren(text: str) -> int:
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return i
    raise TemplateError(f"unbalanced parentheses in {text!r}")
