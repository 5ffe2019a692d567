"""The daemon's threads: loops woken by the store's watch and a tick, and loops that survive their errors."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from controlplane.registry import Registry

log = logging.getLogger("kubelab.daemon")
KUBELET_TICK = 0.25


def resilient(name: str, run: Callable[[threading.Event], None], stop: threading.Event) -> threading.Thread:
    """A thread running `run(stop)` that outlives its exceptions: one bad sync must not stop a loop for good."""

    def guarded() -> None:
        while not stop.is_set():
            try:
                run(stop)
            except Exception:
                log.exception("%s failed; carrying on", name)
                stop.wait(0.5)

    return threading.Thread(target=guarded, name=name, daemon=True)


class Loop(threading.Thread):
    """Call `step` whenever the store changes, and at least every `tick` seconds, until stopped."""

    def __init__(self, name: str, step: Callable[[], None], registry: Registry, stop: threading.Event,
                 tick: float = KUBELET_TICK):
        super().__init__(name=name, daemon=True)
        self.step, self.registry, self.stop, self.tick = step, registry, stop, tick

    def run(self) -> None:
        while not self.stop.is_set():
            seen = self.registry.resource_version
            try:
                self.step()
            except Exception:  # a bad object must not kill the node's loop
                log.exception("%s: sync failed", self.name)
            self.registry.store.log.wait_for(seen, self.tick)
