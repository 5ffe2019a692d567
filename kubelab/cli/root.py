"""The root command group and what every verb shares: the chosen cluster and how errors are printed."""
import sys

import click

DEFAULT_CLUSTER = "kubelab"


class KubelabError(click.ClickException):
    """An error for the user: printed as one line, exit code 1, no traceback."""

    def show(self, file=None):
        click.echo(f"error: {self.format_message()}", err=True, file=file or sys.stderr)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--cluster",
    envvar="KUBELAB_CLUSTER",
    default=DEFAULT_CLUSTER,
    show_default=True,
    help="Cluster to act on (else $KUBELAB_CLUSTER).",
)
@click.pass_context
def main(ctx: click.Context, cluster: str) -> None:
    """A Kubernetes Service-networking lab in Linux network namespaces."""
    ctx.obj = cluster
