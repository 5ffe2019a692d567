"""A user sends a bad object: they read the API server's own message, and nothing changes."""

import pytest

from controlplane.errors import Invalid


def svc(name="web", **spec):
    spec.setdefault("selector", {"app": "web"})
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def deployment(name="web", selector=None, labels=None, **spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": selector or {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": labels or {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}, **spec}}


def rejection(registry, obj) -> str:
    with pytest.raises(Invalid) as caught:
        registry.create(obj)
    return str(caught.value)


def test_node_port_out_of_range_reads_like_kubectl(registry):
    message = rejection(registry, svc(type="NodePort", ports=[{"port": 80, "nodePort": 80}]))
    assert message == ('The Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not '
                       "in the valid range. The range of valid ports is 30000-32767")


def test_node_port_collision(registry):
    registry.create(svc("a", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    message = rejection(registry, svc("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert message.endswith("spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated")


def test_cluster_ip_outside_range_or_taken(registry):
    message = rejection(registry, svc(clusterIP="10.0.0.5"))
    assert message == ('The Service "web" is invalid: spec.clusterIPs: Invalid value: ["10.0.0.5"]: failed to allocate IP '
                       "10.0.0.5: the provided IP (10.0.0.5) is not in the valid range. The range of valid IPs is 10.96.0.0/16")
    registry.create(svc("dns", clusterIP="10.96.0.10"))
    assert rejection(registry, svc(clusterIP="10.96.0.10")).endswith(
        'failed to allocate IP 10.96.0.10: provided IP is already allocated')


def test_names_must_be_dns_labels(registry):
    message = rejection(registry, svc("Web"))
    assert message == ('The Service "Web" is invalid: metadata.name: Invalid value: "Web": a DNS-1035 label must consist '
                       "of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an "
                       "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
                       "'[a-z]([-a-z0-9]*[a-z0-9])?')")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Pod"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    assert "a lowercase RFC 1123 subdomain must consist of" in rejection(registry, pod)


def test_label_keys_and_values(registry):
    bad = svc(selector={"app": "web"})
    bad["metadata"]["labels"] = {"bad key": "ok", "tier": "-x"}
    causes = [str(c) for c in pytest.raises(Invalid, registry.create, bad).value.causes]
    assert any(c.startswith('metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric') for c in causes)
    assert any(c.startswith('metadata.labels: Invalid value: "-x": a valid label must be an empty string') for c in causes)


def test_selector_must_match_template_labels(registry):
    message = rejection(registry, deployment(labels={"app": "other"}))
    assert message == ('The Deployment "web" is invalid: spec.template.metadata.labels: Invalid value: {"app":"other"}: '
                       "`selector` does not match template `labels`")


def test_ports_ranges_duplicates_and_names(registry):
    causes = pytest.raises(Invalid, registry.create, svc(ports=[{"port": 0}])).value.causes
    assert str(causes[0]) == "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"
    causes = [str(c) for c in pytest.raises(Invalid, registry.create, svc(ports=[{"port": 80}, {"port": 443}])).value.causes]
    assert causes == ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"]
    dup = svc(ports=[{"name": "http", "port": 80}, {"name": "http", "port": 80}])
    causes = [str(c) for c in pytest.raises(Invalid, registry.create, dup).value.causes]
    assert 'spec.ports[1].name: Duplicate value: "http"' in causes
    assert any(c.startswith('spec.ports[1]: Duplicate value: {"Name":"","Protocol":"TCP"') for c in causes)


def test_unknown_type_protocol_and_policies(registry):
    causes = [str(c) for c in pytest.raises(Invalid, registry.create, svc(type="Magic")).value.causes]
    assert 'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' in causes
    causes = [str(c) for c in pytest.raises(Invalid, registry.create, svc(ports=[{"port": 1, "protocol": "ICMP"}])).value.causes]
    assert causes == ['spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"']
    causes = [str(c) for c in pytest.raises(Invalid, registry.create, svc(type="NodePort", externalTrafficPolicy="Nearest")).value.causes]
    assert causes == ['spec.externalTrafficPolicy: Unsupported value: "Nearest": supported values: "Cluster", "Local"']
    causes = [str(c) for c in pytest.raises(Invalid, registry.create, svc(externalTrafficPolicy="Local")).value.causes]
    assert causes == ['spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services']


def test_external_name_needs_external_name(registry):
    message = rejection(registry, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"}, "spec": {"type": "ExternalName"}})
    assert message == 'The Service "ext" is invalid: spec.externalName: Required value'
    ok = registry.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
                          "spec": {"type": "ExternalName", "externalName": "example.com"}})
    assert "clusterIP" not in ok["spec"]


def test_rolling_update_cannot_have_zero_surge_and_zero_unavailable(registry):
    bad = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}})
    assert rejection(registry, bad).endswith("spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0")


def test_several_causes_are_listed_like_kubectl(registry):
    bad = svc("Web", ports=[{"port": 0}])
    error = pytest.raises(Invalid, registry.create, bad).value
    assert str(error).startswith('The Service "Web" is invalid: \n* metadata.name: Invalid value: "Web"')
    status = error.to_status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    # targetPort defaulted from the bad port is reported too, as upstream does.
    assert [c["field"] for c in status["details"]["causes"]] == ["metadata.name", "spec.ports[0].port", "spec.ports[0].targetPort"]
    assert status["details"]["causes"][1]["reason"] == "FieldValueInvalid"


def test_cluster_ip_and_deployment_selector_are_immutable(registry):
    service = registry.create(svc())
    service["spec"]["clusterIP"] = service["spec"]["clusterIPs"][0] = "10.96.0.99"
    error = pytest.raises(Invalid, registry.update, service).value
    assert str(error.causes[0]).endswith(': may not change once set') and error.causes[0].field == "spec.clusterIPs[0]"
    registry.create(deployment())
    changed = registry.get("Deployment", "web")
    changed["spec"]["selector"] = {"matchLabels": {"app": "web2"}}
    changed["spec"]["template"]["metadata"]["labels"] = {"app": "web2"}
    error = pytest.raises(Invalid, registry.update, changed).value
    assert [str(c) for c in error.causes] == ['spec.selector: Invalid value: {"matchLabels":{"app":"web2"}}: field is immutable']


def test_a_bad_object_changes_nothing(registry):
    before_rv = registry.resource_version
    free_ports, free_ips = registry.allocations.ports.free(), registry.allocations.ips.free()
    bad = svc(type="NodePort", clusterIP="10.96.5.5", ports=[{"port": 80, "nodePort": 30500, "protocol": "XTP"}])
    with pytest.raises(Invalid):
        registry.create(bad)
    assert registry.resource_version == before_rv
    assert (registry.allocations.ports.free(), registry.allocations.ips.free()) == (free_ports, free_ips)
    # The same values are still free for a good object.
    bad["spec"]["ports"][0]["protocol"] = "TCP"
    assert registry.create(bad)["spec"]["clusterIP"] == "10.96.5.5"


def test_a_replace_without_cluster_ip_keeps_the_allocated_one(registry, apply):
    first = apply("apiVersion: v1\nkind: Service\nmetadata: {name: np}\nspec: {type: NodePort, selector: {a: b}, ports: [{port: 80}]}")[0]
    again = apply("apiVersion: v1\nkind: Service\nmetadata: {name: np}\nspec: {type: NodePort, selector: {a: c}, ports: [{port: 80}]}")[0]
    assert again["spec"]["clusterIP"] == first["spec"]["clusterIP"]
    assert again["spec"]["ports"][0]["nodePort"] == first["spec"]["ports"][0]["nodePort"]
