"""Ownership: kubelab removes exactly what it recorded, also after its processes were SIGKILLed."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from netns import namespaces, processes
from netns.cluster import ForeignNamespace, Lab
from netns.spec import cluster_net
from tests.conftest import unique_cluster_name

pytestmark = pytest.mark.netns
KUBELAB = [sys.executable, "-m", "kubelab"]


def kubelab(run_base, cluster, *args, check=True):
    env = {**os.environ, "KUBELAB_RUN_DIR": run_base, "KUBELAB_CLUSTER": cluster}
    return subprocess.run(KUBELAB + list(args), env=env, capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture
def foreign():
    """Namespaces that are not kubelab's, made the way a user would; removed by this test only."""
    made = []

    def make(name):
        subprocess.run(["ip", "netns", "add", name], check=True)
        made.append(name)
        return name

    yield make
    for name in made:
        subprocess.run(["ip", "netns", "del", name], check=False)


def crashing_run(run_base, cluster):
    """A kubelab process that builds a cluster with pods and a server, then is SIGKILLed mid-flight."""
    script = textwrap.dedent(f"""
        import os, signal
        from netns.cluster import Lab
        from netns.pods import PodNetworks
        from netns.spec import cluster_net
        lab = Lab({cluster!r}, run_base={run_base!r})
        lab.up(cluster_net({cluster!r}))
        pods = PodNetworks(lab).add("node1", ["default.a", "default.b"]) + PodNetworks(lab).add("node2", ["default.c"])
        proc = lab.start_process(pods[0].netns, ["sleep", "600"], "sleeper")
        print(proc.pid, proc.start_time, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr
    pid, start = map(int, result.stdout.split())
    return processes.Process(pid, start)


def test_cleanup_after_sigkill_removes_everything_recorded(run_base, foreign):
    cluster = unique_cluster_name()
    bystander = foreign(f"kl-{cluster}-pod-default.bystander")  # named like ours, never recorded
    sleeper = crashing_run(run_base, cluster)
    assert processes.running(sleeper)
    ours = {n for n in namespaces.names() if n.startswith(f"kl-{cluster}-")} - {bystander}
    assert len(ours) == 7  # lan, ext, 2 nodes, 3 pods

    first = kubelab(run_base, cluster, "cleanup")
    assert "removed 1 process" in first.stdout and "7 namespaces" in first.stdout
    assert not processes.running(sleeper)
    assert not ours & namespaces.names()
    assert namespaces.exists(bystander)
    assert not os.path.exists(os.path.join(run_base, cluster))

    again = kubelab(run_base, cluster, "cleanup")
    assert again.stdout.strip() == f"cluster {cluster}: nothing to clean up"


def test_up_refuses_a_namespace_it_did_not_make(run_base, foreign):
    cluster = unique_cluster_name()
    taken = foreign(f"kl-{cluster}-node2")
    lab = Lab(cluster, run_base=run_base)
    with pytest.raises(ForeignNamespace, match=f"kl-{cluster}-node2 exists and was not created by kubelab"):
        lab.up(cluster_net(cluster))
    lab.down()
    assert namespaces.exists(taken)
    assert not {n for n in namespaces.names() if n.startswith(f"kl-{cluster}-")} - {taken}


def test_a_recorded_name_now_held_by_someone_else_is_left_alone(run_base, foreign):
    cluster = unique_cluster_name()
    lab = Lab(cluster, run_base=run_base)
    lab.up(cluster_net(cluster, nodes=1))
    ext = lab.spec().ext_netns
    subprocess.run(["ip", "netns", "del", ext], check=True)
    foreign(ext)  # same name, another namespace (another inode)
    lab.down()
    assert namespaces.exists(ext)


def test_cli_up_twice_converges_and_down_removes_all(run_base):
    cluster = unique_cluster_name()
    first = kubelab(run_base, cluster, "up")
    assert "node2" in first.stdout
    second = kubelab(run_base, cluster, "up")
    assert second.returncode == 0 and "File exists" not in second.stderr
    status = kubelab(run_base, cluster, "status", "-o", "json").stdout
    assert f'"netns": "kl-{cluster}-node1"' in status and '"podCIDR": "10.244.1.0/24"' in status
    assert kubelab(run_base, cluster, "run-in", "node/node1", "--", "sh", "-c", "exit 7", check=False).returncode == 7
    out = kubelab(run_base, cluster, "run-in", "external", "--", "ip", "-br", "addr", "show", "eth0").stdout
    assert "172.18.0.1/16" in out
    kubelab(run_base, cluster, "down")
    assert not {n for n in namespaces.names() if n.startswith(f"kl-{cluster}-")}
