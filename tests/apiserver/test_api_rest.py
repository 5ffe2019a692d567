"""The REST verbs over the real HTTP server: answers and Status errors as a Kubernetes client sees them."""

import asyncio
import json
import os
import stat
import urllib.error
import urllib.request

import pytest

from controlplane.apiserver import make_app, serve
from controlplane.apiserver.resources import by_kind
from kubelab.client import JSON_PATCH, MERGE_PATCH, ApiError, Client
from kubelab.endpoints import ApiAddress
from tests.apiserver.harness import TOKEN

SVC, DEPLOY, POD = by_kind("Service"), by_kind("Deployment"), by_kind("Pod")


def service(name="web", port=80, selector=None, **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"selector": selector or {"app": name}, "ports": [{"port": port}], **spec}}


def deployment(name="web", image="nginx:1", replicas=2):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": image,
                                                           "ports": [{"containerPort": 8080}]}]}}}}


def error_of(call) -> dict:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status


# ---------------------------------------------------------------------------------------------- discovery


def test_discovery_lists_every_resource_with_kubectl_short_names(api):
    core = api.request("GET", "/api/v1")
    names = {r["name"]: r for r in core["resources"]}
    assert names["services"]["shortNames"] == ["svc"] and names["services"]["namespaced"] is True
    assert names["nodes"]["namespaced"] is False
    assert {"pods/log", "pods/status", "replicationcontrollers/scale"} <= set(names)
    apps = api.request("GET", "/apis/apps/v1")
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    groups = [g["name"] for g in api.request("GET", "/apis")["groups"]]
    assert groups == ["apps", "discovery.k8s.io"]
    assert api.request("GET", "/api")["versions"] == ["v1"]
    assert api.request("GET", "/version")["major"] == "1"


def test_an_unknown_path_is_a_404_status(api):
    status = error_of(lambda: api.request("GET", "/api/v1/namespaces/default/widgets"))
    assert (status["code"], status["reason"]) == (404, "NotFound")


# ---------------------------------------------------------------------------------------------- CRUD


def test_create_get_update_delete_round_trip(api):
    created = api.create(SVC, "default", service())
    assert created["spec"]["clusterIP"].startswith("10.96.")
    assert created["spec"]["ports"][0]["targetPort"] == 80  # defaulted by the registry
    fetched = api.get(SVC, "default", "web")
    fetched["metadata"]["labels"]["tier"] = "front"
    updated = api.request("PUT", Client.path(SVC, "default", "web"), body=fetched)
    assert updated["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert api.delete(SVC, "default", "web")["metadata"]["name"] == "web"  # services answer with the object
    status = error_of(lambda: api.get(SVC, "default", "web"))
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": 'services "web" not found', "reason": "NotFound", "code": 404,
                      "details": {"name": "web", "kind": "services"}}


def test_creating_twice_is_already_exists(api):
    api.create(SVC, "default", service())
    status = error_of(lambda: api.create(SVC, "default", service()))
    assert (status["code"], status["reason"], status["message"]) == (409, "AlreadyExists", 'services "web" already exists')


def test_an_update_from_a_stale_resource_version_is_a_conflict(api):
    stale = api.create(DEPLOY, "default", deployment())
    fresh = api.get(DEPLOY, "default", "web")
    fresh["spec"]["replicas"] = 3
    api.request("PUT", Client.path(DEPLOY, "default", "web"), body=fresh)
    stale["spec"]["replicas"] = 5
    status = error_of(lambda: api.request("PUT", Client.path(DEPLOY, "default", "web"), body=stale))
    assert (status["code"], status["reason"]) == (409, "Conflict")
    assert status["message"].startswith('Operation cannot be fulfilled on deployments.apps "web"')
    assert api.get(DEPLOY, "default", "web")["spec"]["replicas"] == 3


def test_an_invalid_manifest_is_422_with_causes_and_changes_nothing(api):
    before = api.list(SVC, "default")["metadata"]["resourceVersion"]
    bad = service(type="NodePort")
    bad["spec"]["ports"][0]["nodePort"] = 80
    status = error_of(lambda: api.create(SVC, "default", bad))
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "spec.ports[0].nodePort",
        "message": "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"}]
    assert error_of(lambda: api.get(SVC, "default", "web"))["code"] == 404
    assert api.list(SVC, "default")["metadata"]["resourceVersion"] == before


