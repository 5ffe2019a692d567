"""One kube-proxy for one node: objects in, incremental iptables-restore out.

    proxy = KubeProxy(NodeConfig("node1", ("172.18.0.2",)), NamespaceRunner("kl-demo-node1"))
    proxy.replace(services, slices)      # or set_service / delete_service / set_endpoint_slice / …
    proxy.sync()                         # one sync now; or proxy.run(stop_event) in a thread
    proxy.figures.to_dict()              # what `kubelab` shows

Syncs follow upstream's syncProxyRules: a full sync first, after any failure and every `sync_period`
(default 1h); partial syncs in between write only what changed (see restore.partial, which is smaller
than upstream's); `min_sync_period` batches bursts of updates. What the kernel holds is kept as the
last applied Ruleset, so a partial sync needs no iptables-save.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable

from kubeproxy import conntrack, names, restore
from kubeproxy.config import NodeConfig
from kubeproxy.index import ServiceIndex
from kubeproxy.kernel_state import KernelState, existing_state, foreign, missing_jumps
from kubeproxy.model import Endpoint, PortKey, ServiceName, ServicePort
from kubeproxy.render import (Ruleset, ServiceRules, fixed_rules, is_large_cluster, render, render_service,
                              sort_key)
from kubeproxy.runner import RestoreError, Runner

DEFAULT_SYNC_PERIOD = 3600.0  # upstream --iptables-sync-period default is 30s, FullSyncPeriod 1h
DEFAULT_MIN_SYNC_PERIOD = 1.0  # upstream --iptables-min-sync-period default
# Backends whose full sync replaces nat and filter when kube-proxy owns them (restore.py says why: with
# --noflush iptables-nft-restore is quadratic in chains; iptables-legacy-restore is not).
REPLACING_BACKENDS = ("nft",)


@dataclass
class SyncFigures:
    """Counters and the last sync's figures, as plain data."""

    backend: str = ""
    syncs: int = 0
    full_syncs: int = 0
    partial_syncs: int = 0
    failures: int = 0
    last_kind: str = ""  # "full", "partial" or "none" (nothing changed)
    last_duration: float = 0.0  # seconds, render + restore + conntrack
    last_restore_duration: float = 0.0
    last_render_duration: float = 0.0  # re-rendering changed service ports and assembling the Ruleset
    last_rules_written: int = 0
    last_chains_written: int = 0
    last_chains_deleted: int = 0
    last_conntrack_deletes: int = 0
    # how the last full sync wrote: "replace" (whole nat and filter tables, no --noflush) or "noflush"
    # (upstream's shape), with the reason when replacing was not possible
    last_full_mode: str = ""
    last_error: str | None = None
    last_sync_time: float | None = None  # wall clock (time.time())
    service_ports: int = 0
    endpoints: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class KubeProxy:
    def __init__(self, config: NodeConfig, runner: Runner, sync_period: float = DEFAULT_SYNC_PERIOD,
                 min_sync_period: float = DEFAULT_MIN_SYNC_PERIOD,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time):
        self.config = config
        self.runner = runner
        self.sync_period = sync_period
        self.min_sync_period = min_sync_period
        self._clock, self._wall = clock, wall_clock
        self._index = ServiceIndex(config.node_name)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._rules: dict[PortKey, ServiceRules] = {}
        self._ports: dict[PortKey, ServicePort] = {}
        self._counts: dict[PortKey, int] = {}  # endpoints per port, for large-cluster mode
        self._order: list[PortKey] | None = None  # ports in output order, None when to be sorted
        self._fixed = fixed_rules(config)
        self._endpoints: dict[PortKey, list[Endpoint]] = {}  # as of the last successful sync
        self._ct_pending: dict[PortKey, tuple[ServicePort | None, list[Endpoint]]] = {}
        self._large: bool | None = None
        self._applied: Ruleset | None = None  # what the kernel holds
        self._need_full = True
        self._last_full = float("-inf")
        self._last_sync = float("-inf")
        self.figures = SyncFigures(backend=getattr(runner, "backend", ""))

    # -- inputs (upstream's OnService*/OnEndpointSlice* handlers) ----------------------------------------

    def _update(self, change: Callable[[], None]) -> None:
        with self._lock:
            change()
        self._wake.set()

    def set_service(self, obj: dict) -> None:
        self._update(lambda: self._index.set_service(obj))

    def delete_service(self, obj: dict) -> None:
        self._update(lambda: self._index.delete_service(obj))

    def set_endpoint_slice(self, obj: dict) -> None:
        self._update(lambda: self._index.set_endpoint_slice(obj))

    def delete_endpoint_slice(self, obj: dict) -> None:
        self._update(lambda: self._index.delete_endpoint_slice(obj))

    def replace(self, services: list[dict], slices: list[dict]) -> None:
        self._update(lambda: self._index.replace(services, slices))

    def request_full_sync(self) -> None:
        with self._lock:
            self._need_full = True
        self._wake.set()

    # -- syncing --------------------------------------------------------------------------------------

    def desired(self) -> Ruleset:
        """A fresh full render of everything known now, independent of the incremental state: what the
        kernel must hold after a sync."""
        with self._lock:
            return render(self._index.ports(), self._index.endpoints_map(), self.config)

    def sync(self) -> SyncFigures:
        """Bring the kernel in line with the objects now; partial when possible. Returns the figures."""
        with self._lock:
            start = self._clock()
            changed = self._index.take_changes()
            for key in self._keys_of(changed):  # endpoints before this change, for conntrack cleanup
                self._ct_pending.setdefault(key, (self._ports.get(key), self._endpoints.get(key, [])))
            self._refresh(changed)
            desired = self._ruleset()
            self.figures.last_render_duration = self._clock() - start
            full = self._applied is None or self._need_full or start - self._last_full >= self.sync_period
            kind, written = ("full" if full else "partial"), None
            try:
                written = self._apply(desired, full)
            except (RestoreError, RuntimeError) as exc:
                self._failed(kind, exc)
                if not full:  # a failed partial sync falls back to a full one at once
                    kind = "full"
                    try:
                        written = self._apply(desired, True)
                    except (RestoreError, RuntimeError) as again:
                        self._failed(kind, again)
            if written is not None:
                self._succeeded(desired, written, kind if written.text else "none", start)
                self._clear_conntrack()
            self.figures.last_duration = self._clock() - start
            self._last_sync = start
            return self.figures

    def _keys_of(self, services: set[ServiceName]) -> list[PortKey]:
        keys = [k for k in self._rules if (k[0], k[1]) in services]
        return keys + [p.key for s in services for p in self._index.ports(s) if p.key not in self._rules]

    def _refresh(self, changed: set[ServiceName]) -> None:
        """Re-render the changed services' ports (all ports when large-cluster mode flips).

        Endpoint counts are kept per port and the ports' order is re-sorted only when ports come or
        go: counting and sorting all 10,000 ports cost ~0.1 s per sync, more than the restore of a
        one-endpoint partial sync (~0.3 s) may be allowed to add.
        """
        before = [k for k in self._ports if (k[0], k[1]) in changed]
        for key in before:
            del self._rules[key], self._ports[key], self._counts[key]
        for service in changed:
            for port in self._index.ports(service):
                self._ports[port.key] = port
                self._counts[port.key] = len(self._index.endpoints(port))
        after = [p.key for s in changed for p in self._index.ports(s)]
        if sorted(before) != sorted(after):
            self._order = None  # the order depends on the keys only (sort_key)
        large = is_large_cluster(sum(self._counts.values()))
        if large != self._large:
            self._large = large
            after = list(self._ports)
        for key in after:
            port = self._ports[key]
            self._rules[key] = render_service(port, self._index.endpoints(port), self.config, large)

    def _ruleset(self) -> Ruleset:
        if self._order is None:
            self._order = [p.key for p in sorted(self._ports.values(), key=sort_key)]
        return Ruleset(services={k: self._rules[k] for k in self._order}, **self._fixed)

    def _apply(self, desired: Ruleset, full: bool) -> restore.RestoreText | None:
        if full:
            text = self._full_text(desired)
        else:
            text = restore.partial(self._applied, desired)
            if text is None:
                return restore.RestoreText("", 0, 0, 0)
        t0 = self._clock()
        self.runner.restore(text.text, noflush=text.noflush)
        self.figures.last_restore_duration = self._clock() - t0
        return text

    def _full_text(self, desired: Ruleset) -> restore.RestoreText:
        """Full restore input: everything, minus stale service chains found in the kernel, plus any
        missing jump from a built-in chain (upstream's EnsureChain/EnsureRule loop on full syncs).

        Upstream always writes this for --noflush. With the nft backend, when nat and filter hold
        nothing kube-proxy did not write, the text replaces both tables instead: the same result
        (iptables-save equal, built-in chains' rules and counters kept), without iptables-nft-restore's
        quadratic --noflush cost (figures in restore.py). Anything else in them (a user's rule, another
        tool's chain) and the sync falls back to upstream's shape, which leaves that alone.
        """
        state = existing_state(self.runner)
        jumps = missing_jumps(state, self.config)
        others = self._not_ours(state, desired)
        if not others:
            self.figures.last_full_mode = "replace"
            builtins = {t: (state.builtin_chains.get(t, []), state.builtin_rules.get(t, []))
                        for t in ("filter", "nat")}
            return restore.full(desired, jumps=jumps, builtins=builtins)
        self.figures.last_full_mode = f"noflush ({others[0]})"
        wanted = set(desired.all_nat_chains())
        stale = sorted(c for c in state.nat_chains if names.is_service_chain(c) and c not in wanted)
        return restore.full(desired, stale, jumps)

    def _not_ours(self, state: KernelState, desired: Ruleset) -> list[str]:
        """Why the tables may not be replaced: empty when they may."""
        backend = getattr(self.runner, "backend", "")
        if backend not in REPLACING_BACKENDS:
            return [f"{backend} backend"]
        return (foreign(state, "filter", set(desired.filter_chains))
                + foreign(state, "nat", set(desired.all_nat_chains())))

    def _failed(self, kind: str, exc: Exception) -> None:
        self.figures.failures += 1
        self.figures.last_error = f"{kind} sync failed: {exc}"
        self._need_full = True

    def _succeeded(self, desired: Ruleset, written: restore.RestoreText, kind: str, start: float) -> None:
        self._applied = desired
        self._need_full = False
        if kind == "full":
            self._last_full = start
            self.figures.full_syncs += 1
        elif kind == "partial":
            self.figures.partial_syncs += 1
        self.figures.syncs += 1
        self.figures.last_kind = kind
        self.figures.last_rules_written = written.rules
        self.figures.last_chains_written = written.chains
        self.figures.last_chains_deleted = written.deleted
        self.figures.last_sync_time = self._wall()
        self.figures.service_ports = len(desired.services)
        self.figures.endpoints = sum(self._counts.values())

    def _clear_conntrack(self) -> None:
        """Delete UDP flows to endpoints that went away (and of services that got their first endpoint)."""
        deletes = 0
        for key, (old_port, old) in self._ct_pending.items():
            port = self._ports.get(key)
            new = self._index.endpoints(port) if port else []
            if port:
                self._endpoints[key] = new
            else:
                self._endpoints.pop(key, None)
            for args in conntrack.stale_flows(port or old_port, old, new) if (port or old_port) else []:
                try:
                    self.runner.conntrack_delete(args)
                    deletes += 1
                except RuntimeError as exc:
                    self.figures.last_error = f"conntrack: {exc}"
        self._ct_pending.clear()
        self.figures.last_conntrack_deletes = deletes

    # -- the loop -------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Sync at once, then whenever something changed (at most every `min_sync_period`) and at least
        every `sync_period` (upstream's BoundedFrequencyRunner, without the burst of 2)."""
        self._wake.set()
        while not stop.is_set():
            self._wake.wait(timeout=self._until_due())
            if stop.is_set():
                break
            wait = self._last_sync + self.min_sync_period - self._clock()
            if wait > 0 and stop.wait(wait):
                break
            self._wake.clear()
            self.sync()

    def _until_due(self) -> float:
        return max(0.0, self._last_full + self.sync_period - self._clock()) if self._applied else 0.0
