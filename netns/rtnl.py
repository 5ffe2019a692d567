"""rtnetlink requests, composed with pyroute2's message classes and sent as one batch per namespace.

Why not `IPRoute().link(...)` call by call: in pyroute2 0.9 every call goes through its asyncio core and
costs ~0.65 ms, and its request compiler (`IPBatch`) ~0.5 ms a message — more than the kernel spends on the
work. Encoding the same messages with pyroute2's `ifinfmsg`/`ifaddrmsg`/`rtmsg` classes costs ~0.1 ms, and
writing a whole batch to a netlink socket at once, then reading every ack, needs no round trip per request.
That is what puts bulk pod creation under the `ip -batch` floor (see scripts/bench_pods.py).

A socket belongs to the namespace its creating thread was in: open it inside `namespaces.entered()`.
"""
from __future__ import annotations

import errno
import itertools
import os
import secrets
import socket
import struct

from netaddr import IPAddress, IPNetwork
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_DELROUTE, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import IFF_UP, ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

_NLMSG_ERROR = 2
_HEADER = struct.Struct("=IHHII")
_CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
_CHANGE = NLM_F_REQUEST | NLM_F_ACK
_RT_TABLE_MAIN = 254
_RTPROT_STATIC = 4
_RTN_UNICAST = 1
_sequence = itertools.count(1)


class RtnlError(OSError):
    """One request of a batch failed; `what` says which, in `ip` terms."""

    def __init__(self, err: int, what: str):
        super().__init__(err, f"{what}: {os.strerror(err)}")
        self.what = what


def open_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.bind((0, 0))
    return sock


def _encode(msg, kind: int, flags: int) -> tuple[int, bytes]:
    seq = next(_sequence)
    msg["header"]["type"] = kind
    msg["header"]["flags"] = flags
    msg["header"]["sequence_number"] = seq
    msg.encode()
    return seq, bytes(msg.data)


def _link(index: int = 0, name: str | None = None, up: bool = False, attrs=()) -> ifinfmsg:
    msg = ifinfmsg()
    msg["index"] = index
    if up:
        msg["flags"] = msg["change"] = IFF_UP
    msg["attrs"] = ([("IFLA_IFNAME", name)] if name else []) + list(attrs)
    return msg


def _route(dst: IPNetwork, gateway: IPAddress | None) -> rtmsg:
    msg = rtmsg()
    msg["family"] = socket.AF_INET
    msg["dst_len"] = dst.prefixlen
    msg["table"] = _RT_TABLE_MAIN
    msg["proto"] = _RTPROT_STATIC
    msg["type"] = _RTN_UNICAST
    msg["attrs"] = ([("RTA_DST", str(dst.network))] if dst.prefixlen else []) + (
        [("RTA_GATEWAY", str(gateway))] if gateway else [])
    return msg


