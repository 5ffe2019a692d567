"""Real packets between namespaces from inside the test process: sockets are made in the namespace of
the thread that creates them, so a test can listen in one pod and connect from another."""
from __future__ import annotations

import socket
import subprocess

from netns import namespaces


def listen(netns_name: str, port: int = 8080, proto: int = socket.SOCK_STREAM) -> socket.socket:
    with namespaces.entered(netns_name):
        sock = socket.socket(socket.AF_INET, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    if proto == socket.SOCK_STREAM:
        sock.listen(16)
    sock.settimeout(5)
    return sock


def tcp_round_trip(client_netns: str, server_netns: str, address: str, port: int = 8080) -> str:
    """Connect from `client_netns` to address:port served in `server_netns`; the peer IP the server saw."""
    with listen(server_netns, port) as server:
        with namespaces.entered(client_netns):
            client = socket.socket()
        with client:
            client.settimeout(5)
            client.connect((address, port))
            conn, (peer_ip, _) = server.accept()
            with conn:
                conn.sendall(b"pong")
                assert client.recv(4) == b"pong"
    return peer_ip


def ip_in(netns_name: str, *args: str) -> str:
    return subprocess.run(["ip", "-n", netns_name, *args], check=True, capture_output=True, text=True).stdout


def read_sysctl(netns_name: str, key: str) -> str:
    with namespaces.entered(netns_name):
        with open(f"/proc/sys/{key}") as f:
            return f.read().strip()
