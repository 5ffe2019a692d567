"""Watch: an ordered, bounded log of ADDED/MODIFIED/DELETED events, with one pull API for every consumer.

Consumers remember the last resourceVersion they saw and pull `since(rv)`. A synchronous caller blocks in
`wait_for(rv)`; an asyncio server registers a thread-safe `subscribe(callback)` hook (or uses
`aiter_events`). Asking for history that was compacted away raises `Gone` (HTTP 410), as etcd's watch does.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Iterable

from controlplane.errors import Gone

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


@dataclass(frozen=True)
class WatchEvent:
    type: str
    kind: str
    namespace: str
    name: str
    resource_version: int
    body: str = field(repr=False)  # the object's JSON; decoded per access so consumers never share a dict

    @property
    def object(self) -> dict:
        return json.loads(self.body)

    def to_json(self) -> dict:
        """The wire form a watch stream sends: {"type": ..., "object": ...}."""
        return {"type": self.type, "object": self.object}


class EventLog:
    """Thread-safe, in-order event history holding at most `capacity` events."""

    def __init__(self, capacity: int, latest_rv: int = 0, history: Iterable[WatchEvent] = ()):
        self.capacity = capacity
        self._events: deque[WatchEvent] = deque(history, maxlen=capacity)
        self._rvs: deque[int] = deque((e.resource_version for e in self._events), maxlen=capacity)
        self.latest_rv = latest_rv
        self._compacted_rv = self._rvs[0] - 1 if self._rvs else latest_rv
        self._changed = threading.Condition()
        self._subscribers: list[Callable[[int], None]] = []

    @property
    def compacted_rv(self) -> int:
        """Events at or below this resourceVersion are no longer available."""
        return self._compacted_rv

    def append(self, event: WatchEvent) -> None:
        with self._changed:
            if len(self._events) == self.capacity:
                self._compacted_rv = self._rvs[0]
            self._events.append(event)
            self._rvs.append(event.resource_version)
            self.latest_rv = event.resource_version

    def notify(self) -> None:
        """Wake waiters and subscribers; called once per committed write, outside the store's lock."""
        with self._changed:
            self._changed.notify_all()
            latest = self.latest_rv
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback(latest)

    def since(self, rv: int, kinds: Iterable[str] | None = None) -> list[WatchEvent]:
        with self._changed:
            if rv < self._compacted_rv:
                raise Gone(rv, self._compacted_rv + 1)
            start = bisect.bisect_right(self._rvs, rv)
            events = [self._events[i] for i in range(start, len(self._events))]
        if kinds is not None:
            wanted = set(kinds)
            events = [e for e in events if e.kind in wanted]
        return events

    def wait_for(self, rv: int, timeout: float | None) -> bool:
        """Block until something newer than rv exists; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self.latest_rv > rv, timeout)

    def subscribe(self, callback: Callable[[int], None]) -> Callable[[], None]:
        """Call `callback(latest_rv)` after each write, from the writing thread. Returns an unsubscribe."""
        with self._changed:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._changed:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe


class Watch:
    """A filtered cursor over the log: what `kubectl get -w` and informers consume."""

    def __init__(self, log: EventLog, rv: int, kinds: Iterable[str] | None = None,
                 accept: Callable[[WatchEvent], bool] | None = None):
        self.log = log
        self.rv = rv
        self.kinds = None if kinds is None else tuple(kinds)
        self.accept = accept
        if rv < log.compacted_rv:
            raise Gone(rv, log.compacted_rv + 1)

    def poll(self, timeout: float = 0.0) -> list[WatchEvent]:
        """New events since the last poll, waiting up to timeout seconds for the first one."""
        if timeout and self.log.latest_rv <= self.rv:
            self.log.wait_for(self.rv, timeout)
        # Read how far the log reached *before* scanning it: an event a writer appends after the scan is
        # newer than this, so skipping ahead to it can never step over an event of a wanted kind.
        scanned = self.log.latest_rv
        events = self.log.since(self.rv, self.kinds)
        if events:
            self.rv = events[-1].resource_version
        else:
            self.rv = max(self.rv, scanned)
        return [e for e in events if self.accept is None or self.accept(e)]


async def aiter_events(watch: Watch) -> AsyncIterator[WatchEvent]:
    """Yield a watch's events inside an asyncio loop without blocking it (for the aiohttp API server)."""
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()
    unsubscribe = watch.log.subscribe(lambda _rv: loop.call_soon_threadsafe(woken.set))
    try:
        while True:
            woken.clear()
            for event in watch.poll():
                yield event
            if watch.log.latest_rv <= watch.rv:
                await woken.wait()
    finally:
        unsubscribe()
