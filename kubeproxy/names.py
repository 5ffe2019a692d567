"""kube-proxy's hashed chain names: prefix + first 16 chars of base32(sha256(...)).

Upstream: portProtoHash / servicePortEndpointChainName in pkg/proxy/iptables/proxier.go. The hashed
string is the ServicePortName ("ns/name" or "ns/name:port") followed by the lower-case protocol, and for
endpoint chains also the endpoint ("ip:port"). Hashing is the costly part of rendering large tables in
Python, so results are cached: a service port or endpoint that stays is never hashed twice.
"""
from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

SVC = "KUBE-SVC-"
SVL = "KUBE-SVL-"
EXT = "KUBE-EXT-"
FW = "KUBE-FW-"
SEP = "KUBE-SEP-"
SERVICE_CHAIN_PREFIXES = (SVC, SVL, EXT, FW, SEP)

_CACHE = 1 << 18


def _hash16(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest())[:16].decode()


@lru_cache(maxsize=_CACHE)
def port_proto_hash(port_name: str, protocol: str) -> str:
    """The hash shared by a service port's SVC, SVL, EXT and FW chains."""
    return _hash16(port_name + protocol)


@lru_cache(maxsize=_CACHE)
def endpoint_chain(port_name: str, protocol: str, endpoint: str) -> str:
    """KUBE-SEP-… for one endpoint ("ip:port") of a service port."""
    return SEP + _hash16(port_name + protocol + endpoint)


def is_service_chain(chain: str) -> bool:
    """Chains kube-proxy owns per service (isServiceChainName upstream): stale ones are deleted."""
    return chain.startswith(SERVICE_CHAIN_PREFIXES)
