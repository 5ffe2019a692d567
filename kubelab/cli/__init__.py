"""The `kubelab` command. Each module below registers its verbs on the root group."""
from kubelab.cli.root import main
from kubelab.cli import demo, inspect, kubectl, lab, proxy  # noqa: F401  (each registers its verbs)

__all__ = ["main"]
