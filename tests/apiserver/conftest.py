import pytest

from tests.apiserver.harness import start_cluster


@pytest.fixture
def cluster(tmp_path):
    running = start_cluster(tmp_path)
    yield running
    running.server.stop()


@pytest.fixture
def api(cluster):
    """A kubelab client over the Unix socket (no token needed there)."""
    return cluster.client()
