"""A self-signed certificate for the TCP listener.

kubectl (client-go's clientcmd) sends a kubeconfig's token only to TLS servers, so the loopback port speaks
HTTPS. The certificate is made once per cluster with the `openssl` command (no Python crypto dependency),
valid for 127.0.0.1, ::1 and localhost, and handed to clients as their CA (kubeconfig
`certificate-authority-data`).
"""

from __future__ import annotations

import os
import ssl
import subprocess
from dataclasses import dataclass

CERT_FILE, KEY_FILE = "apiserver.crt", "apiserver.key"
_VALID_DAYS = 3650


@dataclass(frozen=True)
class Certificate:
    cert_path: str
    key_path: str

    def pem(self) -> bytes:
        with open(self.cert_path, "rb") as handle:
            return handle.read()

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def ensure_certificate(directory: str) -> Certificate:
    """The certificate in directory, made now if missing (the key file is 0600)."""
    cert = Certificate(os.path.join(directory, CERT_FILE), os.path.join(directory, KEY_FILE))
    if os.path.exists(cert.cert_path) and os.path.exists(cert.key_path):
        return cert
    os.makedirs(directory, mode=0o700, exist_ok=True)
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", cert.key_path, "-out", cert.cert_path, "-days", str(_VALID_DAYS),
               "-subj", "/CN=kubelab-apiserver",
               "-addext", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
               "-addext", "basicConstraints=critical,CA:TRUE"]
    old_umask = os.umask(0o077)
    try:
        subprocess.run(command, check=True, capture_output=True)
    except FileNotFoundError:
        raise RuntimeError("the `openssl` command is needed to make the API server's certificate") from None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"openssl could not make a certificate: {exc.stderr.decode().strip()}") from None
    finally:
        os.umask(old_umask)
    return cert
