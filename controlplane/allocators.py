"""ClusterIP and NodePort allocators with the API server's static/dynamic bands.

KEP-3070 (ClusterIPs) and KEP-3668 (NodePorts) split each range in two: a lower "static" band that users
pick values from, and the rest. Dynamic allocation draws at random from the upper band first and only
falls back to the lower band when the upper one is full, so a value a user writes by hand rarely collides
with one handed out automatically. User-chosen values are honoured anywhere in the range.
Band sizes follow pkg/registry/core/service/{ipallocator,portallocator}: min(max(min, size/step), max).
"""

from __future__ import annotations

import random

import netaddr


class AllocationError(Exception):
    """Why a value could not be allocated; str() is the API server's message."""


class NotInRange(AllocationError):
    pass


class AlreadyAllocated(AllocationError):
    pass


class RangeFull(AllocationError):
    pass


def band_offset(range_size: int, minimum: int, step: int, maximum: int, *, too_small: int) -> int:
    """Size of the static band: min(max(minimum, size/step), maximum); 0 for ranges of too_small or less."""
    if range_size <= too_small:
        return 0
    return max(minimum, min(range_size // step, maximum))


class OffsetBitmap:
    """Which offsets in [0, size) are taken, with dynamic picks preferring offsets >= static_band."""

    def __init__(self, size: int, static_band: int, rng: random.Random | None = None):
        self.size = size
        self.static_band = static_band
        self.taken: set[int] = set()
        self.rng = rng or random.Random()

    def allocate(self, offset: int) -> bool:
        if offset in self.taken:
            return False
        self.taken.add(offset)
        return True

    def allocate_next(self) -> int | None:
        for start, end in ((self.static_band, self.size), (0, self.static_band)):
            offset = self._random_free(start, end)
            if offset is not None:
                self.taken.add(offset)
                return offset
        return None

    def _random_free(self, start: int, end: int) -> int | None:
        # Random start then a linear scan, like upstream's randomScanStrategyWithOffset.
        width = end - start
        if width <= 0:
            return None
        first = self.rng.randrange(width)
        for i in range(width):
            offset = start + (first + i) % width
            if offset not in self.taken:
                return offset
        return None

    def release(self, offset: int) -> None:
        self.taken.discard(offset)

    def free(self) -> int:
        return self.size - len(self.taken)


class ClusterIPAllocator:
    """Service IPs from a CIDR; the network address (and IPv4 broadcast) are never handed out."""

    def __init__(self, cidr: str = "10.96.0.0/16", rng: random.Random | None = None):
        self.network = netaddr.IPNetwork(cidr)
        self.cidr = str(self.network.cidr)
        self.base = int(self.network.first) + 1
        usable = self.network.size - (2 if self.network.version == 4 else 1)
        self.size = max(0, min(usable, 1 << 20))
        offset = band_offset(self.network.size, minimum=16, step=16, maximum=256, too_small=16)
        self.bitmap = OffsetBitmap(self.size, min(offset, self.size), rng)

    @property
    def family(self) -> str:
        return f"IPv{self.network.version}"

    def first_ip(self) -> str:
        return str(netaddr.IPAddress(self.base, self.network.version))

    def allocate(self, ip: str) -> None:
        offset = self._offset(ip)
        if not self.bitmap.allocate(offset):
            raise AlreadyAllocated("provided IP is already allocated")

    def allocate_next(self) -> str:
        offset = self.bitmap.allocate_next()
        if offset is None:
            raise RangeFull("range is full")
        return str(netaddr.IPAddress(self.base + offset, self.network.version))

    def release(self, ip: str) -> None:
        try:
            self.bitmap.release(self._offset(ip))
        except NotInRange:
            pass  # releasing a value outside the range is a no-op upstream too

    def has(self, ip: str) -> bool:
        try:
            return self._offset(ip) in self.bitmap.taken
        except NotInRange:
            return False

    def free(self) -> int:
        return self.bitmap.free()

    def _offset(self, ip: str) -> int:
        try:
            address = netaddr.IPAddress(ip)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise NotInRange(f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {self.cidr}") from None
        offset = int(address) - self.base
        if address.version != self.network.version or not 0 <= offset < self.size:
            raise NotInRange(f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {self.cidr}")
        return offset


class NodePortAllocator:
    """Node ports from a range such as 30000-32767 (--service-node-port-range)."""

    def __init__(self, port_range: str = "30000-32767", rng: random.Random | None = None):
        low, _, high = port_range.partition("-")
        self.low, self.high = int(low), int(high or low)
        self.range = f"{self.low}-{self.high}"
        size = self.high - self.low + 1
        # portallocator.calculateRangeOffset (86 for the default range); it keeps a 16-port range's band.
        offset = band_offset(size, minimum=16, step=32, maximum=128, too_small=15)
        self.bitmap = OffsetBitmap(size, offset, rng)

    def allocate(self, port: int) -> None:
        if not isinstance(port, int) or not self.low <= port <= self.high:
            raise NotInRange(f"provided port is not in the valid range. The range of valid ports is {self.range}")
        if not self.bitmap.allocate(port - self.low):
            raise AlreadyAllocated("provided port is already allocated")

    def allocate_next(self) -> int:
        offset = self.bitmap.allocate_next()
        if offset is None:
            raise RangeFull("range is full")
        return self.low + offset

    def release(self, port: int) -> None:
        if isinstance(port, int) and self.low <= port <= self.high:
            self.bitmap.release(port - self.low)

    def has(self, port: int) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high and (port - self.low) in self.bitmap.taken

    def free(self) -> int:
        return self.bitmap.free()

    @property
    def static_band(self) -> tuple[int, int]:
        """The inclusive port range reserved for user-chosen values."""
        return self.low, self.low + self.bitmap.static_band - 1
