"""The traced traffic, sent from inside the client's namespace: a real connection (TCP: connect, one HTTP
request, the reply; UDP: one datagram and its answer) or one crafted packet (scapy, `--craft`).

Every packet carries a DSCP value chosen for this trace: the TRACE rules and captures match it. It
survives DNAT and masquerade (which rewrite addresses and ports, so the source port cannot follow the
packet into the next node) and is not set on the replies.
"""
from __future__ import annotations

import errno
import random
import socket
from dataclasses import dataclass

from netns import namespaces

REQUEST = b"GET / HTTP/1.0\r\nHost: kubelab-trace\r\nUser-Agent: kubelab-trace\r\n\r\n"
DATAGRAM = b"kubelab trace\n"


@dataclass(frozen=True)
class Sent:
    sport: int
    reply: str | None  # what the server answered (HTTP body, or the datagram)
    error: str | None  # "refused", "timed out", "unreachable", or another errno text


def _tos(dscp: int) -> int:
    return dscp << 2


def _body(data: bytes) -> str:
    text = data.decode(errors="replace")
    head, sep, body = text.partition("\r\n\r\n")
    return (body if sep else text).strip()


def _error(exc: OSError) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return {errno.ECONNREFUSED: "refused", errno.EHOSTUNREACH: "unreachable", errno.ENETUNREACH: "unreachable",
            errno.ETIMEDOUT: "timed out"}.get(exc.errno, exc.strerror or str(exc))


def connect(netns: str, src: str, host: str, port: int, proto: str, dscp: int, timeout: float) -> Sent:
    """One real exchange from `src` in `netns` to host:port."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with namespaces.entered(netns):
        sock = socket.socket(socket.AF_INET, kind)
    with sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, _tos(dscp))
        sock.settimeout(timeout)
        sock.bind((src, 0))
        sport = sock.getsockname()[1]
        try:
            sock.connect((host, port))
            sock.sendall(REQUEST if proto == "tcp" else DATAGRAM)
            return Sent(sport, _receive(sock, proto), None)
        except OSError as exc:
            return Sent(sport, None, _error(exc))


def _receive(sock: socket.socket, proto: str) -> str:
    if proto == "udp":
        return _body(sock.recv(65535))
    chunks = []
    while True:
        data = sock.recv(65535)
        if not data:
            return _body(b"".join(chunks))
        chunks.append(data)


def craft(netns: str, src: str, host: str, port: int, proto: str, dscp: int) -> Sent:
    """One hand-made packet (a TCP SYN or a UDP datagram) through a raw socket opened in `netns`, so the
    namespace's own OUTPUT rules and routing apply to it as to any packet it sends."""
    from scapy.layers.inet import IP, TCP, UDP

    sport = random.randint(33000, 60000)
    l4 = TCP(sport=sport, dport=port, flags="S", seq=random.getrandbits(32)) if proto == "tcp" else \
        UDP(sport=sport, dport=port) / DATAGRAM
    packet = IP(src=src, dst=host, tos=_tos(dscp), id=random.getrandbits(16)) / l4
    with namespaces.entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    with sock:
        sock.sendto(bytes(packet), (host, 0))
    return Sent(sport, None, None)


def sentinel(netns: str, dscp: int, port: int) -> None:
    """A datagram to the namespace's own loopback with the trace's DSCP: once a monitor or capture shows
    it, everything the trace sent before it has been seen there too."""
    with namespaces.entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock, sink:
        # Someone listens, so no ICMP "port unreachable" (which would carry the DSCP too) comes back.
        sink.bind(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, _tos(dscp))
        sock.sendto(b"kubelab trace sentinel", ("127.0.0.1", port))
