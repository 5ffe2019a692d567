"""The store: durable, versioned, optimistic, watchable."""

import asyncio
import threading

import pytest

from controlplane.errors import AlreadyExists, Conflict, Gone, NotFound
from controlplane.registry import Registry
from controlplane.store import Store
from controlplane.watch import aiter_events


def pod(name, labels=None, node=None, namespace="default"):
    spec = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "spec": spec}


def test_resource_versions_increase_with_every_write(registry):
    a = registry.create(pod("a"))
    b = registry.create(pod("b"))
    a["metadata"]["labels"] = {"x": "y"}
    a2 = registry.update(a)
    rvs = [int(o["metadata"]["resourceVersion"]) for o in (a, b, a2)]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3


def test_create_get_update_delete_and_their_errors(registry):
    registry.create(pod("a"))
    with pytest.raises(AlreadyExists, match='pods "a" already exists'):
        registry.create(pod("a"))
    with pytest.raises(NotFound) as missing:
        registry.get("Pod", "nope")
    assert missing.value.code == 404 and str(missing.value) == 'pods "nope" not found'
    with pytest.raises(NotFound, match='deployments.apps "d" not found'):
        registry.get("Deployment", "d")
    registry.delete("Pod", "a")
    with pytest.raises(NotFound):
        registry.get("Pod", "a")


def test_stale_resource_version_is_a_conflict(registry):
    stale = registry.create(pod("a"))
    fresh = registry.get("Pod", "a")
    fresh["metadata"]["labels"] = {"v": "1"}
    registry.update(fresh)
    stale["metadata"]["labels"] = {"v": "2"}
    with pytest.raises(Conflict) as conflict:
        registry.update(stale)
    assert conflict.value.code == 409
    assert "the object has been modified; please apply your changes to the latest version" in str(conflict.value)


def test_list_by_namespace_labels_and_fields(registry):
    registry.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}})
    registry.create(pod("web-1", {"app": "web", "tier": "fe"}, node="n1"))
    registry.create(pod("web-2", {"app": "web", "tier": "db", "legacy": "1"}, node="n2"))
    registry.create(pod("api", {"app": "api", "env": "b"}, namespace="prod"))
    names = lambda listing: [o["metadata"]["name"] for o in listing]
    assert names(registry.list("Pod", "prod")) == ["api"]
    assert names(registry.list("Pod")) == ["web-1", "web-2", "api"]
    assert names(registry.list("Pod", label_selector="app=web,tier!=db")) == ["web-1"]
    assert names(registry.list("Pod", label_selector="env in (a,b)")) == ["api"]
    assert names(registry.list("Pod", label_selector="app,!legacy")) == ["web-1", "api"]
    assert names(registry.list("Pod", field_selector="spec.nodeName=n2")) == ["web-2"]
    assert names(registry.list("Pod", field_selector="metadata.name=api")) == ["api"]
    listing = registry.list("Pod")
    assert listing.resource_version == registry.resource_version


def test_watch_delivers_every_change_in_order(registry):
    watch = registry.watch(kinds=["Pod"])
    registry.create(pod("a"))
    registry.create(pod("b"))
    a = registry.get("Pod", "a")
    a["metadata"]["labels"] = {"x": "1"}
    registry.update(a)
    registry.delete("Pod", "b")
    events = watch.poll()
    assert [(e.type, e.name) for e in events] == [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert [e.resource_version for e in events] == sorted(e.resource_version for e in events)
    assert events[2].object["metadata"]["labels"] == {"x": "1"}
    assert watch.poll() == []


def test_watch_from_an_old_version_replays_and_a_compacted_one_is_gone(clock):
    registry = Registry(Store(history=5), clock=clock)
    start = registry.resource_version
    for i in range(3):
        registry.create(pod(f"p{i}"))
    assert [e.name for e in registry.watch(start, kinds=["Pod"]).poll()] == ["p0", "p1", "p2"]
    for i in range(3, 10):
        registry.create(pod(f"p{i}"))
    with pytest.raises(Gone) as gone:
        registry.watch(start)
    assert gone.value.code == 410 and "too old resource version" in str(gone.value)


def test_watch_filters_by_namespace_and_labels(registry):
    registry.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    watch = registry.watch(kinds=["Pod"], namespace="default", label_selector="app=web")
    registry.create(pod("a", {"app": "web"}))
    registry.create(pod("b", {"app": "db"}))
    registry.create(pod("c", {"app": "web"}, namespace="other"))
    assert [e.name for e in watch.poll()] == ["a"]


def test_a_blocked_watcher_wakes_on_a_write_from_another_thread(registry):
    watch = registry.watch(kinds=["Pod"])
    writer = threading.Timer(0.05, lambda: registry.create(pod("late")))
    writer.start()
    events = watch.poll(timeout=5)
    writer.join()
    assert [e.name for e in events] == ["late"]


def test_asyncio_consumers_get_events_without_blocking_the_loop(registry):
    async def consume():
        watch = registry.watch(kinds=["Pod"])
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, lambda: threading.Thread(target=registry.create, args=(pod("x"),)).start())
        stream = aiter_events(watch)
        event = await asyncio.wait_for(stream.__anext__(), 5)
        await stream.aclose()
        return event

    event = asyncio.run(consume())
    assert (event.type, event.name) == ("ADDED", "x")
    assert event.to_json()["object"]["metadata"]["name"] == "x"


def test_everything_survives_a_restart(tmp_path, clock):
    path = str(tmp_path / "state.db")
    registry = Registry(Store(path), clock=clock)
    registry.create(pod("a", {"app": "web"}))
    rv_before = registry.resource_version
    registry.store.close()

    reopened = Registry(Store(path), clock=clock)
    assert reopened.get("Pod", "a")["metadata"]["labels"] == {"app": "web"}
    assert reopened.resource_version == rv_before
    b = reopened.create(pod("b"))
    assert int(b["metadata"]["resourceVersion"]) > rv_before
    # Watching from before the restart still replays what happened.
    assert [e.name for e in reopened.store.events_since(rv_before - 1, kinds=["Pod"])] == ["a", "b"]


def test_a_kind_filtered_watch_never_skips_an_event_written_while_it_scans():
    from controlplane.watch import EventLog, Watch, WatchEvent

    log = EventLog(capacity=100)
    log.append(WatchEvent("ADDED", "Pod", "default", "p", 1, "{}"))
    real_since = log.since

    def since_then_a_writer_appends(rv, kinds=None):
        events = real_since(rv, kinds)
        if not any(e.kind == "Service" for e in real_since(0)):
            # Another thread's write lands right after this scan, before the watch moves its cursor.
            log.append(WatchEvent("ADDED", "Service", "default", "web", 2, "{}"))
        return events

    log.since = since_then_a_writer_appends
    watch = Watch(log, 0, kinds=["Service"])
    assert watch.poll() == []
    assert [e.name for e in watch.poll()] == ["web"]


def test_a_watcher_polling_while_a_write_is_under_way_still_gets_its_event():
    store = Store(None)
    watch = store.watch(store.resource_version, kinds=["Pod"])
    real_record = store._record

    def record_after_a_poll(event):
        assert watch.poll() == []  # another thread polls after the resourceVersion is taken, before the event lands
        real_record(event)

    store._record = record_after_a_poll
    store.create(pod("p"))
    assert [e.name for e in watch.poll()] == ["p"]
