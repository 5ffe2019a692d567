import pytest
from click.testing import CliRunner

from kubelab.cli import main
from tests.apiserver.harness import start_cluster


@pytest.fixture
def cluster(tmp_path):
    running = start_cluster(tmp_path)
    running.add_node()
    yield running
    running.server.stop()


@pytest.fixture
def kubelab(cluster, monkeypatch):
    """Run `kubelab ARGS...` against the test cluster; returns click's Result (stdout, stderr, exit_code)."""
    monkeypatch.setenv("KUBELAB_SERVER", f"unix://{cluster.unix_path}")

    def run(*args: str, stdin: str | None = None):
        return CliRunner().invoke(main, list(args), input=stdin)

    return run
