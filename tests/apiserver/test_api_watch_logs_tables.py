"""Watch streams, pod logs through the runtime's hook, and Table answers with kubectl's columns."""

import itertools

import pytest

from controlplane.apiserver import BackgroundServer, make_app
from controlplane.apiserver.resources import by_kind
from controlplane.registry import Registry
from controlplane.store import Store
from kubelab.client import MERGE_PATCH, ApiError, Client
from kubelab.endpoints import ApiAddress
from tests.apiserver.harness import FakeClock
from tests.apiserver.test_api_rest import SVC, deployment, service

POD = by_kind("Pod")


def test_watch_delivers_every_change_in_order(api):
    start = api.list(SVC, "default")["metadata"]["resourceVersion"]
    api.create(SVC, "default", service("a"))
    api.patch(SVC, "default", "a", {"metadata": {"labels": {"v": "2"}}}, MERGE_PATCH)
    api.create(SVC, "default", service("b"))
    api.delete(SVC, "default", "a")
    events = itertools.islice(api.watch(SVC, "default", start), 4)
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]


def test_watch_without_a_version_starts_with_what_exists(api):
    api.create(SVC, "default", service("a"))
    stream = api.watch(SVC, "default", "", label_selector="app=a")
    assert next(stream)["type"] == "ADDED"
    api.create(SVC, "default", service("b"))  # filtered out by the selector
    api.delete(SVC, "default", "a")
    assert (lambda e: (e["type"], e["object"]["metadata"]["name"]))(next(stream)) == ("DELETED", "a")


def test_a_watch_from_compacted_history_is_410_gone(tmp_path):
    registry = Registry(Store(history=3), clock=FakeClock())
    with BackgroundServer(make_app(registry), unix_path=str(tmp_path / "s.sock"), tcp_host=None) as _server:
        api = Client(ApiAddress(f"unix://{tmp_path / 's.sock'}"))
        for name in "abcdef":
            api.create(SVC, "default", service(name))
        with pytest.raises(ApiError) as caught:
            next(api.watch(SVC, "default", "1"))
        assert (caught.value.code, caught.value.reason) == (410, "Expired")


# ---------------------------------------------------------------------------------------------- logs


def pod(name="p", containers=("app",)):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": c, "image": "nginx"} for c in containers]}}


def test_logs_come_from_the_runtime_hook_with_tail(cluster, api):
    api.create(POD, "default", pod())
    cluster.write_log("default", "p", "app", "one\ntwo\nthree\n")
    assert b"".join(api.logs("default", "p")) == b"one\ntwo\nthree\n"
    assert b"".join(api.logs("default", "p", tail_lines=2)) == b"two\nthree\n"


def test_logs_of_a_multi_container_pod_need_a_container(cluster, api):
    api.create(POD, "default", pod(containers=("app", "sidecar")))
    with pytest.raises(ApiError) as caught:
        list(api.logs("default", "p"))
    assert caught.value.status["message"] == "a container name must be specified for pod p, choose one of: [app sidecar]"
    cluster.write_log("default", "p", "sidecar", "hi\n")
    assert b"".join(api.logs("default", "p", container="sidecar")) == b"hi\n"


def test_logs_before_the_container_starts_say_so(api):
    api.create(POD, "default", pod())
    with pytest.raises(ApiError) as caught:
        list(api.logs("default", "p"))
    assert caught.value.status["message"] == 'container "app" in pod "p" is waiting to start: ContainerCreating'


def test_followed_logs_stream_new_lines_and_end_with_the_pod(cluster, api):
    api.create(POD, "default", pod())
    cluster.write_log("default", "p", "app", "first\n")
    stream = api.logs("default", "p", follow=True)
    assert next(stream) == b"first\n"
    cluster.write_log("default", "p", "app", "second\n")
    assert next(stream) == b"second\n"
    api.delete(POD, "default", "p")
    assert list(stream) == []


# ---------------------------------------------------------------------------------------------- tables


def test_service_table_has_kubectl_columns_and_cells(cluster, api):
    svc = service("web", port=8080, type="NodePort")
    svc["spec"]["ports"][0]["nodePort"] = 30001
    api.create(SVC, "default", svc)
    api.create(SVC, "default", service("lb", type="LoadBalancer"))
    cluster.clock.advance(5 * 86400 + 18 * 3600)
    table = api.table(SVC, "default")
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    rows = {r["cells"][0]: r["cells"] for r in table["rows"]}
    assert rows["web"][1:] == ["NodePort", rows["web"][2], "<none>", "8080:30001/TCP", "5d18h", "app=web"]
    assert rows["lb"][3] == "<pending>" and rows["lb"][4].startswith("80:")
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_endpoints_table_shows_three_and_counts_the_rest(api):
    endpoints = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"}, "subsets": [{
        "addresses": [{"ip": f"10.244.1.{n}"} for n in range(2, 7)], "ports": [{"port": 8080}]}]}
    api.create(by_kind("Endpoints"), "default", endpoints)
    cells = api.table(by_kind("Endpoints"), "default", "web")["rows"][0]["cells"]
    assert cells[1] == "10.244.1.2:8080,10.244.1.3:8080,10.244.1.4:8080 + 2 more..."


def test_deployment_and_pod_tables_after_the_controllers_ran(cluster, api):
    cluster.add_node()
    api.create(by_kind("Deployment"), "default", deployment(replicas=2))
    cluster.settle()
    cluster.clock.advance(63)
    deploy = api.table(by_kind("Deployment"), "default", "web")["rows"][0]["cells"]
    assert deploy == ["web", "2/2", 2, 2, "63s", "app", "nginx:1", "app=web"]
    pods = api.table(POD, "default")["rows"]
    assert [r["cells"][1:5] for r in pods] == [["1/1", "Running", "0", "63s"]] * 2
    assert {r["cells"][6] for r in pods} == {"node-1"}
