"""Packet capture inside a namespace: tcpdump on every interface (`-i any`, Linux cooked v2 headers, which
name the interface and direction of each packet), written packet by packet to a pcap file read back with
scapy. Non-promiscuous (`-p`): a veth sees its own traffic; a bridge in promiscuous mode would see more."""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass

from netns import sidecar
from netns.cluster import Lab
from netns.ledger import Owned

DIRECTIONS = {0: "in", 1: "in", 2: "in", 3: "in", 4: "out"}  # PACKET_HOST/BROADCAST/MULTICAST/OTHERHOST/OUTGOING


@dataclass(frozen=True)
class Seen:
    """One captured packet: where (namespace, interface, direction), when, and the IP packet itself."""

    netns: str
    interface: str
    direction: str  # "in" or "out"
    time: float
    packet: object  # scapy IP layer

    def addresses(self) -> str:
        ip = self.packet
        l4 = ip.payload
        sport, dport = getattr(l4, "sport", None), getattr(l4, "dport", None)
        src = f"{ip.src}:{sport}" if sport is not None else ip.src
        dst = f"{ip.dst}:{dport}" if dport is not None else ip.dst
        return f"{src} -> {dst}"


class Capture:
    """tcpdump -i any in `netns` with BPF filter `bpf`, until stop()."""

    def __init__(self, lab: Lab, netns: str, bpf: str, name: str):
        self.lab, self.netns = lab, netns
        self.path = lab.own_file(os.path.join(lab.run_dir, "captures", f"{name}.pcap"))
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        lab.ledger.record(Owned("dir", os.path.dirname(self.path)))
        # -U: write each packet at once, so the file can be read while tcpdump runs. -Z root: tcpdump
        # would otherwise drop to its own user and lose the right to write into the run directory.
        argv = ["tcpdump", "-i", "any", "-p", "-nn", "-U", "-Z", "root", "-y", "LINUX_SLL2", "-w", self.path, bpf]
        self.process = sidecar.start(lab, netns, argv, f"capture-{name}")
        self.process.wait_until(lambda: "listening on" in self.process.read_log(), 5.0, "tcpdump")
        self._names: dict[int, str] | None = None

    def packets(self) -> list[Seen]:
        from scapy.layers.inet import IP
        from scapy.utils import rdpcap

        try:
            raw = rdpcap(self.path)
        except (FileNotFoundError, EOFError):
            return []
        out = []
        for frame in raw:
            if IP in frame:
                index = getattr(frame, "ifindex", 0)
                out.append(Seen(self.netns, self._interface(index), DIRECTIONS.get(getattr(frame, "pkttype", 0), "in"),
                                float(frame.time), frame[IP]))
        return out

    def frames(self) -> list:
        from scapy.utils import rdpcap
        try:
            return list(rdpcap(self.path))
        except (FileNotFoundError, EOFError):
            return []

    def _interface(self, index: int) -> str:
        if self._names is None:
            self._names = interface_names(self.netns)
        return self._names.get(index, f"if{index}")

    def stop(self) -> None:
        self.process.stop()

    def remove_file(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.lab.ledger.forget(Owned("file", self.path))


def interface_names(netns: str) -> dict[int, str]:
    """ifindex -> name of the interfaces in `netns`."""
    done = subprocess.run(["ip", "-n", netns, "-j", "link", "show"], capture_output=True, text=True)
    if done.returncode != 0:
        return {}
    return {link["ifindex"]: link["ifname"] for link in json.loads(done.stdout or "[]")}
