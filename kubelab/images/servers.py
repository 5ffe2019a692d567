"""The built-in images' servers. Run as `python -m kubelab.images.servers NAME`.

Each mimics its tutorial image: the same port, the same response text, similar logs. They use the standard
library's ThreadingHTTPServer (one small process per container: 200 pods must fit in a lab).
"""
from __future__ import annotations

import os
import signal
import socket
import socketserver
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOSTNAME = socket.gethostname()
STARTED = time.monotonic()


def log(line: str) -> None:
    print(line, flush=True)


class Handler(BaseHTTPRequestHandler):
    server_version = "kubelab"
    content_type = "text/plain"

    def body_for(self) -> bytes:
        return b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.body_for()
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET  # noqa: N815

    def log_message(self, fmt: str, *args) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the bind address's FQDN; a pod has no DNS server to answer,
        # so that would hang the start for the resolver's whole timeout.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOSTNAME, self.server_address[1]


DRAIN_SECONDS = float(os.environ.get("KUBELAB_DRAIN_SECONDS", "3"))


def drain_on_sigterm() -> None:
    """On SIGTERM keep serving for a few seconds, then exit: the time kube-proxy needs to take this
    endpoint out of every node's rules, so a graceful delete or a rollout drops no request."""
    def later(*_):
        log(f"SIGTERM: draining for {DRAIN_SECONDS:g}s")
        threading.Timer(DRAIN_SECONDS, lambda: os._exit(0)).start()

    signal.signal(signal.SIGTERM, later)


def serve(port: int, handler: type[Handler]) -> None:
    drain_on_sigterm()
    Server(("0.0.0.0", port), handler).serve_forever()


def kubia() -> None:
    class Kubia(Handler):
        def body_for(self) -> bytes:
            log(f"Received request from ::ffff:{self.client_address[0]}")
            return f"You've hit {HOSTNAME}\n".encode()

    log("Kubia server starting...")
    serve(8080, Kubia)


def bootcamp(version: int) -> None:
    requests = 0
    lock = threading.Lock()

    class Bootcamp(Handler):
        def body_for(self) -> bytes:
            nonlocal requests
            with lock:
                requests += 1
                count = requests
            uptime = int(time.monotonic() - STARTED)
            log(f"Running On: {HOSTNAME} | Total Requests: {count} | App Uptime: {uptime} seconds | "
                f"Log Time: {datetime.now(timezone.utc).isoformat()}")
            return f"Hello Kubernetes bootcamp! | Running on: {HOSTNAME} | v={version}\n".encode()

    log(f"Kubernetes Bootcamp App Started At: {datetime.now(timezone.utc).isoformat()} | Running On:  {HOSTNAME} ")
    serve(8080, Bootcamp)


NGINX_PAGE = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and working.</p>
<p>Served by pod <b>{host}</b>.</p>
</body>
</html>
"""


def nginx() -> None:
    class Nginx(Handler):
        content_type = "text/html"

        def body_for(self) -> bytes:
            body = NGINX_PAGE.format(host=HOSTNAME).encode()
            stamp = datetime.now(timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
            agent = self.headers.get("User-Agent", "-")
            log(f'{self.client_address[0]} - - [{stamp}] "{self.requestline}" 200 {len(body)} "-" "{agent}" "-"')
            return body

    log("/docker-entrypoint.sh: Configuration complete; ready for start up")
    serve(80, Nginx)


def echo(port: int = 8080) -> None:
    """HTTP and UDP on `port`: reply with the client address the pod saw (the way to see SNAT)."""

    def reply(client: tuple[str, int]) -> bytes:
        return f"client={client[0]}:{client[1]} pod={HOSTNAME}\n".encode()

    class Echo(Handler):
        def body_for(self) -> bytes:
            return reply(self.client_address)

    def udp() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("0.0.0.0", port))
        while True:
            _, client = sock.recvfrom(2048)
            sock.sendto(reply(client), client)

    threading.Thread(target=udp, daemon=True).start()
    log(f"echo server on :{port} (tcp/http and udp)")
    serve(port, Echo)


SERVERS = {
    "kubia": kubia,
    "bootcamp-v1": lambda: bootcamp(1),
    "bootcamp-v2": lambda: bootcamp(2),
    "nginx": nginx,
    "echo": lambda: echo(int(os.environ.get("ECHO_PORT", "8080"))),
}


def main(argv: list[str]) -> int:
    if len(argv) < 1 or argv[0] not in SERVERS:
        print(f"usage: servers.py {{{','.join(SERVERS)}}}", file=sys.stderr)
        return 2
    try:
        SERVERS[argv[0]]()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
