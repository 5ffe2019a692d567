"""Can this process build a lab here? One line saying what to do when it cannot."""
from __future__ import annotations

import os
import shutil

REQUIRED_TOOLS = {
    "ip": "iproute2",
    "iptables": "iptables",
    "iptables-restore": "iptables",
    "iptables-save": "iptables",
}
SETUP_HINT = "run scripts/setup.sh as root, or apt-get install"


def problem(tools: dict[str, str] = REQUIRED_TOOLS) -> str | None:
    """None when all is well, else a one-line instruction."""
    if os.geteuid() != 0:
        return "kubelab needs root to create network namespaces: run it as root (e.g. with sudo)"
    missing = sorted({pkg for tool, pkg in tools.items() if shutil.which(tool) is None})
    if missing:
        names = ", ".join(t for t in tools if shutil.which(t) is None)
        return f"{names} not found: {SETUP_HINT} {' '.join(missing)}"
    if not os.path.isdir("/proc/sys/net/bridge"):
        return "bridge netfilter is not available (no /proc/sys/net/bridge): load it with `modprobe br_netfilter`"
    return None
