"""`kubelab proxy ...`: kube-proxy's rules, rendered offline."""
import click

from kubelab.cli.root import main


@main.group()
def proxy() -> None:
    """kube-proxy (iptables mode): render and inspect rules."""
