"""Label selectors as kubectl -l reads them, checked against a reference model with hypothesis."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane.errors import BadRequest
from controlplane.selectors import Selector

LABELS = {"app": "web", "tier": "frontend", "env": "prod"}


@pytest.mark.parametrize("text, expected", [
    ("app=web", True), ("app==web", True), ("app!=web", False), ("app=db", False),
    ("app=web,tier!=db", True), ("env in (a,prod)", True), ("env notin (prod)", False),
    ("legacy", False), ("!legacy", True), ("app", True), ("", True), ("missing!=x", True),
    ("env in (a, b)", False),
])
def test_kubectl_selector_syntax(text, expected):
    assert Selector.parse(text).matches(LABELS) is expected


def test_label_selector_objects_and_their_edge_cases():
    selector = Selector.from_label_selector({"matchLabels": {"app": "web"},
                                             "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]},
                                                                  {"key": "old", "operator": "DoesNotExist"}]})
    assert selector.matches(LABELS)
    assert not Selector.from_label_selector(None).matches(LABELS)  # nil selects nothing
    assert Selector.from_label_selector({}).matches(LABELS)  # empty selects everything


@pytest.mark.parametrize("text", ["app=", "app in (a", "=web", "app in a", "bad key=x"])
def test_malformed_selectors_are_bad_requests(text):
    if text == "app=":
        assert Selector.parse(text).matches({"app": ""})  # an empty value is allowed
        return
    with pytest.raises(BadRequest):
        Selector.parse(text)


keys = st.sampled_from(["app", "tier", "env", "example.com/team"])
values = st.sampled_from(["a", "b", "c", "web"])
label_sets = st.dictionaries(keys, values, max_size=4)


@st.composite
def requirements(draw):
    key = draw(keys)
    op = draw(st.sampled_from(["=", "!=", "in", "notin", "exists", "!"]))
    vals = draw(st.lists(values, min_size=1, max_size=3, unique=True))
    if op in ("=", "!="):
        return f"{key}{op}{vals[0]}", (lambda l, k=key, v=vals[0], o=op: (l.get(k) == v) if o == "=" else (l.get(k) != v))
    if op in ("in", "notin"):
        text = f"{key} {op} ({','.join(vals)})"
        return text, (lambda l, k=key, vs=vals, o=op: (k in l and l[k] in vs) if o == "in" else (l.get(k) not in vs))
    if op == "exists":
        return key, (lambda l, k=key: k in l)
    return f"!{key}", (lambda l, k=key: k not in l)


@given(st.lists(requirements(), min_size=1, max_size=4), label_sets)
def test_parsed_selectors_agree_with_the_reference_semantics(reqs, labels):
    text = ",".join(r[0] for r in reqs)
    assert Selector.parse(text).matches(labels) == all(r[1](labels) for r in reqs)


@given(st.lists(requirements(), min_size=1, max_size=4), label_sets)
def test_printing_a_selector_and_parsing_it_again_selects_the_same(reqs, labels):
    selector = Selector.parse(",".join(r[0] for r in reqs))
    assert Selector.parse(str(selector)).matches(labels) == selector.matches(labels)


@given(label_sets, label_sets)
def test_a_set_selector_matches_exactly_the_supersets(selector_labels, labels):
    expected = all(labels.get(k) == v for k, v in selector_labels.items())
    assert Selector.from_set(selector_labels).matches(labels) == expected
