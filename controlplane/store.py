"""A durable object store: SQLite (stdlib) on disk, every current object also held in memory for reads.

It knows nothing of defaulting, validation or allocation (the registry does that): it stores objects by
(kind, namespace, name), stamps a monotonically increasing resourceVersion, refuses stale writes
(Conflict), and records every change in the watch log, persisted so a restarted store still serves watches.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from controlplane.errors import AlreadyExists, BadRequest, Conflict, NotFound
from controlplane.objects import kind_info
from controlplane.selectors import FieldSelector, Selector
from controlplane.watch import ADDED, DELETED, MODIFIED, EventLog, Watch, WatchEvent

Key = tuple[str, str, str]  # kind, namespace, name

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name));
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, type TEXT NOT NULL, kind TEXT NOT NULL,
    namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass
class _Entry:
    rv: int
    body: str
    labels: dict
    uid: str
    node_name: str
    owner_uids: tuple[str, ...]


@dataclass
class Listing:
    """A list answer: the items and the resourceVersion to start a watch from."""

    items: list[dict]
    resource_version: int

    def __iter__(self) -> Iterator[dict]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class _Pending:
    events: list[WatchEvent] = field(default_factory=list)
    depth: int = 0


def _encode(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _entry(rv: int, obj: dict, body: str) -> _Entry:
    metadata = obj.get("metadata") or {}
    return _Entry(
        rv=rv,
        body=body,
        labels=dict(metadata.get("labels") or {}),
        uid=metadata.get("uid", ""),
        node_name=(obj.get("spec") or {}).get("nodeName", "") if obj.get("kind") == "Pod" else "",
        owner_uids=tuple(ref.get("uid", "") for ref in metadata.get("ownerReferences") or []),
    )


class Store:
    """Open with a file path for a durable store, or None / ":memory:" for a throwaway one (tests)."""

    def __init__(self, path: str | None = None, *, history: int = 200_000, fsync: bool = False):
        self.path = path or ":memory:"
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL survives a crash of this process; FULL also survives power loss, at an fsync per write.
            self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        self._objects: dict[str, dict[tuple[str, str], _Entry]] = {}
        self._dependents: dict[str, set[Key]] = {}
        self._pending = _Pending()
        self._history = history
        latest = self._load_objects()
        self._last_rv = latest  # the last resourceVersion handed out (guarded by self._lock)
        self.log = EventLog(history, latest, self._load_events(history))

    # ------------------------------------------------------------------------------------------ loading

    def _load_objects(self) -> int:
        for kind, namespace, name, rv, body in self._db.execute("SELECT kind, namespace, name, rv, body FROM objects"):
            self._index((kind, namespace, name), _entry(rv, json.loads(body), body))
        row = self._db.execute("SELECT value FROM counters WHERE name='rv'").fetchone()
        return row[0] if row else 0

    def _load_events(self, history: int) -> list[WatchEvent]:
        rows = self._db.execute(
            "SELECT rv, type, kind, namespace, name, body FROM events ORDER BY rv DESC LIMIT ?", (history,)
        ).fetchall()
        return [WatchEvent(t, k, ns, n, rv, body) for rv, t, k, ns, n, body in reversed(rows)]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------------------------------ reads

    @property
    def resource_version(self) -> int:
        return self.log.latest_rv

    def get(self, kind: str, namespace: str, name: str) -> dict:
        with self._lock:
            entry = self._objects.get(kind, {}).get((namespace, name))
            if entry is None:
                info = kind_info(kind)
                raise NotFound(info.resource, name, info.group)
            return json.loads(entry.body)

    def exists(self, kind: str, namespace: str, name: str) -> bool:
        with self._lock:
            return (namespace, name) in self._objects.get(kind, {})

    def list(self, kind: str, namespace: str | None = None, label_selector: Selector | None = None,
             field_selector: FieldSelector | None = None) -> Listing:
        """Objects of a kind, optionally in one namespace, sorted by namespace then name."""
        with self._lock:
            node_name = field_selector.wanted("spec.nodeName") if field_selector else None
            bodies = [
                entry.body
                for (ns, _name), entry in sorted(self._objects.get(kind, {}).items())
                if (namespace is None or ns == namespace)
                and (label_selector is None or label_selector.matches(entry.labels))
                and (node_name is None or entry.node_name == node_name)
            ]
            rv = self.log.latest_rv
        items = [json.loads(body) for body in bodies]
        if field_selector is not None:
            items = [obj for obj in items if field_selector.matches(obj)]
        return Listing(items, rv)

    def dependents(self, owner_uid: str) -> list[Key]:
        """Keys of objects whose ownerReferences name this uid (for garbage collection)."""
        with self._lock:
            return sorted(self._dependents.get(owner_uid, ()))

    def namespace_keys(self, namespace: str) -> list[Key]:
        with self._lock:
            return [(kind, ns, name) for kind, objs in self._objects.items() for (ns, name) in objs if ns == namespace]

    # ------------------------------------------------------------------------------------------ writes

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes into one SQLite transaction; watchers are woken once, at the end.

        Memory is updated write by write, so the transaction commits even when the block raises part-way:
        disk and memory never disagree.
        """
        wake = False
        with self._lock:
            if self._pending.depth == 0:
                self._db.execute("BEGIN")
            self._pending.depth += 1
            try:
                yield
            finally:
                self._pending.depth -= 1
                if self._pending.depth == 0:
                    self._db.execute("COMMIT")
                    wake = bool(self._pending.events)
                    self._pending.events = []
        if wake:
            self.log.notify()

    def create(self, obj: dict) -> dict:
        kind, namespace, name = self._key_of(obj)
        with self.batch():
            if self.exists(kind, namespace, name):
                info = kind_info(kind)
                raise AlreadyExists(info.resource, name, info.group)
            return self._write(ADDED, (kind, namespace, name), obj)

    def update(self, obj: dict) -> dict:
        """Replace an object. A resourceVersion in obj must equal the stored one (optimistic concurrency)."""
        key = self._key_of(obj)
        with self.batch():
            current = self._require(key)
            sent_rv = (obj.get("metadata") or {}).get("resourceVersion")
            if sent_rv not in (None, "") and str(sent_rv) != str(current.rv):
                info = kind_info(key[0])
                raise Conflict(info.resource, key[2], info.group)
            if _same_content(obj, current):
                return json.loads(current.body)
            return self._write(MODIFIED, key, obj)

    def delete(self, kind: str, namespace: str, name: str, *, resource_version: str | None = None) -> dict:
        key = (kind, namespace, name)
        with self.batch():
            current = self._require(key)
            if resource_version not in (None, "") and str(resource_version) != str(current.rv):
                info = kind_info(kind)
                raise Conflict(info.resource, name, info.group, why="Precondition failed: resourceVersion mismatch")
            obj = json.loads(current.body)
            rv = self._next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            self._db.execute("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", key)
            self._unindex(key)
            self._record(WatchEvent(DELETED, kind, namespace, name, rv, _encode(obj)))
            return obj

    # ------------------------------------------------------------------------------------------ watch

    def watch(self, resource_version: int | str | None = None, kinds: Iterable[str] | None = None,
              accept: Callable[[WatchEvent], bool] | None = None) -> Watch:
        """Events after resource_version (default: from now). Raises Gone if that history was compacted."""
        rv = self.log.latest_rv if resource_version in (None, "", "0", 0) else int(resource_version)
        return Watch(self.log, rv, kinds, accept)

    def events_since(self, resource_version: int, kinds: Iterable[str] | None = None) -> list[WatchEvent]:
        return self.log.since(int(resource_version), kinds)

    # ------------------------------------------------------------------------------------------ internals

    @staticmethod
    def _key_of(obj: dict) -> Key:
        metadata = obj.get("metadata") or {}
        if not obj.get("kind") or not metadata.get("name"):
            raise BadRequest("an object needs a kind and metadata.name to be stored")
        return obj["kind"], metadata.get("namespace", "") or "", metadata["name"]

    def _require(self, key: Key) -> _Entry:
        entry = self._objects.get(key[0], {}).get(key[1:])
        if entry is None:
            info = kind_info(key[0])
            raise NotFound(info.resource, key[2], info.group)
        return entry

    def _next_rv(self) -> int:
        # The log's latest_rv moves only when the event itself is appended (_record): a watcher that saw
        # latest_rv ahead of the events it could read would skip the event still on its way.
        rv = self._last_rv = self._last_rv + 1
        self._db.execute("INSERT INTO counters(name, value) VALUES('rv', ?) "
                         "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (rv,))
        return rv

    def _write(self, event_type: str, key: Key, obj: dict) -> dict:
        rv = self._next_rv()
        obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
        body = _encode(obj)
        self._db.execute("INSERT OR REPLACE INTO objects(kind, namespace, name, rv, body) VALUES (?,?,?,?,?)",
                         (*key, rv, body))
        self._unindex(key)
        self._index(key, _entry(rv, obj, body))
        self._record(WatchEvent(event_type, *key, rv, body))
        return json.loads(body)

    def _record(self, event: WatchEvent) -> None:
        self._db.execute("INSERT INTO events(rv, type, kind, namespace, name, body) VALUES (?,?,?,?,?,?)",
                         (event.resource_version, event.type, event.kind, event.namespace, event.name, event.body))
        self.log.append(event)
        self._pending.events.append(event)
        if event.resource_version % 1000 == 0:
            self._db.execute("DELETE FROM events WHERE rv <= ?", (self.log.compacted_rv,))

    def _index(self, key: Key, entry: _Entry) -> None:
        self._objects.setdefault(key[0], {})[key[1:]] = entry
        for uid in entry.owner_uids:
            self._dependents.setdefault(uid, set()).add(key)

    def _unindex(self, key: Key) -> None:
        entry = self._objects.get(key[0], {}).pop(key[1:], None)
        if entry is None:
            return
        for uid in entry.owner_uids:
            owned = self._dependents.get(uid)
            if owned:
                owned.discard(key)
                if not owned:
                    del self._dependents[uid]


def _same_content(obj: dict, current: _Entry) -> bool:
    """An update that changes nothing keeps the old resourceVersion and sends no event (as etcd3 store)."""
    candidate = json.loads(_encode(obj))
    candidate.setdefault("metadata", {})["resourceVersion"] = str(current.rv)
    return _encode(candidate) == current.body
