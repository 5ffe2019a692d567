"""Clients for packet tests: sockets made inside a namespace (a socket lives where it was created)."""
from __future__ import annotations

import socket

from netns import namespaces


def _socket(netns: str, kind: int) -> socket.socket:
    with namespaces.entered(netns):
        return socket.socket(socket.AF_INET, kind)


def ask_tcp(netns: str, ip: str, port: int, timeout: float = 3.0) -> tuple[str, str]:
    """One TCP request from `netns`: (name of the echo server that answered, client ip it saw)."""
    with _socket(netns, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect((str(ip), port))
        sock.sendall(b"hi\n")
        reply = sock.makefile().readline().split()
    return reply[0], reply[1].rsplit(":", 1)[0]


def udp_client(netns: str, ip: str, port: int, timeout: float = 3.0) -> socket.socket:
    sock = _socket(netns, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    sock.connect((str(ip), port))
    return sock


def ask_udp(sock: socket.socket) -> str:
    """Send one datagram on a kept socket; the name of the server that answered."""
    sock.send(b"hi\n")
    return sock.recv(256).decode().split()[0]