class Batch:
    """Requests for one namespace, sent together by `commit`; each carries a label for errors."""

    def __init__(self) -> None:
        self._requests: list[tuple[int, bytes, str, frozenset[int]]] = []

    def __len__(self) -> int:
        return len(self._requests)

    def _add(self, msg, kind: int, flags: int, what: str, tolerated=()) -> "Batch":
        seq, data = _encode(msg, kind, flags)
        self._requests.append((seq, data, what, frozenset(tolerated)))
        return self

    def add_bridge(self, name: str, index: int = 0) -> "Batch":
        msg = _link(index, name, up=True, attrs=[("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge")]})])
        return self._add(msg, RTM_NEWLINK, _CREATE, f"link add {name} type bridge")

    def add_veth(self, name: str, peer: str, peer_netns_fd: int, *, index: int = 0, peer_index: int = 0,
                 master: int = 0, up: bool = False) -> "Batch":
        """A veth pair: `name` here, `peer` created directly in the namespace behind `peer_netns_fd`."""
        peer_msg = {"attrs": [("IFLA_IFNAME", peer), ("IFLA_NET_NS_FD", peer_netns_fd)], "index": peer_index}
        info = {"attrs": [("IFLA_INFO_KIND", "veth"),
                          ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer_msg)]})]}
        attrs = [("IFLA_LINKINFO", info)] + ([("IFLA_MASTER", master)] if master else [])
        return self._add(_link(index, name, up, attrs), RTM_NEWLINK, _CREATE,
                         f"link add {name} type veth peer name {peer}")

    def set_up(self, index: int = 0, name: str | None = None) -> "Batch":
        return self._add(_link(index, name, up=True), RTM_NEWLINK, _CHANGE, f"link set {name or index} up")

    def set_master(self, name: str, master: int, up: bool = True) -> "Batch":
        msg = _link(0, name, up, attrs=[("IFLA_MASTER", master)])
        return self._add(msg, RTM_NEWLINK, _CHANGE, f"link set {name} master {master}")

    def set_hairpin(self, name: str) -> "Batch":
        # The same request as `ip link set NAME type bridge_slave hairpin on`.
        data = {"attrs": [("IFLA_BRPORT_MODE", 1)]}
        info = {"attrs": [("IFLA_INFO_KIND", "bridge_slave"), ("IFLA_INFO_SLAVE_DATA", data)]}
        return self._add(_link(0, name, attrs=[("IFLA_LINKINFO", info)]), RTM_NEWLINK, _CHANGE,
                         f"link set {name} type bridge_slave hairpin on")

    def add_address(self, index: int, cidr: IPNetwork) -> "Batch":
        msg = ifaddrmsg()
        msg["family"] = socket.AF_INET
        msg["prefixlen"] = cidr.prefixlen
        msg["index"] = index
        msg["attrs"] = [("IFA_LOCAL", str(cidr.ip)), ("IFA_ADDRESS", str(cidr.ip))]
        # Re-adding an address that is already there is convergence, not an error.
        return self._add(msg, RTM_NEWADDR, _CREATE, f"addr add {cidr} dev {index}", tolerated={errno.EEXIST})

    def add_route(self, dst: IPNetwork, gateway: IPAddress) -> "Batch":
        flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
        return self._add(_route(dst, gateway), RTM_NEWROUTE, flags, f"route replace {dst} via {gateway}")

    def delete_route(self, dst: IPNetwork) -> "Batch":
        return self._add(_route(dst, None), RTM_DELROUTE, _CHANGE, f"route del {dst}", tolerated={errno.ESRCH})

    def delete_link(self, name: str) -> "Batch":
        return self._add(_link(0, name), RTM_DELLINK, _CHANGE, f"link del {name}", tolerated={errno.ENODEV})

    def delete_links(self, names: list[str]) -> "Batch":
        """Delete many links at once: tag them with a fresh link group, then delete the group.

        Each single delete waits for an RCU grace period (~20 ms; 100 veths took 2.2 s); a group delete
        unregisters them all behind one, as the kernel does when a namespace goes away.
        """
        if len(names) < 2:
            return self.delete_link(names[0]) if names else self
        group = secrets.randbelow(1 << 30) + 1  # 0 is every link's default group
        for name in names:
            self._add(_link(0, name, attrs=[("IFLA_GROUP", group)]), RTM_NEWLINK, _CHANGE,
                      f"link set {name} group {group}", tolerated={errno.ENODEV})
        return self._add(_link(0, attrs=[("IFLA_GROUP", group)]), RTM_DELLINK, _CHANGE,
                         f"link del group {group}", tolerated={errno.ENODEV})

    def commit(self, sock: socket.socket) -> None:
        """Send every request, read every ack; raise RtnlError for the first that failed."""
        if not self._requests:
            return
        sock.sendall(b"".join(data for _, data, _, _ in self._requests))
        pending = {seq: (what, tolerated) for seq, _, what, tolerated in self._requests}
        self._requests = []
        failure: RtnlError | None = None
        while pending:
            for seq, err in _acks(sock.recv(1 << 20)):
                what, tolerated = pending.pop(seq, ("", frozenset()))
                if err and err not in tolerated and failure is None:
                    failure = RtnlError(err, what)
        if failure:
            raise failure


def _acks(buf: bytes):
    offset = 0
    while offset + _HEADER.size <= len(buf):
        length, kind, _, seq, _ = _HEADER.unpack_from(buf, offset)
        if kind == _NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", buf, offset + _HEADER.size)
            yield seq, -code
        offset += (length + 3) & ~3


def link_index(sock: socket.socket, name: str) -> int | None:
    """The ifindex of `name` in the socket's namespace, or None."""
    seq, data = _encode(_link(0, name), RTM_GETLINK, NLM_F_REQUEST)
    sock.sendall(data)
    while True:
        buf = sock.recv(1 << 16)
        length, kind, _, got, _ = _HEADER.unpack_from(buf, 0)
        if got != seq:
            continue
        if kind == _NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", buf, _HEADER.size)
            if -code == errno.ENODEV:
                return None
            raise RtnlError(-code, f"link show {name}")
        msg = ifinfmsg(buf[:length])
        msg.decode()
        return msg["index"]
