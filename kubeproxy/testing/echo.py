"""A tiny TCP+UDP echo server for packet tests: answers each request with "<name> <client ip>:<port>".

    python3 echo.py NAME [PORT]

TCP: one line per connection, answered, then closed. UDP: every datagram is answered. Stdlib only, so
it runs in any pod namespace with the system python.
"""
import socket
import sys
import threading


def serve_tcp(name: str, port: int) -> None:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(128)
    while True:
        conn, (ip, peer_port) = srv.accept()
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(256)
                conn.sendall(f"{name} {ip}:{peer_port}\n".encode())
            except OSError:
                pass


def serve_udp(name: str, port: int) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("0.0.0.0", port))
    while True:
        _, (ip, peer_port) = srv.recvfrom(256)
        srv.sendto(f"{name} {ip}:{peer_port}\n".encode(), (ip, peer_port))


def main() -> None:
    name = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8080
    threading.Thread(target=serve_udp, args=(name, port), daemon=True).start()
    print(f"echo {name} listening on {port}", flush=True)
    serve_tcp(name, port)


if __name__ == "__main__":
    main()