def test_an_undecodable_body_is_a_bad_request(cluster):
    request = urllib.request.Request(f"http://127.0.0.1:{cluster.tcp_port}/api/v1/namespaces/default/services",
                                     data=b"{not json", method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    body = json.loads(caught.value.read())
    assert (caught.value.code, body["reason"]) == (400, "BadRequest")


# ---------------------------------------------------------------------------------------------- list


def test_list_filters_by_label_and_field_selector(api):
    for name, tier in (("a", "front"), ("b", "back"), ("c", "front")):
        svc = service(name)
        svc["metadata"]["labels"]["tier"] = tier
        api.create(SVC, "default", svc)
    names = lambda listing: [i["metadata"]["name"] for i in listing["items"]]  # noqa: E731
    assert names(api.list(SVC, "default", "tier=front")) == ["a", "c"]
    assert names(api.list(SVC, "default", "tier in (back),app!=x")) == ["b"]
    assert names(api.list(SVC, "default", None, "metadata.name=c")) == ["c"]
    assert api.list(SVC, None)["kind"] == "ServiceList"


def test_list_pages_with_limit_and_continue(api):
    for name in ("a", "b", "c", "d", "e"):
        api.create(SVC, "default", service(name))
    first = api.request("GET", Client.path(SVC, "default"), {"limit": "2"})
    assert [i["metadata"]["name"] for i in first["items"]] == ["a", "b"]
    assert first["metadata"]["remainingItemCount"] == 4  # c, d, e and the kubernetes service
    second = api.request("GET", Client.path(SVC, "default"), {"limit": "2", "continue": first["metadata"]["continue"]})
    assert [i["metadata"]["name"] for i in second["items"]] == ["c", "d"]
    third = api.request("GET", Client.path(SVC, "default"), {"limit": "2", "continue": second["metadata"]["continue"]})
    assert [i["metadata"]["name"] for i in third["items"]] == ["e", "kubernetes"]
    assert "continue" not in third["metadata"]


# ---------------------------------------------------------------------------------------------- patch


def test_merge_patch_sets_and_removes_fields(api):
    api.create(SVC, "default", service())
    patched = api.patch(SVC, "default", "web", {"metadata": {"labels": {"app": None, "tier": "db"}}}, MERGE_PATCH)
    assert patched["metadata"]["labels"] == {"tier": "db"}


def test_json_patch_replaces_by_pointer(api):
    api.create(SVC, "default", service(type="NodePort"))
    patch = [{"op": "replace", "path": "/spec/ports/0/nodePort", "value": 30080},
             {"op": "add", "path": "/metadata/labels/tier", "value": "front"}]
    patched = api.patch(SVC, "default", "web", patch, JSON_PATCH)
    assert patched["spec"]["ports"][0]["nodePort"] == 30080
    assert patched["metadata"]["labels"]["tier"] == "front"


def test_strategic_merge_patch_merges_containers_by_name_and_ports_by_number(api):
    created = deployment()
    created["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    api.create(DEPLOY, "default", created)
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:2", "ports": [{"containerPort": 9090}]}]}}}}
    patched = api.patch(DEPLOY, "default", "web", patch)
    containers = patched["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("app", "nginx:2"), ("sidecar", "busybox")]
    assert [p["containerPort"] for p in containers[0]["ports"]] == [8080, 9090]


def test_strategic_merge_patch_merges_service_ports_by_port_and_deletes_by_directive(api):
    svc = service()
    svc["spec"]["ports"] = [{"name": "http", "port": 80}, {"name": "https", "port": 443}]
    api.create(SVC, "default", svc)
    patch = {"spec": {"ports": [{"port": 443, "$patch": "delete"}, {"name": "alt", "port": 8080}]}}
    patched = api.patch(SVC, "default", "web", patch)
    assert [(p["name"], p["port"]) for p in patched["spec"]["ports"]] == [("http", 80), ("alt", 8080)]


def test_an_invalid_patch_changes_nothing(api):
    api.create(SVC, "default", service())
    status = error_of(lambda: api.patch(SVC, "default", "web", {"spec": {"type": "Bogus"}}, MERGE_PATCH))
    assert status["code"] == 422
    assert api.get(SVC, "default", "web")["spec"]["type"] == "ClusterIP"


# ---------------------------------------------------------------------------------------------- subresources


def test_scale_subresource_reads_and_writes_replicas(api):
    api.create(DEPLOY, "default", deployment(replicas=2))
    scale = api.request("GET", Client.path(DEPLOY, "default", "web", "scale"))
    assert (scale["kind"], scale["spec"], scale["status"]["selector"]) == ("Scale", {"replicas": 2}, "app=web")
    api.patch(DEPLOY, "default", "web", {"spec": {"replicas": 5}}, MERGE_PATCH, "scale")
    assert api.get(DEPLOY, "default", "web")["spec"]["replicas"] == 5


def test_status_subresource_changes_only_status(api):
    api.create(SVC, "default", service(type="LoadBalancer"))
    current = api.get(SVC, "default", "web")
    current["status"] = {"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}}
    current["spec"]["sessionAffinity"] = "ClientIP"
    api.request("PUT", Client.path(SVC, "default", "web", "status"), body=current)
    stored = api.get(SVC, "default", "web")
    assert stored["status"]["loadBalancer"]["ingress"] == [{"ip": "172.18.255.200"}]
    assert stored["spec"]["sessionAffinity"] == "None"


# ---------------------------------------------------------------------------------------------- delete


def owned_replica_set(api, owner: dict) -> dict:
    rs = deployment("web-1")
    rs["kind"] = "ReplicaSet"
    rs["spec"]["template"]["metadata"]["labels"] = {"app": "web-1"}
    rs["spec"]["selector"] = {"matchLabels": {"app": "web-1"}}
    rs["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                         "uid": owner["metadata"]["uid"], "controller": True}]
    return api.create(by_kind("ReplicaSet"), "default", rs)


@pytest.mark.parametrize("policy, replica_set_left", [("Background", False), ("Orphan", True)])
def test_delete_propagates_to_dependents_by_policy(api, policy, replica_set_left):
    owner = api.create(DEPLOY, "default", deployment())
    owned_replica_set(api, owner)
    api.delete(DEPLOY, "default", "web", propagation_policy=policy)
    left = [rs["metadata"] for rs in api.list(by_kind("ReplicaSet"), "default")["items"]]
    assert bool(left) == replica_set_left
    if replica_set_left:
        assert "ownerReferences" not in left[0] or left[0]["ownerReferences"] == []


def test_deletecollection_deletes_what_the_selector_matches(api):
    for name in ("a", "b", "c"):
        api.create(SVC, "default", service(name))
    deleted = api.request("DELETE", Client.path(SVC, "default"), {"labelSelector": "app in (a,b)"})
    assert [i["metadata"]["name"] for i in deleted["items"]] == ["a", "b"]
    assert [i["metadata"]["name"] for i in api.list(SVC, "default")["items"]] == ["c", "kubernetes"]


# ---------------------------------------------------------------------------------------------- serving


def test_tcp_demands_the_bearer_token(cluster):
    url = f"http://127.0.0.1:{cluster.tcp_port}/api/v1/namespaces"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url)
    assert caught.value.code == 401
    assert json.loads(caught.value.read())["reason"] == "Unauthorized"
    wrong = urllib.request.Request(url, headers={"Authorization": "Bearer nope"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(wrong)
    with_token = Client(ApiAddress(f"http://127.0.0.1:{cluster.tcp_port}", TOKEN))
    assert "default" in [n["metadata"]["name"] for n in with_token.request("GET", "/api/v1/namespaces")["items"]]


def test_the_unix_socket_is_for_its_owner_only(cluster):
    assert stat.S_IMODE(os.stat(cluster.unix_path).st_mode) == 0o600


def test_tcp_without_a_token_is_refused_at_start(cluster):
    with pytest.raises(ValueError, match="bearer token"):
        asyncio.run(serve(make_app(cluster.registry), tcp_port=0))
