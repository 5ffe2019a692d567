"""Pod addresses from a node's pod CIDR.

Like the host-local CNI plugin: hand out the next free address after the last one handed out, so a
released address is not reused until the range wraps (a stale conntrack entry or ARP cache then never
points a new pod's traffic at an old pod's flow). The state is a small JSON file, rewritten atomically on
every change, so nothing is handed out twice across a restart.
"""
from __future__ import annotations

import fcntl
import json
import os

from netaddr import IPAddress, IPNetwork


class RangeFull(RuntimeError):
    pass


class PodAddresses:
    """Allocation state for one pod CIDR; `.first + 1` is the bridge (gateway) address."""

    def __init__(self, cidr: IPNetwork, allocated: dict[str, str] | None = None, last: str | None = None):
        self.cidr = cidr
        self.allocated: dict[str, str] = dict(allocated or {})  # address -> owner
        self.last = IPAddress(last) if last else IPAddress(cidr.first + 1)

    def _usable(self) -> range:
        # Skip the network address, the gateway (.1) and the broadcast address.
        return range(self.cidr.first + 2, self.cidr.last)

    def allocate(self, owner: str) -> IPAddress:
        for ip, holder in self.allocated.items():
            if holder == owner:
                return IPAddress(ip)  # idempotent: a retried create gets the same address
        usable = self._usable()
        start = int(self.last) + 1
        for offset in range(len(usable)):
            candidate = usable.start + (start - usable.start + offset) % len(usable)
            if str(IPAddress(candidate)) not in self.allocated:
                address = IPAddress(candidate)
                self.allocated[str(address)] = owner
                self.last = address
                return address
        raise RangeFull(f"no free address left in {self.cidr}")

    def release(self, address: IPAddress | str) -> None:
        self.allocated.pop(str(address), None)

    def owner_of(self, address: IPAddress | str) -> str | None:
        return self.allocated.get(str(address))

    def to_dict(self) -> dict:
        return {"cidr": str(self.cidr), "last": str(self.last), "allocated": self.allocated}


class AddressBook:
    """PodAddresses persisted in a file; use as `with book as addresses:` to load, change and save."""

    def __init__(self, path: str, cidr: IPNetwork):
        self.path = path
        self.cidr = cidr
        self._state: PodAddresses | None = None

    def load(self) -> PodAddresses:
        try:
            with open(self.path) as f:
                d = json.load(f)
        except FileNotFoundError:
            return PodAddresses(self.cidr)
        return PodAddresses(IPNetwork(d["cidr"]), d["allocated"], d["last"])

    def save(self, state: PodAddresses) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state.to_dict(), f)
        os.replace(tmp, self.path)

    def __enter__(self) -> PodAddresses:
        # Kubelets of several nodes (threads) and other processes may change books in one directory: hold an
        # exclusive lock on the directory from load to save, so no change is lost and no temp file is shared.
        self._lock_fd = os.open(os.path.dirname(self.path) or ".", os.O_RDONLY)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._state = self.load()
        return self._state

    def __exit__(self, exc_type, *_) -> None:
        try:
            if exc_type is None and self._state is not None:
                self.save(self._state)
        finally:
            self._state = None
            os.close(self._lock_fd)
