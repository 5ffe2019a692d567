"""`kubelab demo`: the README's main command."""
import sys

import click

from kubelab.cli.lab import require_root
from kubelab.cli.root import main


@main.command()
@click.option("--keep", is_flag=True, help="Leave the cluster up afterwards.")
@click.pass_context
def demo(ctx: click.Context, keep: bool) -> None:
    """Bring up a 2-node lab, show it, prove it carries real packets, take it down."""
    require_root()
    from kubelab import demo as walkthrough

    sys.exit(0 if walkthrough.run(ctx.obj, keep=keep) else 1)
