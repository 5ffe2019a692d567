"""Controller machinery: a shared in-memory cache fed by the watch log, work queues, and a manager loop.

Like client-go's informers and workqueues, in one thread: `ControllerManager.step()` pulls new watch events
into the cache, turns each into work keys for the controllers that care, and syncs each queued key once.
Every `sync(key)` reconciles from the cache's current state (level-triggered), so a missed or repeated
event costs nothing. Tests call `run_until_quiet()`; the daemon calls `run(stop)`.
"""

from __future__ import annotations

import heapq
import logging
import threading
from typing import Callable, Iterable

from controlplane.errors import AlreadyExists, Conflict, NotFound
from controlplane.objects import labels_of
from controlplane.selectors import Selector
from controlplane.watch import DELETED, WatchEvent

log = logging.getLogger(__name__)

Key = tuple[str, str]  # namespace, name of a controller's primary object


class Cache:
    """Current objects of the watched kinds, with a label index for selector look-ups.

    Objects handed out are shared: read them, and copy before changing (controllers write via the registry).
    """

    def __init__(self, registry, kinds: Iterable[str]):
        self.registry = registry
        self.kinds = tuple(sorted(set(kinds)))
        self._objects: dict[str, dict[Key, dict]] = {kind: {} for kind in self.kinds}
        self._by_label: dict[str, dict[tuple[str, str], set[Key]]] = {kind: {} for kind in self.kinds}
        self._lock = threading.RLock()
        self.rv = registry.resource_version
        for kind in self.kinds:
            for obj in registry.list(kind).items:
                self._put(kind, obj)
        self._watch = registry.watch(self.rv, kinds=self.kinds)

    def poll(self) -> list[WatchEvent]:
        events = self._watch.poll()
        with self._lock:
            for event in events:
                if event.type == DELETED:
                    self._drop(event.kind, (event.namespace, event.name))
                else:
                    self._put(event.kind, event.object)
            self.rv = self._watch.rv
        return events

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        return self._objects[kind].get((namespace, name))

    def list(self, kind: str, namespace: str | None = None, selector: Selector | None = None) -> list[dict]:
        with self._lock:
            keys = self._candidates(kind, selector)
            objects = self._objects[kind]
            found = [objects[k] for k in keys if namespace is None or k[0] == namespace]
        if selector is not None:
            found = [obj for obj in found if selector.matches(labels_of(obj))]
        return sorted(found, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def _candidates(self, kind: str, selector: Selector | None) -> Iterable[Key]:
        pairs = selector.equality_pairs() if selector is not None else []
        if not pairs:
            return list(self._objects[kind])
        index = self._by_label[kind]
        return set.intersection(*(index.get(pair, set()) for pair in pairs))

    def _put(self, kind: str, obj: dict) -> None:
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        self._drop(kind, key)
        self._objects[kind][key] = obj
        for pair in (meta.get("labels") or {}).items():
            self._by_label[kind].setdefault(pair, set()).add(key)

    def _drop(self, kind: str, key: Key) -> None:
        old = self._objects[kind].pop(key, None)
        if old is None:
            return
        for pair in (old["metadata"].get("labels") or {}).items():
            keys = self._by_label[kind].get(pair)
            if keys:
                keys.discard(key)


class Controller:
    """A reconciler: maps watch events to keys and brings one key's world to its desired state."""

    name = "controller"
    kinds: tuple[str, ...] = ()

    def __init__(self, registry, clock: Callable[[], float] | None = None):
        self.registry = registry
        self.clock = clock or registry.clock
        self.cache: Cache | None = None
        self.manager: ControllerManager | None = None

    def bind(self, manager: "ControllerManager") -> None:
        self.manager = manager
        self.cache = manager.cache

    def initial_keys(self) -> Iterable[Key]:
        return ()

    def keys_for(self, event: WatchEvent) -> Iterable[Key]:
        return ()

    def sync(self, key: Key) -> None:
        raise NotImplementedError

    def requeue_after(self, key: Key, seconds: float) -> None:
        self.manager.enqueue_after(self, key, seconds)


class ControllerManager:
    def __init__(self, registry, controllers: list[Controller]):
        self.registry = registry
        self.controllers = controllers
        kinds = {kind for c in controllers for kind in c.kinds}
        self.cache = Cache(registry, kinds)
        self._queues: dict[str, dict[Key, None]] = {c.name: {} for c in controllers}
        self._delayed: list[tuple[float, int, str, Key]] = []
        self._sequence = 0
        self.syncs = 0
        for controller in controllers:
            controller.bind(self)
            for key in controller.initial_keys():
                self._queues[controller.name][key] = None

    def enqueue(self, controller: Controller, key: Key) -> None:
        self._queues[controller.name][key] = None

    def enqueue_after(self, controller: Controller, key: Key, seconds: float) -> None:
        self._sequence += 1
        heapq.heappush(self._delayed, (self.registry.clock() + seconds, self._sequence, controller.name, key))

    def _pump(self) -> None:
        for event in self.cache.poll():
            for controller in self.controllers:
                if event.kind in controller.kinds:
                    for key in controller.keys_for(event):
                        self._queues[controller.name][key] = None
        now = self.registry.clock()
        while self._delayed and self._delayed[0][0] <= now:
            _due, _seq, name, key = heapq.heappop(self._delayed)
            self._queues[name][key] = None

    def step(self) -> bool:
        """Sync every queued key once (each sync sees the writes of the ones before). True if any ran."""
        self._pump()
        worked = False
        for controller in self.controllers:
            queue = self._queues[controller.name]
            while queue:
                key = next(iter(queue))
                del queue[key]
                self._sync(controller, key)
                self._pump()
                worked = True
        return worked

    def _sync(self, controller: Controller, key: Key) -> None:
        self.syncs += 1
        try:
            controller.sync(key)
        except (Conflict, AlreadyExists, NotFound) as exc:
            # The cache was behind the store: the next event (or this retry) brings the key back.
            log.debug("%s: retrying %s after %s", controller.name, key, exc)
            self.enqueue_after(controller, key, 0)

    def run_until_quiet(self, max_rounds: int = 10_000) -> int:
        """Step until nothing is left to do now; returns the number of rounds. Delayed keys not yet due wait."""
        for rounds in range(1, max_rounds + 1):
            if not self.step():
                return rounds
        raise RuntimeError(f"controllers did not settle within {max_rounds} rounds")

    def run(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        """The daemon loop: work while there is work, otherwise sleep until the store changes."""
        while not stop.is_set():
            if not self.step():
                self.registry.store.log.wait_for(self.cache.rv, idle_wait)
